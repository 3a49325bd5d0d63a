//! RED metrics in the Prometheus text format, served at `GET /metrics`.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label value: borrowed when it is known at compile time (HTTP operations,
/// the empty reason of a success), so counting a request allocates nothing.
pub(crate) type Label = Cow<'static, str>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    transport: &'static str,
    operation: Label,
    code: u16,
    reason: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    transport: &'static str,
    operation: Label,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientLabels {
    upstream: String,
    operation: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: String,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    commit: String,
}

/// 1 ms to ~16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The service's metrics. Cheap to clone; every clone records into one registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// A gauge read from elsewhere (a pool's size) each time metrics are scraped.
type GaugeReader = (Gauge, Box<dyn Fn() -> i64 + Send + Sync>);

struct Inner {
    registry: Mutex<Registry>,
    read_on_scrape: Mutex<Vec<GaugeReader>>,
    requests: Family<RequestLabels, Counter>,
    duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<TransportLabels, Gauge>,
    panics: Counter,
    client_requests: Family<ClientLabels, Counter>,
    client_duration: Family<UpstreamLabels, Histogram, fn() -> Histogram>,
}

impl Metrics {
    /// Registers the server metrics and `build_info{version,commit}`.
    pub fn new(version: &str, commit: &str) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "server_requests",
            "Requests handled, by transport, operation, code (HTTP status, gRPC mapped to it) and error reason",
            requests.clone(),
        );
        let duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "server_request_duration_seconds",
            "Time from request to response headers",
            duration.clone(),
        );
        let in_flight = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "server_requests_in_flight",
            "Requests being handled now",
            in_flight.clone(),
        );
        let panics = Counter::default();
        registry.register(
            "server_panics",
            "Handlers that panicked (answered with INTERNAL)",
            panics.clone(),
        );
        let client_requests = Family::<ClientLabels, Counter>::default();
        registry.register(
            "client_requests",
            "Calls to upstream services, by upstream (its name under clients:), operation and gRPC code",
            client_requests.clone(),
        );
        let client_duration = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "client_request_duration_seconds",
            "Time from call to response headers, retries included",
            client_duration.clone(),
        );
        // A gauge at 1 rather than an OpenMetrics `info`, which the classic text
        // format (and promtool) does not know.
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: version.to_owned(),
                commit: commit.to_owned(),
            })
            .set(1);
        registry.register("build_info", "The running build", build);
        Self {
            inner: Arc::new(Inner {
                registry: Mutex::new(registry),
                read_on_scrape: Mutex::new(Vec::new()),
                requests,
                duration,
                in_flight,
                panics,
                client_requests,
                client_duration,
            }),
        }
    }

    /// Registers a gauge whose value `read` returns at each scrape, e.g. the size of
    /// a connection pool.
    pub fn gauge_fn(&self, name: &str, help: &str, read: impl Fn() -> i64 + Send + Sync + 'static) {
        let gauge = Gauge::default();
        if let Ok(mut registry) = self.inner.registry.lock() {
            registry.register(name, help, gauge.clone());
        }
        if let Ok(mut readers) = self.inner.read_on_scrape.lock() {
            readers.push((gauge, Box::new(read)));
        }
    }

    /// Everything, in the Prometheus text format (version 0.0.4) that promtool and
    /// every scraper read.
    pub fn encode(&self) -> String {
        classic_text(&self.encode_openmetrics())
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode_openmetrics(&self) -> String {
        if let Ok(readers) = self.inner.read_on_scrape.lock() {
            for (gauge, read) in readers.iter() {
                gauge.set(read());
            }
        }
        let mut text = String::new();
        if let Ok(registry) = self.inner.registry.lock() {
            // Writing into a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
        text
    }

    /// The in-flight gauge of `transport`, looked up once by the layer that
    /// counts its requests rather than per request; it reads 0 from then on.
    pub(crate) fn in_flight(&self, transport: &'static str) -> InFlightGauge {
        InFlightGauge(
            self.inner
                .in_flight
                .get_or_create_owned(&TransportLabels { transport }),
        )
    }

    pub(crate) fn request_finished(
        &self,
        transport: &'static str,
        operation: &Label,
        code: u16,
        reason: &Label,
        elapsed: Duration,
    ) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                transport,
                operation: operation.clone(),
                code,
                reason: reason.clone(),
            })
            .inc();
        self.inner
            .duration
            .get_or_create(&OperationLabels {
                transport,
                operation: operation.clone(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// A call to `upstream` ended with `code` (its gRPC name) after `elapsed`.
    pub(crate) fn call_finished(
        &self,
        upstream: &str,
        operation: &str,
        code: &'static str,
        elapsed: Duration,
    ) {
        self.inner
            .client_requests
            .get_or_create(&ClientLabels {
                upstream: upstream.to_owned(),
                operation: operation.to_owned(),
                code,
            })
            .inc();
        self.inner
            .client_duration
            .get_or_create(&UpstreamLabels {
                upstream: upstream.to_owned(),
                operation: operation.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn panicked(&self) {
        self.inner.panics.inc();
    }
}

/// OpenMetrics text as the classic Prometheus text format: counters are described
/// under their `_total` sample name and the `# EOF` marker goes.
fn classic_text(openmetrics: &str) -> String {
    let counters: Vec<&str> = openmetrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .collect();
    let mut text = String::with_capacity(openmetrics.len() + 64);
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        let described = ["# HELP ", "# TYPE "].into_iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        text.push_str(described.as_deref().unwrap_or(line));
        text.push('\n');
    }
    text
}

/// Decrements the in-flight gauge when the request ends, however it ends.
/// One transport's `server_requests_in_flight`.
#[derive(Debug, Clone)]
pub(crate) struct InFlightGauge(Gauge);

impl InFlightGauge {
    /// Counts a request in until the returned guard drops.
    pub(crate) fn start(&self) -> InFlight {
        self.0.inc();
        InFlight(self.0.clone())
    }
}

/// A request counted in flight: counted out on drop, whether it finished or
/// was cancelled.
pub(crate) struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_with_their_labels() {
        let metrics = Metrics::new("1.2.3", "abc123");

        metrics.request_finished(
            "grpc",
            &"/pkg.Svc/Do".to_owned().into(),
            400,
            &"INVALID_NAME".into(),
            Duration::from_millis(3),
        );
        let text = metrics.encode();

        assert!(
            text.contains(r#"server_requests_total{transport="grpc",operation="/pkg.Svc/Do",code="400",reason="INVALID_NAME"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"build_info{version="1.2.3",commit="abc123"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE server_requests_total counter"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
        assert!(metrics.encode_openmetrics().ends_with("# EOF\n"));
    }

    #[test]
    fn reads_gauge_functions_at_each_scrape() {
        let metrics = Metrics::new("0", "0");
        let size = Arc::new(std::sync::atomic::AtomicI64::new(3));
        let read = size.clone();
        metrics.gauge_fn("db_pool_connections", "Open connections", move || {
            read.load(std::sync::atomic::Ordering::Relaxed)
        });

        assert!(metrics.encode().contains("db_pool_connections 3"));
        size.store(5, std::sync::atomic::Ordering::Relaxed);
        assert!(metrics.encode().contains("db_pool_connections 5"));
    }

    #[test]
    fn in_flight_goes_back_down() {
        let metrics = Metrics::new("0", "0");
        let gauge = metrics.in_flight("http");
        assert!(
            metrics
                .encode()
                .contains(r#"server_requests_in_flight{transport="http"} 0"#),
            "shown from the start"
        );

        let request = gauge.start();
        assert!(
            metrics
                .encode()
                .contains(r#"server_requests_in_flight{transport="http"} 1"#)
        );
        drop(request);

        assert!(
            metrics
                .encode()
                .contains(r#"server_requests_in_flight{transport="http"} 0"#)
        );
    }
}
