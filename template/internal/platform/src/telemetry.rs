//! Logs: tracing to stdout, as pretty text or JSON lines.

use tracing_subscriber::EnvFilter;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// Installs the global tracing subscriber. `RUST_LOG`, when set, wins over `level`.
///
/// Fails when `level` is not a valid filter, naming it.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(from_env) if !from_env.is_empty() => EnvFilter::try_new(&from_env)
            .map_err(|err| format!("RUST_LOG={from_env:?} is not a valid filter: {err}"))?,
        _ => EnvFilter::try_new(level)
            .map_err(|err| format!("log.level {level:?} is not a valid filter: {err}"))?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let installed = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|err| format!("cannot install the log subscriber: {err}"))
}
