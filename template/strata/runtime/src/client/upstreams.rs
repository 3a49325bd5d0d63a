//! The upstreams of the `clients:` section, built once at startup.

use std::collections::BTreeMap;
use std::sync::Arc;

use tonic::transport::{Certificate, ClientTlsConfig};

use super::GrpcChannel;
use super::balance::{Balancer, Target};
use super::retry::RetryPolicy;
use super::throttle::Throttle;
use crate::{Metrics, config};

/// One upstream: its settings, instances, breaker and retry budget, shared by
/// every channel to it.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) name: String,
    pub(crate) settings: config::Client,
    pub(crate) balancer: Arc<Balancer>,
    pub(crate) throttle: Throttle,
    pub(crate) retry: RetryPolicy,
    pub(crate) metrics: Metrics,
}

/// Every upstream of `clients:`, by name. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Upstreams {
    by_name: BTreeMap<String, Arc<Upstream>>,
}

/// The code asked for an upstream `clients:` does not configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownUpstream {
    pub name: String,
    pub configured: Vec<String>,
}

impl std::fmt::Display for UnknownUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no upstream {:?} under clients: in the configuration (configured: {})",
            self.name,
            if self.configured.is_empty() {
                "none".to_owned()
            } else {
                self.configured.join(", ")
            }
        )
    }
}

impl std::error::Error for UnknownUpstream {}

impl Upstreams {
    /// Builds every upstream of `clients` (validated by the config), recording
    /// their calls in `metrics`. Connections are made at the first call; a
    /// `dns:///` name is resolved now and then every `resolve_interval`. An
    /// unreadable `ca_file` is an error naming the upstream.
    pub async fn new(clients: &config::Clients, metrics: &Metrics) -> Result<Self, String> {
        super::install_crypto_provider();
        let mut by_name = BTreeMap::new();
        for (name, settings) in clients {
            let upstream = Upstream::new(name, settings, metrics)
                .await
                .map_err(|err| format!("clients.{name}: {err}"))?;
            by_name.insert(name.clone(), Arc::new(upstream));
        }
        Ok(Self { by_name })
    }

    /// A channel to the upstream `name` for a generated tonic client:
    /// `GreeterClient::new(upstreams.grpc("greeter")?)`.
    pub fn grpc(&self, name: &str) -> Result<GrpcChannel, UnknownUpstream> {
        self.by_name
            .get(name)
            .map(|upstream| GrpcChannel::new(upstream.clone()))
            .ok_or_else(|| UnknownUpstream {
                name: name.to_owned(),
                configured: self.by_name.keys().cloned().collect(),
            })
    }
}

impl Upstream {
    async fn new(name: &str, settings: &config::Client, metrics: &Metrics) -> Result<Self, String> {
        let target = Target::parse(&settings.endpoints)?;
        let balancer = Balancer::start(
            target,
            tls(settings)?,
            settings.timeout,
            settings.resolve_interval,
        )
        .await?;
        Ok(Self {
            name: name.to_owned(),
            settings: settings.clone(),
            balancer,
            throttle: Throttle::new(&settings.breaker),
            retry: RetryPolicy::new(&settings.retry)?,
            metrics: metrics.clone(),
        })
    }
}

/// TLS for the upstream's instances: trusting `ca_file` when set (a `dns:///`
/// target then speaks TLS too), the system's roots for `https://` endpoints
/// otherwise; `None` for plaintext.
fn tls(settings: &config::Client) -> Result<Option<ClientTlsConfig>, String> {
    let https = settings.endpoints.iter().any(|e| e.starts_with("https://"));
    if !settings.ca_file.as_os_str().is_empty() {
        let pem = std::fs::read(&settings.ca_file)
            .map_err(|err| format!("ca_file {}: {err}", settings.ca_file.display()))?;
        return Ok(Some(
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)),
        ));
    }
    Ok(https.then(|| ClientTlsConfig::new().with_native_roots()))
}
