//! The OpenTelemetry environment variables work with the shipped config and no
//! edit, as the Kubernetes operator sets them: the binary, started with only
//! `OTEL_*` variables, exports to `OTEL_EXPORTER_OTLP_ENDPOINT` with the headers,
//! service name, resource attributes and sampler they name.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::collector::{Collector, attribute};

/// The service's binary, built by cargo for this test.
const BINARY: &str = env!("CARGO_BIN_EXE_{{project-name}}");

/// The trace of a caller that asks for sampling.
const SAMPLED_TRACE_ID: &str = "7e025c68aae67fd9d6f125c03a3a7a69";

/// The binary, killed when the test ends however it ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary with the shipped config, free loopback ports, the test
/// database and `otel` as its whole environment; returns it with its HTTP address.
fn start(scratch: &Path, database_url: &str, otel: &[(&str, String)]) -> (Service, SocketAddr) {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/config.yaml");
    let mut command = Command::new(BINARY);
    command
        .current_dir(scratch)
        .env_clear()
        .envs(otel.iter().map(|(key, value)| (key, value)))
        .arg("--conf")
        .arg(config)
        .args(["--set", "server.http.addr=127.0.0.1:0"])
        .args(["--set", "server.grpc.addr=127.0.0.1:0"])
        .args(["--set", "log.format=json"])
        .args(["--set", "log.file.enabled=false"])
        .arg("--set")
        .arg(format!("data.database.url={database_url}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command.spawn().expect("the binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let service = Service(child);
    // Lines are read on a thread so that waiting for one is bounded.
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("the binary logs that it listens on HTTP within 30 s");
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if entry["message"] == "listening" && entry["transport"] == "http" {
            let addr = entry["addr"].as_str().expect("addr field");
            return (service, addr.parse().expect("a socket address"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_variables_configure_export_without_a_config_edit() {
    let (endpoint, collector) = Collector::start().await;
    let (conf, scratch) = support::test_conf();
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme".to_owned()),
        ("OTEL_SERVICE_NAME", "orders-from-env".to_owned()),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=e2e".to_owned(),
        ),
        // Only what a caller asks for is recorded.
        ("OTEL_TRACES_SAMPLER", "parentbased_always_off".to_owned()),
        // Export every 100 ms rather than every 5 s.
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ];
    let (_service, http) = start(scratch.path(), &conf.data.database.url, &otel);

    let client = reqwest::Client::new();
    let url = format!("http://{http}/helloworld/otel");
    let unsampled = client.get(&url).send().await.expect("HTTP response");
    assert_eq!(unsampled.status(), 200);
    let sampled = client
        .get(&url)
        .header(
            "traceparent",
            format!("00-{SAMPLED_TRACE_ID}-00f067aa0ba902b7-01"),
        )
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(sampled.status(), 200);

    let mut exported = None;
    for _ in 0..100 {
        exported = collector.span_of(SAMPLED_TRACE_ID);
        if exported.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (resource, _) = exported.expect("the sampled request's span reached the collector in 10 s");
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("orders-from-env")
    );
    assert_eq!(
        attribute(&resource, "deployment.environment").as_deref(),
        Some("e2e")
    );
    let tenants = collector.metadata("x-tenant");
    assert!(
        !tenants.is_empty() && tenants.iter().all(|tenant| tenant == "acme"),
        "OTEL_EXPORTER_OTLP_HEADERS did not reach the collector: {tenants:?}"
    );
    // Spans are exported in the order they end: the unsampled request ended first.
    assert_eq!(
        collector.spans().len(),
        1,
        "parentbased_always_off recorded a request without a sampled caller"
    );
}
