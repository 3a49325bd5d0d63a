//! Sample against bare on the same load, taking turns (A/B/A/B, the first of each
//! pair swapping every round) so a noisy neighbour hurts both alike.

use crate::load::{self, Endpoint, Measurement, Transport};
use crate::server::Server;
use crate::settings::Settings;

/// One transport and endpoint, every round of both servers.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub transport: Transport,
    pub endpoint: Endpoint,
    pub sample: Vec<Measurement>,
    pub bare: Vec<Measurement>,
}

impl Comparison {
    pub fn sample_mean(&self) -> Measurement {
        mean(&self.sample)
    }

    pub fn bare_mean(&self) -> Measurement {
        mean(&self.bare)
    }
}

/// Every transport × endpoint, `settings.rounds` pairs each.
pub fn all(settings: &Settings, sample: &Server, bare: &Server) -> anyhow::Result<Vec<Comparison>> {
    let mut comparisons: Vec<Comparison> = [Transport::Http, Transport::Grpc]
        .into_iter()
        .flat_map(|transport| {
            [Endpoint::SayHello, Endpoint::Health].map(|endpoint| Comparison {
                transport,
                endpoint,
                sample: Vec::new(),
                bare: Vec::new(),
            })
        })
        .collect();
    for round in 0..settings.rounds {
        for comparison in &mut comparisons {
            let sample_first = round % 2 == 0;
            for is_sample in [sample_first, !sample_first] {
                let server = if is_sample { sample } else { bare };
                println!(
                    "round {}/{}: {} {} on {}",
                    round + 1,
                    settings.rounds,
                    comparison.transport.label(),
                    comparison.endpoint.label(),
                    server.launch.name
                );
                let measurement = measure(settings, comparison, server)?;
                println!(
                    "  {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                    measurement.requests_per_sec,
                    measurement.p50_ms,
                    measurement.p99_ms,
                    measurement.errors
                );
                if is_sample {
                    comparison.sample.push(measurement);
                } else {
                    comparison.bare.push(measurement);
                }
            }
        }
    }
    Ok(comparisons)
}

fn measure(
    settings: &Settings,
    comparison: &Comparison,
    server: &Server,
) -> anyhow::Result<Measurement> {
    let addr = match comparison.transport {
        Transport::Http => server.launch.http,
        Transport::Grpc => server.launch.grpc,
    };
    // h2load sees HTTP 200 for a failed gRPC call; the sample's own metrics know better.
    let failed_before = failed_grpc_calls(server);
    let mut measurement = load::drive(settings, comparison.transport, comparison.endpoint, addr)?;
    if let (Some(before), Some(after)) = (failed_before, failed_grpc_calls(server)) {
        measurement.errors += after.saturating_sub(before);
    }
    Ok(measurement)
}

/// gRPC calls the server counted with a code other than 200, when it has /metrics.
/// 499 (the client cancelled) does not count: h2load cuts off the calls in flight
/// when its time is up.
fn failed_grpc_calls(server: &Server) -> Option<u64> {
    let metrics = server.get("/metrics").ok()?;
    let failed = metrics
        .lines()
        .filter(|line| line.starts_with("server_requests_total{"))
        .filter(|line| line.contains("transport=\"grpc\""))
        .filter(|line| !line.contains("code=\"200\"") && !line.contains("code=\"499\""))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>();
    Some(failed as u64)
}

fn mean(measurements: &[Measurement]) -> Measurement {
    let count = measurements.len().max(1) as f64;
    let sum = |value: fn(&Measurement) -> f64| measurements.iter().map(value).sum::<f64>() / count;
    Measurement {
        requests_per_sec: sum(|m| m.requests_per_sec),
        p50_ms: sum(|m| m.p50_ms),
        p99_ms: sum(|m| m.p99_ms),
        errors: measurements.iter().map(|m| m.errors).sum(),
    }
}
