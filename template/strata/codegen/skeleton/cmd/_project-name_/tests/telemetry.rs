//! Logs and traces leave the process: a request's log lines carry its request id and
//! trace id, the rolling file receives them, and its server span reaches an OTLP
//! collector with the caller's trace id, the service name and the operation. At
//! `log.level: warn` the request logs nothing and its span is still exported.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
/// The trace of a request made at `log.level: warn`.
const QUIET_TRACE_ID: &str = "5ce03a4688c45eb7b4df03ae1f1f5847";
/// The trace of a gRPC call, whose span is named once a method answers it.
const GRPC_TRACE_ID: &str = "6df14b5799d56fc8c5e014bf2f2f6958";

/// An OTLP trace receiver that keeps what it is sent.
#[derive(Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received
            .lock()
            .expect("lock")
            .push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

async fn start_collector() -> (String, Collector) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (endpoint, collector)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

// Two workers: the in-process collector keeps answering while the exporter
// flushes, even on a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requests_logs_and_span_carry_its_ids() {
    let (endpoint, collector) = start_collector().await;
    let (mut conf, scratch) = support::test_conf();
    let log_dir = scratch.path().join("logs");
    conf.log.file.enabled = true;
    conf.log.file.dir = log_dir.clone();
    conf.trace.endpoint = endpoint;
    conf.trace.sampling_ratio = 0.0; // the caller's sampled flag must win
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

    let received = collector.received.lock().expect("lock");
    let spans = || {
        received
            .iter()
            .flat_map(|request| &request.resource_spans)
            .flat_map(|resource| {
                resource
                    .scope_spans
                    .iter()
                    .flat_map(|scope| &scope.spans)
                    .map(move |span| (resource, span))
            })
    };
    let (resource, span) = spans()
        .find(|(_, span)| hex(&span.trace_id) == TRACE_ID)
        .unwrap_or_else(|| panic!("no span of trace {TRACE_ID} reached the collector"));
    assert_eq!(span.name, "GET /helloworld/{name}");
    let (_, grpc_span) = spans()
        .find(|(_, span)| hex(&span.trace_id) == GRPC_TRACE_ID)
        .unwrap_or_else(|| panic!("no span of trace {GRPC_TRACE_ID} reached the collector"));
    assert_eq!(grpc_span.name, "/helloworld.v1.Greeter/SayHello");
    assert!(
        spans().any(|(_, span)| hex(&span.trace_id) == QUIET_TRACE_ID),
        "the span of the request made at warn did not reach the collector"
    );
    let operation = span
        .attributes
        .iter()
        .find(|attribute| attribute.key == "operation")
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(
        operation,
        Some(AnyValue::StringValue(
            "/helloworld.v1.Greeter/SayHello".to_owned()
        ))
    );
    let service_name = resource
        .resource
        .iter()
        .flat_map(|resource| &resource.attributes)
        .find(|attribute| attribute.key == "service.name")
        .and_then(|attribute| attribute.value.as_ref()?.value.clone());
    assert_eq!(
        service_name,
        Some(AnyValue::StringValue(conf.trace.service_name.clone()))
    );
}
