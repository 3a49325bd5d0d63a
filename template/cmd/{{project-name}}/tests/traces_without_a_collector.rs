//! With no collector configured the service runs no OpenTelemetry SDK, yet a
//! request still belongs to its caller's trace: its log lines carry the caller's
//! trace id and a span id of its own, and the call it makes to another service
//! carries `traceparent` naming that span as the parent, so a service downstream
//! that does export spans continues the same trace.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

use std::sync::{Arc, Mutex};

use api::helloworld::v1::greeter_server::{Greeter, GreeterServer};
use api::helloworld::v1::{HelloReply, HelloRequest};
use serde_json::{Value, json};
use support::{start_with, test_conf};

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

const TRACE_ID: &str = "8bf36d79bbf78eeae7a236d14b4b817a";
const CALLERS_SPAN_ID: &str = "00f067aa0ba902b7";

/// An upstream Greeter that keeps the `traceparent` its caller sent.
#[derive(Clone, Default)]
struct Recording(Arc<Mutex<Vec<String>>>);

#[tonic::async_trait]
impl Greeter for Recording {
    async fn say_hello(
        &self,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status> {
        let traceparent = request
            .metadata()
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        self.0.lock().expect("lock").push(traceparent);
        Ok(tonic::Response::new(HelloReply {
            message: format!("Hello {}", request.into_inner().name),
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_continues_its_callers_trace_in_logs_and_calls() {
    let recording = Recording::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = listener.local_addr().expect("address");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(recording.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let (mut conf, scratch) = test_conf();
    let log_dir = scratch.path().join("logs");
    conf.log.file.enabled = true;
    conf.log.file.dir = log_dir.clone();
    conf.trace.endpoint = String::new();
    conf.clients
        .get_mut("greeter")
        .expect("clients.greeter")
        .endpoints = vec![format!("http://{upstream}")];
    let telemetry = app::telemetry(&conf).expect("telemetry");
    let service = start_with(&conf, scratch).await;

    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/notes:welcome", service.http))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLERS_SPAN_ID}-01"))
        .header("tracestate", "vendor=opaque")
        .json(&json!({ "name": "ada" }))
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(response.status(), 200);
    let fresh = reqwest::get(format!("http://{}/healthz", service.http))
        .await
        .expect("HTTP response");
    assert_eq!(fresh.status(), 200);
    service.stop.send(()).expect("running");
    service.stopped.await.expect("joined").expect("clean stop");
    telemetry.shutdown().await;

    let logs = support::read_logs(&log_dir);
    let access: Vec<Value> = logs
        .lines()
        .filter(|line| line.contains(r#""message":"access""#))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let welcome = access
        .iter()
        .find(|line| line["operation"] == "/notes.v1.Notes/CreateWelcomeNote")
        .unwrap_or_else(|| panic!("no access line for the welcome note in:\n{logs}"));
    assert_eq!(welcome["trace_id"], TRACE_ID, "{welcome}");
    let span_id = welcome["span_id"].as_str().expect("a span id");
    assert_eq!(span_id.len(), 16, "{welcome}");
    assert_ne!(span_id, CALLERS_SPAN_ID, "the request's span is its own");

    let sent = recording.0.lock().expect("lock").clone();
    assert_eq!(sent, [format!("00-{TRACE_ID}-{span_id}-01")]);

    let health = access
        .iter()
        .find(|line| line["operation"] == "/healthz")
        .unwrap_or_else(|| panic!("no access line for /healthz in:\n{logs}"));
    let new_trace = health["trace_id"].as_str().expect("a trace id");
    assert_eq!(new_trace.len(), 32, "{health}");
    assert_ne!(
        new_trace, TRACE_ID,
        "a request with no traceparent starts a trace"
    );
}
