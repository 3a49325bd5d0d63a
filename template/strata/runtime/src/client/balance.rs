//! The instances of one upstream and the choice among them: power of two
//! choices over a peak-EWMA latency load (as Finagle, Linkerd and tower's
//! `p2c` + `PeakEwma` do). An instance whose connection failed is left out
//! (ejected) until a background probe connects to it again, first after
//! `ejection`, then at doubling intervals: live calls are not spent finding out. `dns:///host:port` is resolved
//! again every `resolve_interval`: instances that appear or vanish take effect
//! without a restart.
//!
//! Why not tower's `Balance`: it needs a `Buffer` (a task and a channel hop per
//! call) to be cloned, and drops a failed instance until discovery adds it back,
//! while ejection here is timed. Each instance is a tonic `Channel`, which is
//! already cheap to clone and reconnects by itself.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use tonic::transport::{Channel, ClientTlsConfig};

use super::random;

/// The latency assumed of an instance not yet measured.
const DEFAULT_RTT: Duration = Duration::from_millis(10);
/// How fast the latency estimate forgets a peak. Short, because one slow
/// answer (a connection being set up, a scheduler hiccup) must not herd calls
/// away from an instance for seconds: at 2 s, three equal instances on a busy
/// machine split 300 calls as unevenly as 27/26/47%; at 0.5 s, within 29-40%.
/// A truly slow instance is still measured slow each time it is picked again.
const DECAY: Duration = Duration::from_millis(500);
/// How much costlier than the other of its pair an instance may be and still
/// be picked (see `pick`).
const TIE: f64 = 1.05;
/// The longest wait between two probes of an ejected instance.
const MAX_EJECTION: Duration = Duration::from_secs(30);
/// The shortest time a probe's connection attempt is given.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// One instance of the upstream.
#[derive(Debug)]
pub(crate) struct Instance {
    /// `http://10.0.0.7:9000`: the label of its log lines.
    pub(crate) address: String,
    /// `10.0.0.7:9000`: where probes connect.
    authority: String,
    pub(crate) channel: Channel,
    in_flight: AtomicU32,
    load: Mutex<PeakEwma>,
    health: Mutex<Health>,
}

#[derive(Debug)]
struct PeakEwma {
    rtt_nanos: f64,
    updated: Instant,
}

#[derive(Debug, Default)]
struct Health {
    /// Left out of the balancing until a probe connects again.
    ejected: bool,
}

/// A call in progress on an instance: counted in its load until it finishes.
pub(crate) struct Pick {
    pub(crate) instance: Arc<Instance>,
    started: Instant,
}

impl Pick {
    /// The call is over: `connection_failed` when the instance could not be
    /// reached (it is then ejected), else its latency feeds the load estimate.
    pub(crate) fn finish(self, connection_failed: bool, ejection: Duration) {
        let now = Instant::now();
        let instance = &self.instance;
        let newly_ejected = instance.health.lock().is_ok_and(|mut health| {
            let newly = connection_failed && !health.ejected;
            health.ejected = connection_failed;
            newly
        });
        if newly_ejected {
            tracing::warn!(
                instance = %instance.address,
                "upstream instance ejected: its connection failed; probing it"
            );
            tokio::spawn(probe(Arc::downgrade(instance), ejection));
        }
        if !connection_failed && let Ok(mut load) = instance.load.lock() {
            load.observe(now.saturating_duration_since(self.started), now);
        }
    }
}

/// Connects to an ejected instance after `ejection`, then at doubling
/// intervals (up to 30 s), until it accepts a connection (it is then balanced
/// again) or is no longer an instance (gone from DNS).
async fn probe(instance: Weak<Instance>, ejection: Duration) {
    let mut wait = ejection;
    loop {
        tokio::time::sleep(wait).await;
        let Some(instance) = instance.upgrade() else {
            return;
        };
        let connect = tokio::net::TcpStream::connect(instance.authority.as_str());
        let back = matches!(
            tokio::time::timeout(ejection.max(PROBE_TIMEOUT), connect).await,
            Ok(Ok(_))
        );
        let still_ejected = instance.health.lock().is_ok_and(|h| h.ejected);
        if back || !still_ejected {
            if let Ok(mut health) = instance.health.lock() {
                health.ejected = false;
            }
            tracing::info!(instance = %instance.address, "upstream instance back in the balancing");
            return;
        }
        wait = (wait * 2).min(MAX_EJECTION);
    }
}

impl Drop for Pick {
    fn drop(&mut self) {
        self.instance.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl PeakEwma {
    /// A slower answer than the estimate replaces it at once (the peak); a faster
    /// one pulls it down gradually.
    fn observe(&mut self, rtt: Duration, now: Instant) {
        let rtt = rtt.as_nanos() as f64;
        if rtt > self.rtt_nanos {
            self.rtt_nanos = rtt;
        } else {
            let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
            let keep = (-elapsed / DECAY.as_secs_f64()).exp();
            self.rtt_nanos = self.rtt_nanos * keep + rtt * (1.0 - keep);
        }
        self.updated = now;
    }
}

impl Instance {
    fn new(address: String, authority: String, channel: Channel) -> Self {
        Self {
            address,
            authority,
            channel,
            in_flight: AtomicU32::new(0),
            load: Mutex::new(PeakEwma {
                rtt_nanos: DEFAULT_RTT.as_nanos() as f64,
                updated: Instant::now(),
            }),
            health: Mutex::new(Health::default()),
        }
    }

    /// Expected latency times the calls waiting: what p2c compares. The
    /// estimate decays while the instance is not picked, so an instance once
    /// slow gets picked again and measured anew.
    fn cost(&self, now: Instant) -> f64 {
        let rtt = self.load.lock().map_or(0.0, |load| {
            let idle = now.saturating_duration_since(load.updated).as_secs_f64();
            load.rtt_nanos * (-idle / DECAY.as_secs_f64()).exp()
        });
        rtt * f64::from(self.in_flight.load(Ordering::Relaxed) + 1)
    }

    fn ejected(&self) -> bool {
        self.health.lock().is_ok_and(|health| health.ejected)
    }
}

/// Where the instances come from.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A fixed list of URLs.
    Static(Vec<String>),
    /// `dns:///host:port`: every address `host` resolves to.
    Dns { host: String, port: u16 },
}

impl Target {
    /// The target of `endpoints` (validated by the config: URLs, or one
    /// `dns:///host:port`).
    pub(crate) fn parse(endpoints: &[String]) -> Result<Self, String> {
        match endpoints {
            [one] if one.starts_with("dns:///") => {
                let authority = &one["dns:///".len()..];
                let (host, port) = authority
                    .rsplit_once(':')
                    .ok_or_else(|| format!("{one:?} needs a port"))?;
                let port = port
                    .parse()
                    .map_err(|_| format!("{one:?}: {port:?} is not a port"))?;
                Ok(Self::Dns {
                    host: host.to_owned(),
                    port,
                })
            }
            urls => Ok(Self::Static(urls.to_vec())),
        }
    }
}

/// The instances of one upstream, kept current.
#[derive(Debug)]
pub(crate) struct Balancer {
    instances: RwLock<Arc<Vec<Arc<Instance>>>>,
    target: Target,
    tls: Option<ClientTlsConfig>,
    connect_timeout: Duration,
}

impl Balancer {
    /// The balancer over `target`; `tls` is used for `https://` instances,
    /// and for every instance of a `dns:///` target when set. Resolves a DNS target once now and
    /// then every `resolve_interval` for as long as the balancer lives.
    pub(crate) async fn start(
        target: Target,
        tls: Option<ClientTlsConfig>,
        connect_timeout: Duration,
        resolve_interval: Duration,
    ) -> Result<Arc<Self>, String> {
        let balancer = Arc::new(Self {
            instances: RwLock::new(Arc::new(Vec::new())),
            target,
            tls,
            connect_timeout,
        });
        match &balancer.target {
            Target::Static(urls) => {
                let instances = urls
                    .iter()
                    .map(|url| balancer.instance(url, None).map(Arc::new))
                    .collect::<Result<Vec<_>, _>>()?;
                balancer.replace(instances);
            }
            Target::Dns { .. } => {
                balancer.resolve().await;
                tokio::spawn(keep_resolving(Arc::downgrade(&balancer), resolve_interval));
            }
        }
        Ok(balancer)
    }

    /// Picks the instance for a call: the less loaded of two drawn at random
    /// among those not ejected (among all when every one is, so a call still
    /// finds out whether one is back). `None` when there is no instance at all.
    pub(crate) fn pick(&self) -> Option<Pick> {
        let instances = self.instances.read().ok()?.clone();
        let now = Instant::now();
        let up: Vec<&Arc<Instance>> = instances.iter().filter(|i| !i.ejected()).collect();
        let pool: Vec<&Arc<Instance>> = if up.is_empty() {
            instances.iter().collect()
        } else {
            up
        };
        let instance = match pool.len() {
            0 => return None,
            1 => pool[0],
            n => {
                let a = random::below(n);
                let b = (a + 1 + random::below(n - 1)) % n;
                let (cost_a, cost_b) = (pool[a].cost(now), pool[b].cost(now));
                // Costs within 5% are a tie, kept by the random draw: rounding
                // noise between equal instances must not herd calls onto one.
                if cost_a <= cost_b * TIE {
                    pool[a]
                } else {
                    pool[b]
                }
            }
        };
        instance.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(Pick {
            instance: instance.clone(),
            started: Instant::now(),
        })
    }

    /// The addresses of the current instances.
    pub(crate) fn addresses(&self) -> Vec<String> {
        self.instances
            .read()
            .map(|set| set.iter().map(|i| i.address.clone()).collect())
            .unwrap_or_default()
    }

    fn replace(&self, instances: Vec<Arc<Instance>>) {
        if let Ok(mut set) = self.instances.write() {
            *set = Arc::new(instances);
        }
    }

    /// Resolves a DNS target again: instances still listed keep their
    /// connection and load; new ones are added, vanished ones dropped. A failed
    /// lookup keeps the instances known.
    async fn resolve(&self) {
        let Target::Dns { host, port, .. } = &self.target else {
            return;
        };
        let addresses = match tokio::net::lookup_host((host.as_str(), *port)).await {
            Ok(addresses) => addresses,
            Err(err) => {
                tracing::warn!(%host, %err, "upstream DNS lookup failed; keeping the known instances");
                return;
            }
        };
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut urls: Vec<String> = addresses
            .map(|address| format!("{scheme}://{address}"))
            .collect();
        urls.sort();
        urls.dedup();
        let current = self
            .instances
            .read()
            .map(|set| set.clone())
            .unwrap_or_default();
        let mut next = Vec::with_capacity(urls.len());
        for url in urls {
            match current.iter().find(|instance| instance.address == url) {
                Some(kept) => next.push(kept.clone()),
                None => match self.instance(&url, Some(host)) {
                    Ok(instance) => next.push(Arc::new(instance)),
                    Err(err) => tracing::warn!(%url, %err, "upstream instance skipped"),
                },
            }
        }
        let changed = next.len() != current.len()
            || next
                .iter()
                .zip(current.iter())
                .any(|(a, b)| !Arc::ptr_eq(a, b));
        if changed {
            tracing::info!(%host, instances = next.len(), "upstream instances changed");
        }
        self.replace(next);
    }

    /// A lazily connecting channel to `url`; `server_name` is the name its TLS
    /// certificate must carry when it differs from the URL's host (an address
    /// from DNS).
    fn instance(&self, url: &str, server_name: Option<&str>) -> Result<Instance, String> {
        let uri: http::Uri = url.parse().map_err(|err| format!("{url:?}: {err}"))?;
        let authority = match (uri.host(), uri.port_u16()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) if url.starts_with("https://") => format!("{host}:443"),
            (Some(host), None) => format!("{host}:80"),
            (None, _) => return Err(format!("{url:?} has no host")),
        };
        let mut endpoint = tonic::transport::Endpoint::from(uri)
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true);
        if url.starts_with("https://") {
            let mut tls = self.tls.clone().unwrap_or_default();
            if let Some(name) = server_name {
                tls = tls.domain_name(name);
            }
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|err| format!("{url:?}: {err}"))?;
        }
        Ok(Instance::new(
            url.to_owned(),
            authority,
            endpoint.connect_lazy(),
        ))
    }
}

/// Resolves `balancer`'s DNS target every `interval` until it is dropped.
async fn keep_resolving(balancer: Weak<Balancer>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(balancer) = balancer.upgrade() else {
            return;
        };
        balancer.resolve().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn balancer(urls: &[&str]) -> Arc<Balancer> {
        let target = Target::Static(urls.iter().map(|u| (*u).to_owned()).collect());
        Balancer::start(
            target,
            None,
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
        .await
        .expect("balancer")
    }

    #[tokio::test]
    async fn spreads_calls_over_equal_instances() {
        let balancer = balancer(&[
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3",
        ])
        .await;
        let mut counts = std::collections::HashMap::<String, u32>::new();
        for _ in 0..3000 {
            let pick = balancer.pick().expect("an instance");
            *counts.entry(pick.instance.address.clone()).or_default() += 1;
            pick.finish(false, Duration::from_secs(1));
        }
        assert_eq!(counts.len(), 3);
        for (address, count) in counts {
            assert!((600..=1400).contains(&count), "{address}: {count} of 3000");
        }
    }

    #[tokio::test]
    async fn prefers_the_instance_with_fewer_calls_waiting() {
        let balancer = balancer(&["http://127.0.0.1:1", "http://127.0.0.1:2"]).await;
        let busy = balancer.pick().expect("an instance");
        let busy_address = busy.instance.address.clone();
        // With one call open on `busy`, p2c over two picks the other every time.
        for _ in 0..20 {
            let pick = balancer.pick().expect("an instance");
            assert_ne!(pick.instance.address, busy_address);
        }
        drop(busy);
    }

    #[tokio::test]
    async fn an_instance_whose_connection_failed_is_left_out_until_a_probe_connects() {
        // The first instance accepts connections again (a probe gets through);
        // the second never does.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let back = format!("http://{}", listener.local_addr().expect("addr"));
        let balancer = balancer(&[&back, "http://127.0.0.1:1"]).await;
        let failed = loop {
            let pick = balancer.pick().expect("an instance");
            if pick.instance.address == back {
                break pick;
            }
        };
        failed.finish(true, Duration::from_millis(50));
        for _ in 0..50 {
            let pick = balancer.pick().expect("an instance");
            assert_ne!(pick.instance.address, back, "ejected");
        }
        // Bounded: the probe runs after 50 ms; give it up to 5 s.
        let mut returned = false;
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            returned = (0..50).any(|_| {
                balancer
                    .pick()
                    .is_some_and(|pick| pick.instance.address == back)
            });
            if returned {
                break;
            }
        }
        assert!(returned, "balanced again once a probe connected");
    }

    #[tokio::test]
    async fn with_every_instance_ejected_calls_still_probe_one() {
        let balancer = balancer(&["http://127.0.0.1:1"]).await;
        balancer
            .pick()
            .expect("an instance")
            .finish(true, Duration::from_secs(10));
        assert!(balancer.pick().is_some());
    }

    #[tokio::test]
    async fn resolves_a_dns_target() {
        let target = Target::parse(&["dns:///localhost:9000".to_owned()]).expect("target");
        let balancer = Balancer::start(
            target,
            None,
            Duration::from_secs(1),
            Duration::from_secs(10),
        )
        .await
        .expect("balancer");
        let addresses = balancer.addresses();
        assert!(
            addresses.iter().any(|a| a == "http://127.0.0.1:9000"),
            "{addresses:?}"
        );
    }
}
