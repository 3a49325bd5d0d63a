//! A call between services is one trace: the upstream's server span is a child
//! of the caller's client span, itself a child of the caller's server span; and
//! the client logs one access line for it at debug level.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

use serde_json::json;
use support::collector::Collector;
use support::{start_with, test_conf};

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

const TRACE_ID: &str = "7ae25c68aae67fd9d6f125c03a3a7069";
const SAY_HELLO: &str = "/helloworld.v1.Greeter/SayHello";
/// OpenTelemetry span kinds, as OTLP numbers them.
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstreams_span_is_a_child_of_the_client_span_of_the_callers_span() {
    let (endpoint, collector) = Collector::start().await;
    let (mut conf, scratch) = test_conf();
    // Outlives both services (each drops its scratch directory when stopped).
    let logs = tempfile::tempdir().expect("temp dir");
    let log_dir = logs.path().to_owned();
    conf.log.file.enabled = true;
    conf.log.file.dir = log_dir.clone();
    conf.log.level = "info,strata::client=debug".to_owned();
    conf.trace.endpoint = endpoint;
    let telemetry = app::telemetry(&conf).expect("telemetry");
    let upstream = start_with(&conf, tempfile::tempdir().expect("temp dir")).await;
    conf.clients
        .get_mut("greeter")
        .expect("clients.greeter")
        .endpoints = vec![format!("http://{}", upstream.grpc)];
    let caller = start_with(&conf, scratch).await;

    let response = reqwest::Client::new()
        .post(format!("http://{}/v1/notes:welcome", caller.http))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&json!({ "name": "ada" }))
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(response.status(), 200);
    for running in [caller, upstream] {
        running.stop.send(()).expect("running");
        running.stopped.await.expect("joined").expect("clean stop");
    }
    telemetry.shutdown().await;

    let spans: Vec<_> = collector
        .spans()
        .into_iter()
        .map(|(_, span)| span)
        .filter(|span| hex(&span.trace_id) == TRACE_ID)
        .collect();
    let find = |name: &str, kind: i32| {
        spans
            .iter()
            .find(|span| span.name == name && span.kind == kind)
            .unwrap_or_else(|| panic!("no {name} span of kind {kind} in {spans:#?}"))
    };
    let callers = find("POST /v1/notes:welcome", SERVER);
    let client = find(SAY_HELLO, CLIENT);
    let upstreams = find(SAY_HELLO, SERVER);
    assert_eq!(hex(&callers.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(hex(&client.parent_span_id), hex(&callers.span_id));
    assert_eq!(hex(&upstreams.parent_span_id), hex(&client.span_id));

    let logs = support::read_logs(&log_dir);
    let access = logs
        .lines()
        .find(|line| line.contains(r#""message":"client access""#))
        .unwrap_or_else(|| panic!("no client access line in:\n{logs}"));
    for field in [
        r#""upstream":"greeter""#.to_owned(),
        format!(r#""operation":"{SAY_HELLO}""#),
        r#""code":"OK""#.to_owned(),
        format!(r#""trace_id":"{TRACE_ID}""#),
    ] {
        assert!(access.contains(&field), "{field} in {access}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
