//! The `clients` section: the upstream services this one calls, by name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Invalid;

/// Every upstream by the name the code asks for (`clients.greeter`), which is
/// also the `upstream` label of the client metrics and spans.
pub type Clients = BTreeMap<String, Client>;

/// Checks every upstream of the section mounted at `section` (usually `clients`).
pub fn validate_clients(clients: &Clients, section: &str) -> Result<(), Invalid> {
    for (name, client) in clients {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid_name {
            return Err(Invalid::new(
                format!("{section}.{name}"),
                "an upstream name is lowercase letters, digits, '-' and '_'",
            ));
        }
        client.validate(&format!("{section}.{name}"))?;
    }
    Ok(())
}

/// One upstream: where its instances are, how long a call may take, and what
/// protects both sides when it fails.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    /// `http://host:port` or `https://host:port` per instance, or one
    /// `dns:///host:port` whose addresses are re-resolved every
    /// `resolve_interval` (a Kubernetes headless Service).
    pub endpoints: Vec<String>,
    /// Longest a call may take, attempts and backoff included; a call made while
    /// serving a request gets what is left of that request's deadline if less.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How often `dns:///` endpoints are resolved again.
    #[serde(with = "humantime_serde", default = "default_resolve_interval")]
    pub resolve_interval: Duration,
    /// How long an instance whose connection failed is left out of the
    /// balancing; doubled at each consecutive failure, up to 30 s.
    #[serde(with = "humantime_serde", default = "default_ejection")]
    pub ejection: Duration,
    /// PEM CA certificates that `https://` upstreams' certificates must chain to;
    /// empty: the system's roots.
    #[serde(default)]
    pub ca_file: PathBuf,
    #[serde(default)]
    pub retry: Retry,
    #[serde(default)]
    pub breaker: Breaker,
}

/// Retries of calls whose connection failed (any method), or that failed with
/// UNAVAILABLE for the methods marked safe to repeat; never more than `budget`
/// of the calls.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts per call, the first included; 1 turns retries off.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// The wait before the first retry, doubled at each one, with jitter.
    #[serde(with = "humantime_serde", default = "default_backoff")]
    pub backoff: Duration,
    /// Retries may add at most this share of the calls (0.2: 20%) over the
    /// last 10 s, plus `min_per_second`.
    #[serde(default = "default_budget")]
    pub budget: f32,
    /// Retries allowed each second whatever the share, so a quiet client can
    /// still retry.
    #[serde(default = "default_min_per_second")]
    pub min_per_second: u32,
    /// The methods safe to call twice (`/package.Service/Method`, or an HTTP
    /// upstream's `METHOD /path/{template}`; globs), the only ones retried once
    /// their request was sent (an HTTP upstream's idempotent methods are too).
    #[serde(default)]
    pub methods: Vec<String>,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            backoff: default_backoff(),
            budget: default_budget(),
            min_per_second: default_min_per_second(),
            methods: Vec::new(),
        }
    }
}

/// Client-side adaptive throttling (Google SRE book, "Handling Overload"): once
/// calls fail, a share of new ones fails at once, growing with the failures,
/// until the upstream answers again.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Breaker {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Calls are refused locally with probability
    /// `(requests - k * accepts) / (requests + 1)`: 1.5 tolerates one failed
    /// call in three before refusing any; lower is stricter.
    #[serde(default = "default_k")]
    pub k: f64,
    /// The span of history the breaker weighs.
    #[serde(with = "humantime_serde", default = "default_window")]
    pub window: Duration,
    /// No call is refused while the window holds fewer calls than this.
    #[serde(default = "default_min_requests")]
    pub min_requests: u32,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            enabled: true,
            k: default_k(),
            window: default_window(),
            min_requests: default_min_requests(),
        }
    }
}

fn default_resolve_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_ejection() -> Duration {
    Duration::from_secs(1)
}

fn default_max_attempts() -> u32 {
    2
}

fn default_backoff() -> Duration {
    Duration::from_millis(25)
}

fn default_budget() -> f32 {
    0.2
}

fn default_min_per_second() -> u32 {
    1
}

fn default_true() -> bool {
    true
}

fn default_k() -> f64 {
    1.5
}

fn default_window() -> Duration {
    Duration::from_secs(10)
}

fn default_min_requests() -> u32 {
    20
}

impl Client {
    /// Checks the upstream mounted at `section` (`clients.<name>`).
    pub fn validate(&self, section: &str) -> Result<(), Invalid> {
        let key = |name: &str| format!("{section}.{name}");
        if self.endpoints.is_empty() {
            return Err(Invalid::new(
                key("endpoints"),
                "must list at least one endpoint",
            ));
        }
        for endpoint in &self.endpoints {
            let dns = endpoint.starts_with("dns:///");
            let url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
            if !(dns || url) {
                return Err(Invalid::new(
                    key("endpoints"),
                    format!(
                        "{endpoint:?} must be http://host:port, https://host:port or dns:///host:port"
                    ),
                ));
            }
            if dns && self.endpoints.len() > 1 {
                return Err(Invalid::new(
                    key("endpoints"),
                    "a dns:/// endpoint must be the only one: its name resolves to every instance",
                ));
            }
            if dns && !endpoint["dns:///".len()..].contains(':') {
                return Err(Invalid::new(
                    key("endpoints"),
                    format!("{endpoint:?} needs a port: dns:///host:port"),
                ));
            }
        }
        let positive = [
            ("timeout", self.timeout.is_zero()),
            ("resolve_interval", self.resolve_interval.is_zero()),
            ("ejection", self.ejection.is_zero()),
            ("retry.max_attempts", self.retry.max_attempts == 0),
            ("breaker.window", self.breaker.window.is_zero()),
        ];
        if let Some((name, _)) = positive.into_iter().find(|(_, zero)| *zero) {
            return Err(Invalid::new(key(name), "must be greater than 0"));
        }
        if !(0.0..=1.0).contains(&self.retry.budget) {
            return Err(Invalid::new(
                key("retry.budget"),
                format!("must be between 0.0 and 1.0, got {}", self.retry.budget),
            ));
        }
        if self.retry.max_attempts > 5 {
            return Err(Invalid::new(
                key("retry.max_attempts"),
                "must be at most 5: more attempts only pile onto a failing upstream",
            ));
        }
        if self.breaker.k < 1.0 {
            return Err(Invalid::new(
                key("breaker.k"),
                format!(
                    "must be 1.0 or more (1.0 refuses at the first failure), got {}",
                    self.breaker.k
                ),
            ));
        }
        let window = self.breaker.window;
        if !(Duration::from_secs(1)..=Duration::from_secs(60)).contains(&window) {
            return Err(Invalid::new(
                key("breaker.window"),
                "must be between 1s and 60s",
            ));
        }
        if !self.ca_file.as_os_str().is_empty() && !self.ca_file.is_file() {
            return Err(Invalid::new(
                key("ca_file"),
                format!("{} is not a readable file", self.ca_file.display()),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(endpoints: &[&str]) -> Client {
        Client {
            endpoints: endpoints.iter().map(|e| (*e).to_owned()).collect(),
            timeout: Duration::from_secs(1),
            resolve_interval: default_resolve_interval(),
            ejection: default_ejection(),
            ca_file: PathBuf::new(),
            retry: Retry::default(),
            breaker: Breaker::default(),
        }
    }

    #[test]
    fn accepts_urls_and_one_dns_name() {
        assert_eq!(client(&["http://a:1", "https://b:2"]).validate("c"), Ok(()));
        assert_eq!(client(&["dns:///svc.ns:9000"]).validate("c"), Ok(()));
    }

    #[test]
    fn refuses_what_cannot_be_called_naming_the_key() {
        let cases = [
            (client(&[]), "c.endpoints"),
            (client(&["tcp://a:1"]), "c.endpoints"),
            (client(&["dns:///svc"]), "c.endpoints"),
            (client(&["dns:///a:1", "http://b:1"]), "c.endpoints"),
            (
                Client {
                    timeout: Duration::ZERO,
                    ..client(&["http://a:1"])
                },
                "c.timeout",
            ),
            (
                Client {
                    retry: Retry {
                        budget: 2.0,
                        ..Retry::default()
                    },
                    ..client(&["http://a:1"])
                },
                "c.retry.budget",
            ),
        ];
        for (client, key) in cases {
            let err = client.validate("c").expect_err("invalid");
            assert_eq!(err.key, key, "{}", err.problem);
        }
    }

    #[test]
    fn refuses_a_bad_upstream_name() {
        let mut clients = Clients::new();
        clients.insert("Bad Name".to_owned(), client(&["http://a:1"]));
        let err = validate_clients(&clients, "clients").expect_err("invalid");
        assert_eq!(err.key, "clients.Bad Name");
    }
}
