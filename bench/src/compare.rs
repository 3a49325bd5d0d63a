//! The servers on the same load, taking turns (the order rotating every round) so
//! a noisy neighbour hurts each alike: the sample against the bare baseline, and on
//! HTTP health the hand-written peer too.

use crate::builds::Database;
use crate::load::{self, Endpoint, Measurement, Transport};
use crate::server::Server;
use crate::settings::Settings;

/// One row of the report: a transport and endpoint (on a database for SayHello),
/// every round of each server that serves it.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub transport: Transport,
    pub endpoint: Endpoint,
    /// The database SayHello writes to on both sides; `None` for health.
    pub database: Option<Database>,
    pub sample: Vec<Measurement>,
    pub bare: Vec<Measurement>,
    /// Empty where the peer does not take part (it serves HTTP health only).
    pub peer: Vec<Measurement>,
    /// Why the row was not measured (no PostgreSQL), when it was not.
    pub skipped: Option<String>,
    /// The sample logs as its Docker image sets it (JSON lines to stdout, no
    /// file): shown beside the as-generated rows, not held to a target.
    pub image_logs: bool,
}

impl Comparison {
    pub fn new(transport: Transport, endpoint: Endpoint, database: Option<Database>) -> Self {
        Self {
            transport,
            endpoint,
            database,
            sample: Vec::new(),
            bare: Vec::new(),
            peer: Vec::new(),
            skipped: None,
            image_logs: false,
        }
    }

    /// The same row against the sample logging as its Docker image does.
    pub fn with_image_logs(mut self) -> Self {
        self.image_logs = true;
        self
    }

    /// "health (transport only)", "SayHello on SQLite".
    pub fn label(&self) -> String {
        let label = match self.database {
            Some(database) => format!("{} on {}", self.endpoint.label(), database.label()),
            None => self.endpoint.label().to_owned(),
        };
        if self.image_logs {
            format!("{label}, logs as in the image (JSON to stdout, no file)")
        } else {
            label
        }
    }

    pub fn sample_mean(&self) -> Measurement {
        mean(&self.sample)
    }

    pub fn bare_mean(&self) -> Measurement {
        mean(&self.bare)
    }

    /// `None` where the peer did not run.
    pub fn peer_mean(&self) -> Option<Measurement> {
        (!self.peer.is_empty()).then(|| mean(&self.peer))
    }

    /// Sample req/s ÷ bare req/s, `None` when skipped.
    pub fn throughput_ratio(&self) -> Option<f64> {
        self.measured()
            .then(|| self.sample_mean().requests_per_sec / self.bare_mean().requests_per_sec)
    }

    /// Sample p99 ÷ bare p99, `None` when skipped.
    pub fn p99_ratio(&self) -> Option<f64> {
        self.measured()
            .then(|| self.sample_mean().p99_ms / self.bare_mean().p99_ms)
    }

    pub fn measured(&self) -> bool {
        self.skipped.is_none() && !self.sample.is_empty() && !self.bare.is_empty()
    }
}

/// The servers of one set of rows: `peer` takes part where it can (HTTP health).
pub struct Contenders<'a> {
    pub sample: &'a Server,
    pub bare: &'a Server,
    pub peer: Option<&'a Server>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Sample,
    Bare,
    Peer,
}

/// Runs `rows` (all `settings.rounds` rounds each) against `contenders`.
pub fn run(
    settings: &Settings,
    contenders: &Contenders<'_>,
    rows: &mut [Comparison],
) -> anyhow::Result<()> {
    for round in 0..settings.rounds {
        for row in rows.iter_mut() {
            let mut order = vec![Who::Sample, Who::Bare];
            let peer = contenders
                .peer
                .filter(|_| row.transport == Transport::Http && row.endpoint == Endpoint::Health);
            if peer.is_some() {
                order.push(Who::Peer);
            }
            let turns = order.len();
            order.rotate_left(round as usize % turns);
            for who in order {
                let server = match who {
                    Who::Sample => contenders.sample,
                    Who::Bare => contenders.bare,
                    Who::Peer => peer.unwrap_or(contenders.bare),
                };
                println!(
                    "round {}/{}: {} {} on {}",
                    round + 1,
                    settings.rounds,
                    row.transport.label(),
                    row.label(),
                    server.launch.name
                );
                let measurement = measure(settings, row, server)?;
                println!(
                    "  {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
                    measurement.requests_per_sec,
                    measurement.p50_ms,
                    measurement.p99_ms,
                    measurement.errors
                );
                match who {
                    Who::Sample => row.sample.push(measurement),
                    Who::Bare => row.bare.push(measurement),
                    Who::Peer => row.peer.push(measurement),
                }
            }
        }
    }
    Ok(())
}

fn measure(settings: &Settings, row: &Comparison, server: &Server) -> anyhow::Result<Measurement> {
    let addr = match row.transport {
        Transport::Http => server.launch.http,
        Transport::Grpc => server
            .launch
            .grpc
            .ok_or_else(|| anyhow::anyhow!("{} has no gRPC port", server.launch.name))?,
    };
    // h2load sees HTTP 200 for a failed gRPC call; the sample's own metrics know better.
    let failed_before = failed_grpc_calls(server);
    let mut measurement = load::drive(settings, row.transport, row.endpoint, addr)?;
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
