use std::time::Duration;

use serde::{Deserialize, Serialize};
use strata_config::{Auth, Clients, Invalid, Log, Server, Trace};

/// The whole configuration, as in `configs/config.yaml`: the framework's sections
/// (`server`, `auth`, `clients`, `log`, `trace`) and this service's own (`data`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bootstrap {
    pub server: Server,
    #[serde(default)]
    pub auth: Auth,
    /// The services this one calls, by name.
    #[serde(default)]
    pub clients: Clients,
    pub data: Data,
    pub log: Log,
    pub trace: Trace,
}

impl strata_config::Config for Bootstrap {
    fn validate(&self) -> Result<(), Invalid> {
        self.server.validate("server")?;
        self.auth.validate("auth")?;
        strata_config::validate_clients(&self.clients, "clients")?;
        self.data.database.validate("data.database")?;
        self.log.validate("log")?;
        self.trace.validate("trace")
    }

    fn redact(key: &str, value: &str) -> Option<String> {
        if Auth::is_secret("auth", key) && !value.is_empty() {
            return Some(strata_config::REDACTED.to_owned());
        }
        (key == "data.database.url").then(|| redact_url(value))
    }
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
    /// How often a background probe checks the database. While it is known to be
    /// down, requests fail at once (503) until a probe passes; `/readyz` answers
    /// from the last probe. Each probe may take up to `acquire_timeout`.
    #[serde(default = "default_probe_interval", with = "humantime_serde")]
    pub probe_interval: Duration,
}

/// `probe_interval` when a config file predating it leaves it out.
fn default_probe_interval() -> Duration {
    Duration::from_secs(1)
}

impl Database {
    /// The URL with any password replaced by `<redacted>`.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// Checks the section mounted at `section` (`data.database`).
    fn validate(&self, section: &str) -> Result<(), Invalid> {
        let key = |name: &str| format!("{section}.{name}");
        if self.url.trim().is_empty() {
            return Err(Invalid::new(key("url"), "must not be empty"));
        }
        let schemes = [
            "sqlite:",
            "postgres://",
            "postgresql://",
            "mysql://",
            "mariadb://",
        ];
        if !schemes.iter().any(|scheme| self.url.starts_with(scheme)) {
            return Err(Invalid::new(
                key("url"),
                format!(
                    "must start with sqlite:, postgres:// or mysql://, got {:?}",
                    self.redacted_url()
                ),
            ));
        }
        if self.max_connections == 0 {
            return Err(Invalid::new(key("max_connections"), "must be at least 1"));
        }
        if self.min_connections > self.max_connections {
            return Err(Invalid::new(
                key("min_connections"),
                format!(
                    "must not exceed max_connections ({}), got {}",
                    self.max_connections, self.min_connections
                ),
            ));
        }
        if self.connect_attempts == 0 {
            return Err(Invalid::new(key("connect_attempts"), "must be at least 1"));
        }
        if self.probe_interval.is_zero() {
            return Err(Invalid::new(key("probe_interval"), "must be more than 0s"));
        }
        Ok(())
    }
}

/// `scheme://user:<redacted>@host/db` for `scheme://user:secret@host/db`.
fn redact_url(url: &str) -> String {
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
            .field("probe_interval", &self.probe_interval)
            .finish()
    }
}
