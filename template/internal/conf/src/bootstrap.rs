use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration, as in `configs/config.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    pub app: App,
    pub server: Server,
    pub data: Data,
    pub log: Log,
}

/// The process as a whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
}

/// The listeners.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub http: Listen,
    pub grpc: Listen,
}

/// One listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    /// `host:port`; port 0 picks a free port.
    pub addr: SocketAddr,
}

/// Everything the data layer connects to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub database: Database,
}

/// The SQL database.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// sqlx connection URL.
    pub url: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// Apply the embedded migrations at startup.
    pub migrate: bool,
}

// The URL may hold a password: keep it out of Debug output (and so out of logs).
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = self.url.split(':').next().unwrap_or_default();
        f.debug_struct("Database")
            .field("url", &format_args!("{scheme}:<redacted>"))
            .field("max_connections", &self.max_connections)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// A tracing filter such as `info` or `info,sqlx=warn`; `RUST_LOG` wins over it.
    pub level: String,
    pub format: LogFormat,
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log pipeline.
    Json,
}
