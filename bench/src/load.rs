//! The load generators: wrk for HTTP/1.1, h2load for gRPC unary calls (HTTP/2 POSTs
//! of a gRPC-framed protobuf body). Each run is a warm-up, then a fixed duration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use prost::Message;

use crate::settings::Settings;

/// What one measured run gave.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measurement {
    pub requests_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Failed requests as the load generator saw them (non-2xx, socket errors).
    pub errors: u64,
}

/// An endpoint on both transports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /helloworld/bench`, `helloworld.v1.Greeter/SayHello{name:"bench"}`.
    SayHello,
    /// `GET /healthz`, `grpc.health.v1.Health/Check{}`: the transport and the
    /// middleware, no handler work.
    Health,
}

impl Endpoint {
    pub fn label(self) -> &'static str {
        match self {
            Endpoint::SayHello => "SayHello",
            Endpoint::Health => "health (transport only)",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Endpoint::SayHello => "/helloworld/bench",
            Endpoint::Health => "/healthz",
        }
    }

    fn grpc_path(self) -> &'static str {
        match self {
            Endpoint::SayHello => "/helloworld.v1.Greeter/SayHello",
            Endpoint::Health => "/grpc.health.v1.Health/Check",
        }
    }

    /// The gRPC request message, encoded.
    fn grpc_message(self) -> Vec<u8> {
        match self {
            Endpoint::SayHello => strata_bench::pb::HelloRequest {
                name: "bench".into(),
            }
            .encode_to_vec(),
            // HealthCheckRequest { service: "" } encodes to nothing.
            Endpoint::Health => Vec::new(),
        }
    }
}

/// The two transports, named as in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    Grpc,
}

impl Transport {
    pub fn label(self) -> &'static str {
        match self {
            Transport::Http => "HTTP",
            Transport::Grpc => "gRPC",
        }
    }
}

/// Runs the load generator of `transport` against `endpoint` at `addr`.
pub fn drive(
    settings: &Settings,
    transport: Transport,
    endpoint: Endpoint,
    addr: SocketAddr,
) -> anyhow::Result<Measurement> {
    match transport {
        Transport::Http => wrk(settings, &format!("http://{addr}{}", endpoint.http_path())),
        Transport::Grpc => h2load(settings, endpoint, addr),
    }
}

fn wrk(settings: &Settings, url: &str) -> anyhow::Result<Measurement> {
    let connections = settings.http_connections.to_string();
    let run = |seconds: u64| {
        let duration = format!("{seconds}s");
        let args = ["-t2", "-c", &connections, "-d", &duration, "--latency", url];
        output(load_command(settings, "wrk", &args))
    };
    if !settings.warmup.is_zero() {
        run(settings.warmup.as_secs())?;
    }
    parse_wrk(&run(settings.duration.as_secs())?)
}

fn h2load(
    settings: &Settings,
    endpoint: Endpoint,
    addr: SocketAddr,
) -> anyhow::Result<Measurement> {
    let body = grpc_body_file(settings, endpoint)?;
    let log = settings.workdir.join("h2load.tsv");
    // h2load appends to its log file: start each run with an empty one.
    if log.exists() {
        std::fs::remove_file(&log)?;
    }
    let url = format!("http://{addr}{}", endpoint.grpc_path());
    let clients = settings.grpc_connections.to_string();
    let streams = settings.grpc_streams.to_string();
    let duration = settings.duration.as_secs().to_string();
    let warmup = settings.warmup.as_secs().to_string();
    let body_arg = body.display().to_string();
    let log_arg = format!("--log-file={}", log.display());
    let mut args = vec![
        "-t1",
        "-c",
        &clients,
        "-m",
        &streams,
        "-D",
        &duration,
        "-d",
        &body_arg,
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        &log_arg,
    ];
    if !settings.warmup.is_zero() {
        args.extend(["--warm-up-time", &warmup]);
    }
    args.push(&url);
    let report = output(load_command(settings, "h2load", &args))?;
    let mut measurement = parse_h2load(&report)?;
    let (p50, p99) = percentiles_from_log(&log)?;
    measurement.p50_ms = p50;
    measurement.p99_ms = p99;
    Ok(measurement)
}

/// A gRPC frame (uncompressed flag, big-endian length, message) for h2load `-d`.
fn grpc_body_file(settings: &Settings, endpoint: Endpoint) -> anyhow::Result<PathBuf> {
    let message = endpoint.grpc_message();
    let mut frame = vec![0u8];
    frame.extend(u32::try_from(message.len())?.to_be_bytes());
    frame.extend(message);
    let path = settings.workdir.join(format!("{endpoint:?}.grpc"));
    std::fs::write(&path, frame)?;
    Ok(path)
}

/// The load generator, on core 1 when pinning (the servers have core 0).
fn load_command(settings: &Settings, program: &str, args: &[&str]) -> Command {
    let mut command = if settings.pin {
        let mut taskset = Command::new("taskset");
        taskset.args(["-c", "1", program]);
        taskset
    } else {
        Command::new(program)
    };
    command.args(args);
    command
}

fn output(mut command: Command) -> anyhow::Result<String> {
    let output = command
        .output()
        .with_context(|| format!("{command:?} (apt-get install wrk nghttp2-client)"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "{command:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}

/// Reads `Requests/sec:`, the `--latency` percentiles and the error lines.
fn parse_wrk(report: &str) -> anyhow::Result<Measurement> {
    let mut measurement = Measurement::default();
    for line in report.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some("Requests/sec:"), Some(value)) => measurement.requests_per_sec = value.parse()?,
            (Some("50%"), Some(value)) => measurement.p50_ms = wrk_millis(value)?,
            (Some("99%"), Some(value)) => measurement.p99_ms = wrk_millis(value)?,
            _ => {}
        }
        if let Some(count) = line.strip_prefix("Non-2xx or 3xx responses:") {
            measurement.errors += count.trim().parse::<u64>()?;
        }
        if let Some(counts) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            measurement.errors += counts
                .split(',')
                .filter_map(|part| part.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        }
    }
    if measurement.requests_per_sec == 0.0 {
        bail!("no Requests/sec in wrk's report:\n{report}");
    }
    Ok(measurement)
}

/// wrk prints `812.00us`, `1.23ms` or `1.05s`.
fn wrk_millis(value: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(us) = value.strip_suffix("us") {
        (us, 0.001)
    } else if let Some(ms) = value.strip_suffix("ms") {
        (ms, 1.0)
    } else if let Some(s) = value.strip_suffix('s') {
        (s, 1000.0)
    } else {
        bail!("unknown wrk latency {value:?}");
    };
    Ok(number.parse::<f64>()? * scale)
}

/// `finished in 10.00s, 41234.50 req/s, ...` and
/// `requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout`.
fn parse_h2load(report: &str) -> anyhow::Result<Measurement> {
    let mut measurement = Measurement::default();
    for line in report.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("finished in ") {
            measurement.requests_per_sec = rest
                .split(", ")
                .nth(1)
                .and_then(|rate| rate.strip_suffix(" req/s"))
                .context("h2load's `finished in` line")?
                .parse()?;
        }
        if let Some(rest) = line.strip_prefix("requests: ") {
            let count = |what: &str| {
                rest.split(", ")
                    .find_map(|part| part.strip_suffix(what)?.trim().parse::<u64>().ok())
                    .unwrap_or_default()
            };
            measurement.errors = count(" failed") + count(" errored") + count(" timeout");
        }
    }
    if measurement.requests_per_sec == 0.0 {
        bail!("no req/s in h2load's report:\n{report}");
    }
    Ok(measurement)
}

/// p50 and p99 in ms from h2load's `--log-file` (third column: microseconds).
fn percentiles_from_log(log: &Path) -> anyhow::Result<(f64, f64)> {
    let mut micros: Vec<u64> = std::fs::read_to_string(log)?
        .lines()
        .filter_map(|line| line.split('\t').nth(2)?.trim().parse().ok())
        .collect();
    if micros.is_empty() {
        bail!("h2load logged no requests in {}", log.display());
    }
    micros.sort_unstable();
    let at = |quantile: f64| {
        let index = ((micros.len() as f64 * quantile).ceil() as usize).clamp(1, micros.len()) - 1;
        micros[index] as f64 / 1000.0
    };
    Ok((at(0.50), at(0.99)))
}
