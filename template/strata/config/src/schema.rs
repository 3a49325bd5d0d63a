//! The framework's sections of a service's configuration, each with the checks
//! serde cannot express. A service composes them into its own schema.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A value that passed serde but not the rules: `key` (`server.http.timeout`) and
/// what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: String,
    pub problem: String,
}

impl Invalid {
    /// `key` is `problem`, e.g. `Invalid::new("log.level", "must not be empty")`.
    pub fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// `section.key`, or `key` when the section is mounted at the top.
fn path(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_owned()
    } else {
        format!("{section}.{key}")
    }
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
    /// An HTTP/2 connection (either port) without a frame for this long is pinged.
    #[serde(with = "humantime_serde", default = "default_keepalive_interval")]
    pub keepalive_interval: Duration,
    /// A ping unanswered for this long closes the connection.
    #[serde(with = "humantime_serde", default = "default_keepalive_timeout")]
    pub keepalive_timeout: Duration,
    /// A connection (either port, either HTTP version) with no request open for
    /// this long is closed, HTTP/2 with GOAWAY.
    #[serde(with = "humantime_serde", default = "default_idle_timeout")]
    pub idle_timeout: Duration,
    /// Connections each listener holds at once; more are closed as soon as they
    /// are accepted. 0: a quarter of the process's open-file limit.
    #[serde(default)]
    pub max_connections: usize,
    /// Request header lists larger than this (each field's name and value plus 32
    /// bytes, as HTTP/2 counts them) are refused with 431, on every listener.
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: usize,
    /// How often the allocator's freed pages go back to the system, so memory a
    /// burst took is returned once it is over. 0: never.
    #[serde(with = "humantime_serde", default = "default_trim_memory_every")]
    pub trim_memory_every: Duration,
    pub middleware: Middleware,
    /// TLS on the HTTP and gRPC listeners (the admin listener stays plaintext).
    #[serde(default)]
    pub tls: Tls,
}

/// TLS (rustls) on the HTTP and gRPC listeners, on when `cert_file` and
/// `key_file` are set. Both files are re-read when they change on disk.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tls {
    /// The certificate chain, PEM, leaf first.
    #[serde(default)]
    pub cert_file: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub key_file: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to; set, every
    /// client must present one (mTLS).
    #[serde(default)]
    pub client_ca_file: PathBuf,
}

impl Tls {
    /// Whether the listeners speak TLS.
    pub fn enabled(&self) -> bool {
        !self.cert_file.as_os_str().is_empty()
    }

    /// Checks the section mounted at `section` (usually `server.tls`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        let cert = !self.cert_file.as_os_str().is_empty();
        let key = !self.key_file.as_os_str().is_empty();
        if cert != key {
            let missing = if cert { "key_file" } else { "cert_file" };
            return Err(Invalid::new(
                path(section, missing),
                "must be set too: TLS needs both cert_file and key_file",
            ));
        }
        if !cert && !self.client_ca_file.as_os_str().is_empty() {
            return Err(Invalid::new(
                path(section, "client_ca_file"),
                "needs cert_file and key_file: client certificates are checked only over TLS",
            ));
        }
        for (name, file) in [
            ("cert_file", &self.cert_file),
            ("key_file", &self.key_file),
            ("client_ca_file", &self.client_ca_file),
        ] {
            if !file.as_os_str().is_empty() && !file.is_file() {
                return Err(Invalid::new(
                    path(section, name),
                    format!("{} is not a readable file", file.display()),
                ));
            }
        }
        Ok(())
    }
}

fn default_keepalive_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_keepalive_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_idle_timeout() -> Duration {
    Duration::from_secs(120)
}

fn default_preface_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_max_concurrent_streams() -> u32 {
    200
}

fn default_trim_memory_every() -> Duration {
    Duration::from_secs(10)
}

fn default_max_header_bytes() -> usize {
    64 * 1024
}

fn default_true() -> bool {
    true
}

impl Server {
    /// The admin listener's address, when one is configured (validated at load).
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr.parse().ok()
    }

    /// Checks the section mounted at `section` (usually `server`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        let positive = [
            ("http.timeout", self.http.timeout.is_zero()),
            ("grpc.timeout", self.grpc.timeout.is_zero()),
            (
                "http.header_read_timeout",
                self.http.header_read_timeout.is_zero(),
            ),
            ("http.max_body_bytes", self.http.max_body_bytes == 0),
            ("grpc.max_message_bytes", self.grpc.max_message_bytes == 0),
            ("grpc.preface_timeout", self.grpc.preface_timeout.is_zero()),
            (
                "grpc.max_concurrent_streams",
                self.grpc.max_concurrent_streams == 0,
            ),
            ("keepalive_interval", self.keepalive_interval.is_zero()),
            ("keepalive_timeout", self.keepalive_timeout.is_zero()),
            ("idle_timeout", self.idle_timeout.is_zero()),
            ("max_header_bytes", self.max_header_bytes == 0),
        ];
        if let Some((key, _)) = positive.into_iter().find(|(_, is_zero)| *is_zero) {
            return Err(Invalid::new(path(section, key), "must be greater than 0"));
        }
        let admin = &self.admin_addr;
        if !admin.is_empty() && admin.parse::<SocketAddr>().is_err() {
            return Err(Invalid::new(
                path(section, "admin_addr"),
                format!("must be empty or host:port, got {admin:?}"),
            ));
        }
        self.tls.validate(&path(section, "tls"))
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
    /// Serve the API explorer at `/docs` (`strata::docs`). Off when absent:
    /// a deployment shows it only where it is asked for.
    #[serde(default)]
    pub docs: bool,
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
    /// A connection that has not sent the HTTP/2 preface within this is closed.
    #[serde(with = "humantime_serde", default = "default_preface_timeout")]
    pub preface_timeout: Duration,
    /// Calls one connection may have open at once, advertised in SETTINGS.
    #[serde(default = "default_max_concurrent_streams")]
    pub max_concurrent_streams: u32,
    /// Serve gRPC server reflection (v1 and v1alpha), which grpcurl uses.
    #[serde(default = "default_true")]
    pub reflection: bool,
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

impl Log {
    /// Checks the section mounted at `section` (usually `log`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        if self.level.trim().is_empty() {
            return Err(Invalid::new(
                path(section, "level"),
                "must not be empty (try `info`)",
            ));
        }
        Ok(())
    }
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

/// Distributed tracing (OpenTelemetry). A key left empty falls back to the
/// OpenTelemetry environment variable every SDK reads (`OTEL_SERVICE_NAME`,
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER`, ...), so an operator that
/// injects them needs no config edit; a key that is set wins.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// `service.name` of every span (the version comes from the build). Empty:
    /// `OTEL_SERVICE_NAME` (or `service.name` in `OTEL_RESOURCE_ATTRIBUTES`), else
    /// the binary's name.
    pub service_name: String,
    /// OTLP/gRPC collector, e.g. `http://localhost:4317` (Jaeger accepts OTLP).
    /// Empty: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT`;
    /// with neither, spans are not exported (trace ids still appear in logs).
    pub endpoint: String,
    /// Share of new traces recorded, 0.0 to 1.0; callers' sampling decisions win.
    /// Absent: `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG`, else every trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling_ratio: Option<f64>,
}

impl Trace {
    /// Checks the section mounted at `section` (usually `trace`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        if let Some(ratio) = self.sampling_ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return Err(Invalid::new(
                path(section, "sampling_ratio"),
                format!("must be between 0.0 and 1.0, got {ratio}"),
            ));
        }
        if !self.service_name.is_empty() && self.service_name.trim().is_empty() {
            return Err(Invalid::new(
                path(section, "service_name"),
                "must be a name, or empty for OTEL_SERVICE_NAME or the binary's name",
            ));
        }
        let endpoint = &self.endpoint;
        if !endpoint.is_empty()
            && !endpoint.starts_with("http://")
            && !endpoint.starts_with("https://")
        {
            return Err(Invalid::new(
                path(section, "endpoint"),
                format!("must be empty or an http(s):// URL, got {endpoint:?}"),
            ));
        }
        Ok(())
    }
}
