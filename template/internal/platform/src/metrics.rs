//! RED metrics in the Prometheus text format, served at `GET /metrics`.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    transport: &'static str,
    operation: String,
    code: u16,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    transport: &'static str,
    operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
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

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    in_flight: Family<TransportLabels, Gauge>,
    panics: Counter,
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
        registry.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: version.to_owned(),
                commit: commit.to_owned(),
            }),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                duration,
                in_flight,
                panics,
            }),
        }
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.inner.registry);
        text
    }

    pub(crate) fn request_started(&self, transport: &'static str) -> InFlight {
        let gauge = self
            .inner
            .in_flight
            .get_or_create_owned(&TransportLabels { transport });
        gauge.inc();
        InFlight(gauge)
    }

    pub(crate) fn request_finished(
        &self,
        transport: &'static str,
        operation: &str,
        code: u16,
        reason: &str,
        elapsed: Duration,
    ) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                transport,
                operation: operation.to_owned(),
                code,
                reason: reason.to_owned(),
            })
            .inc();
        self.inner
            .duration
            .get_or_create(&OperationLabels {
                transport,
                operation: operation.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn panicked(&self) {
        self.inner.panics.inc();
    }
}

/// Decrements the in-flight gauge when the request ends, however it ends.
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
            "/pkg.Svc/Do",
            400,
            "INVALID_NAME",
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
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn in_flight_goes_back_down() {
        let metrics = Metrics::new("0", "0");

        let request = metrics.request_started("http");
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
