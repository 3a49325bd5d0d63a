//! The upstreams of the `clients:` section, built once at startup.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tonic::transport::{Certificate, ClientTlsConfig};

use super::balance::{Balancer, Target};
use super::retry::RetryPolicy;
use super::throttle::Throttle;
use super::{GrpcChannel, HttpClient};
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
    /// The connections of HTTP calls (tonic's channels in `balancer` carry
    /// gRPC calls).
    pub(crate) http: reqwest::Client,
    /// A `dns:///` target over TLS: its HTTP calls go by name (see `http_to`).
    named: Option<NamedHttp>,
}

/// HTTP calls to the instances of a `dns:///host:port` target over TLS. Their
/// certificates name `host` (a Kubernetes Service's name), not the addresses it
/// resolves to, so a call is addressed to `https://host:port` by a client of its
/// instance's own that resolves `host` to that instance's address: the name is
/// what TLS sends and checks, and each instance keeps its own connections.
#[derive(Debug)]
struct NamedHttp {
    host: String,
    /// `https://host:port`.
    base: String,
    /// The `ca_file`'s PEM: a `dns:///` target speaks TLS only with one.
    ca: Vec<u8>,
    /// By instance address (`https://10.0.0.7:9000`).
    clients: Mutex<HashMap<String, reqwest::Client>>,
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
        self.upstream(name).map(GrpcChannel::new)
    }

    /// A client of the HTTP upstream `name`:
    /// `upstreams.http("billing")?.get("/v1/invoices/{id}").param("id", id).send().await?`.
    pub fn http(&self, name: &str) -> Result<HttpClient, UnknownUpstream> {
        self.upstream(name).map(HttpClient::new)
    }

    fn upstream(&self, name: &str) -> Result<Arc<Upstream>, UnknownUpstream> {
        self.by_name
            .get(name)
            .cloned()
            .ok_or_else(|| UnknownUpstream {
                name: name.to_owned(),
                configured: self.by_name.keys().cloned().collect(),
            })
    }
}

impl Upstream {
    async fn new(name: &str, settings: &config::Client, metrics: &Metrics) -> Result<Self, String> {
        let target = Target::parse(&settings.endpoints)?;
        let ca = ca(settings)?;
        let named = match (&target, &ca) {
            (Target::Dns { host, port }, Some(ca)) => Some(NamedHttp {
                host: host.clone(),
                base: format!("https://{host}:{port}"),
                ca: ca.clone(),
                clients: Mutex::default(),
            }),
            _ => None,
        };
        let balancer = Balancer::start(
            target,
            tls(settings, ca.as_deref()),
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
            http: http_builder(settings, ca.as_deref())?
                .build()
                .map_err(building)?,
            named,
        })
    }

    /// The client and base URL of an HTTP call to the instance at `address`:
    /// the shared client and the address itself, or for a `dns:///` target
    /// over TLS the instance's own client and the target's name.
    pub(crate) fn http_to<'a>(
        &'a self,
        address: &'a str,
    ) -> Result<(reqwest::Client, Cow<'a, str>), String> {
        let Some(named) = &self.named else {
            return Ok((self.http.clone(), Cow::Borrowed(address)));
        };
        let mut clients = named.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(address) {
            return Ok((client.clone(), Cow::Borrowed(&named.base)));
        }
        // Instances DNS no longer lists take their connections with them.
        let current = self.balancer.addresses();
        clients.retain(|known, _| current.contains(known));
        let socket: SocketAddr = address
            .strip_prefix("https://")
            .and_then(|authority| authority.parse().ok())
            .ok_or_else(|| format!("{address:?} is not https://address:port"))?;
        let client = http_builder(&self.settings, Some(&named.ca))?
            .resolve(&named.host, socket)
            .build()
            .map_err(building)?;
        clients.insert(address.to_owned(), client.clone());
        Ok((client, Cow::Borrowed(&named.base)))
    }
}

fn building(err: reqwest::Error) -> String {
    format!("an HTTP client: {err}")
}

/// The PEM of `ca_file`, if set.
fn ca(settings: &config::Client) -> Result<Option<Vec<u8>>, String> {
    if settings.ca_file.as_os_str().is_empty() {
        return Ok(None);
    }
    std::fs::read(&settings.ca_file)
        .map(Some)
        .map_err(|err| format!("ca_file {}: {err}", settings.ca_file.display()))
}

/// TLS for the upstream's instances: trusting `ca` (`ca_file`) when set (a
/// `dns:///` target then speaks TLS too), the system's roots for `https://`
/// endpoints otherwise; `None` for plaintext.
fn tls(settings: &config::Client, ca: Option<&[u8]>) -> Option<ClientTlsConfig> {
    if let Some(pem) = ca {
        return Some(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)));
    }
    let https = settings.endpoints.iter().any(|e| e.starts_with("https://"));
    https.then(|| ClientTlsConfig::new().with_native_roots())
}

/// A reqwest client of the upstream's HTTP calls: connections set up within
/// `timeout`, trusting only `ca` when set, redirects handed back to the
/// caller (following one would leave the balancing and the instance counted).
fn http_builder(
    settings: &config::Client,
    ca: Option<&[u8]>,
) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = super::http_client_builder()
        .connect_timeout(settings.timeout)
        .tcp_nodelay(true)
        .redirect(reqwest::redirect::Policy::none());
    let https = settings.endpoints.iter().any(|e| e.starts_with("https://"));
    if let Some(pem) = ca {
        let roots = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|err| format!("ca_file {}: {err}", settings.ca_file.display()))?;
        builder = builder.tls_certs_only(roots);
    } else if !https {
        // Plaintext only: the system's roots (some 19M instructions to load)
        // would never be used.
        builder = builder.tls_certs_only([]);
    }
    Ok(builder)
}
