//! What one `make bench` run does, from `BENCH_*` environment variables.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

/// The run's knobs; see docs/bench.md for each variable.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The strata checkout whose template is generated (the bench crate's parent).
    pub repo: PathBuf,
    /// Where the sample is generated and run; wiped at the start.
    pub workdir: PathBuf,
    /// Where the sample's release build goes (shared, so dependencies compile once).
    pub target_dir: PathBuf,
    /// Measured time of each load run.
    pub duration: Duration,
    /// Load before each measured run, not counted.
    pub warmup: Duration,
    /// Each comparison runs sample, bare, sample, bare... this many pairs.
    pub rounds: u32,
    /// Open connections (wrk) / clients (h2load).
    pub http_connections: u32,
    pub grpc_connections: u32,
    /// Concurrent streams per gRPC connection (h2load -m).
    pub grpc_streams: u32,
    /// Servers on core 0, load generators on core 1 (when there are two cores).
    pub pin: bool,
    /// Skips the cold debug build (minutes) when set.
    pub skip_cold_build: bool,
    /// How many starts the start-up time is the median of.
    pub starts: u32,
    /// The PostgreSQL database of the PostgreSQL SayHello rows (the sample and the
    /// fair baseline each get a schema of their own there).
    pub postgres_url: String,
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("the bench crate lives in the strata checkout")?
            .to_path_buf();
        let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
        let target_dir = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(home).join(".cache/strata/target"));
        Ok(Self {
            repo,
            workdir: std::env::var("BENCH_WORKDIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| std::env::temp_dir().join("strata-bench")),
            target_dir,
            duration: Duration::from_secs(number("BENCH_DURATION", 10)?),
            warmup: Duration::from_secs(number("BENCH_WARMUP", 3)?),
            rounds: number("BENCH_ROUNDS", 2)?,
            http_connections: number("BENCH_HTTP_CONNECTIONS", 64)?,
            grpc_connections: number("BENCH_GRPC_CONNECTIONS", 4)?,
            grpc_streams: number("BENCH_GRPC_STREAMS", 16)?,
            pin: flag("BENCH_PIN", true) && cores() >= 2,
            skip_cold_build: flag("BENCH_SKIP_COLD_BUILD", false),
            starts: number("BENCH_STARTS", 5)?,
            postgres_url: std::env::var("BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        })
    }
}

/// The machine's logical cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={value:?} is not a number")),
        Err(_) => Ok(default),
    }
}

fn flag(name: &str, default: bool) -> bool {
    match std::env::var(name) {
        Ok(value) => matches!(value.as_str(), "1" | "true" | "yes"),
        Err(_) => default,
    }
}
