use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The whole configuration, as in `configs/config.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    pub server: Server,
    pub data: Data,
    pub log: Log,
    pub trace: Trace,
}

/// The listeners and what every request passes through.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// How long in-flight requests may take to finish after SIGTERM/SIGINT.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    pub http: Http,
    pub grpc: Grpc,
    /// `host:port` for `/healthz`, `/readyz` and `/metrics` on a listener of their
    /// own; empty serves them on the HTTP port.
    pub admin_addr: String,
    pub middleware: Middleware,
}

impl Server {
    /// The admin listener's address, when one is configured (validated at load).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr.parse().ok()
    }
}

/// The HTTP/JSON listener.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Http {
    /// `host:port`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// A request still running after this is answered 504 and dropped.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// A client that has not sent a request's headers within this, on a new or an
    /// idle keep-alive connection, is disconnected.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// gzip responses for clients that accept it.
    pub compression: bool,
    /// Serve rpcs without a `google.api.http` option at
    /// `POST /<package>.<Service>/<Method>` with a JSON body.
    pub default_routes: bool,
    pub cors: Cors,
}

/// Cross-origin requests from browsers.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cors {
    pub enabled: bool,
    /// Origins allowed to call the API; `*` allows any.
    pub allowed_origins: Vec<String>,
}

/// The gRPC listener.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grpc {
    /// `host:port`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// A call still running after this ends with DEADLINE_EXCEEDED.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Larger request messages are refused with RESOURCE_EXHAUSTED.
    pub max_message_bytes: usize,
}

/// The middleware both transports share; each piece can be switched off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Middleware {
    /// A panicking handler answers INTERNAL instead of dropping the connection.
    pub recovery: bool,
    /// Accept or generate `x-request-id`, echo it, log it.
    pub request_id: bool,
    /// One log line per request.
    pub access_log: bool,
    /// A server span per request, W3C trace context in and out.
    pub tracing: bool,
    /// Request counters and latency histograms at /metrics.
    pub metrics: bool,
    /// Requests handled at once; more are refused with 429. 0 is no limit.
    pub concurrency_limit: usize,
    /// Requests per second; more are refused with 429 (reason RATELIMIT). 0 is no limit.
    pub rate_limit_per_second: u32,
}

/// Everything the data layer connects to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Data {
    pub database: Database,
}

/// The SQL database.
#[derive(Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// sqlx connection URL.
    pub url: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long a query waits for a free connection before failing (503).
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Idle connections beyond `min_connections` are closed after this.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Longest a statement may run (PostgreSQL `statement_timeout`, MySQL
    /// `max_execution_time`, SQLite busy timeout).
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Connection attempts at startup, with backoff, before giving up: the
    /// database may start after the service.
    pub connect_attempts: u32,
    /// Apply the embedded migrations at startup.
    pub migrate: bool,
}

impl Database {
    /// The URL with any password replaced by `<redacted>`.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `scheme://user:<redacted>@host/db` for `scheme://user:secret@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:<redacted>@{host}")
        }
        None => url.to_owned(),
    }
}

// The URL may hold a password: keep it out of Debug output (and so out of logs).
impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("url", &self.redacted_url())
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("connect_attempts", &self.connect_attempts)
            .field("migrate", &self.migrate)
            .finish()
    }
}

/// Logging.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    /// A tracing filter such as `info` or `info,sqlx=warn`; `RUST_LOG` wins over it.
    pub level: String,
    /// How stdout lines look.
    pub format: LogFormat,
    pub file: LogFile,
}

/// How log lines are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    Pretty,
    /// One JSON object per line, for a log pipeline.
    Json,
}

/// A rolling log file (JSON lines), written off the request path.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogFile {
    pub enabled: bool,
    /// Created if missing.
    pub dir: PathBuf,
    /// A new file every `daily` or `hourly`.
    pub rotation: Rotation,
    /// Older files beyond this many are deleted.
    pub max_files: usize,
}

/// When the log file rolls over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    Daily,
    Hourly,
}

/// Distributed tracing (OpenTelemetry).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// `service.name` of every span (the version comes from the build).
    pub service_name: String,
    /// OTLP/gRPC collector, e.g. `http://localhost:4317` (Jaeger accepts OTLP).
    /// Empty: spans are not exported, trace ids still appear in logs.
    pub endpoint: String,
    /// Share of new traces recorded, 0.0 to 1.0; callers' sampling decisions win.
    pub sampling_ratio: f64,
}
