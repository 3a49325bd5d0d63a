//! Logs and traces leave the process: a request's log lines carry its request id and
//! trace id, the rolling file receives them, and its server span reaches an OTLP
//! collector with the caller's trace id, the service name and the operation. At
//! `log.level: warn` the request logs nothing and its span is still exported.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

use support::collector::{Collector, attribute};

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The trace of a request made at `log.level: warn`.
const QUIET_TRACE_ID: &str = "5ce03a4688c45eb7b4df03ae1f1f5847";
/// The trace of a gRPC call, whose span is named once a method answers it.
const GRPC_TRACE_ID: &str = "6df14b5799d56fc8c5e014bf2f2f6958";

// Two workers: the in-process collector keeps answering while the exporter
// flushes, even on a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_logs_and_span_carry_its_ids() {
    let (endpoint, collector) = Collector::start().await;
    let (mut conf, scratch) = support::test_conf();
    let log_dir = scratch.path().join("logs");
    conf.log.file.enabled = true;
    conf.log.file.dir = log_dir.clone();
    conf.trace.endpoint = endpoint;
    conf.trace.sampling_ratio = Some(0.0); // the caller's sampled flag must win
    let telemetry = app::telemetry(&conf).expect("telemetry");
    let service = support::start_with(&conf, scratch).await;

    let client = reqwest::Client::new();
    let traced = |trace_id: &str, request_id: &str| {
        client
            .get(format!("http://{}/helloworld/traced", service.http))
            .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
            .header("x-request-id", request_id)
            .send()
    };
    let response = traced(TRACE_ID, "trace-req-1")
        .await
        .expect("HTTP response");
    assert_eq!(response.status(), 200);
    telemetry.levels().set("warn").expect("a valid level");
    let response = traced(QUIET_TRACE_ID, "trace-req-2")
        .await
        .expect("HTTP response");
    assert_eq!(response.status(), 200);
    let mut call = tonic::Request::new(api::helloworld::v1::HelloRequest {
        name: "traced".into(),
    });
    let traceparent = format!("00-{GRPC_TRACE_ID}-00f067aa0ba902b7-01");
    call.metadata_mut()
        .insert("traceparent", traceparent.parse().expect("metadata value"));
    support::grpc_client(service.grpc)
        .await
        .say_hello(call)
        .await
        .expect("SayHello");
    service.stop.send(()).expect("running");
    service.stopped.await.expect("joined").expect("clean stop");
    telemetry.shutdown().await;

    let logs = support::read_logs(&log_dir);
    let access = logs
        .lines()
        .find(|line| line.contains(r#""message":"access""#) && line.contains("trace-req-1"))
        .unwrap_or_else(|| panic!("no access line for trace-req-1 in:\n{logs}"));
    assert!(
        access.contains(&format!(r#""trace_id":"{TRACE_ID}""#)),
        "{access}"
    );
    assert!(
        access.contains(r#""operation":"/helloworld.v1.Greeter/SayHello""#),
        "{access}"
    );

    assert!(!logs.contains("trace-req-2"), "logged at warn:\n{logs}");

    let (resource, span) = collector
        .span_of(TRACE_ID)
        .unwrap_or_else(|| panic!("no span of trace {TRACE_ID} reached the collector"));
    assert_eq!(span.name, "GET /helloworld/{name}");
    let (_, grpc_span) = collector
        .span_of(GRPC_TRACE_ID)
        .unwrap_or_else(|| panic!("no span of trace {GRPC_TRACE_ID} reached the collector"));
    assert_eq!(grpc_span.name, "/helloworld.v1.Greeter/SayHello");
    assert!(
        collector.span_of(QUIET_TRACE_ID).is_some(),
        "the span of the request made at warn did not reach the collector"
    );
    assert_eq!(
        attribute(&span.attributes, "operation").as_deref(),
        Some("/helloworld.v1.Greeter/SayHello")
    );
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("{{project-name}}"),
        "an empty trace.service_name names spans after the binary"
    );
}
