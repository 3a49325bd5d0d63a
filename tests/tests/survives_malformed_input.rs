//! Slow tier: a deterministic corpus of over 2,000 malformed requests on both
//! transports. Every HTTP answer is a 4xx with the standard error body
//! `{"code","reason","message","metadata"}`; every gRPC answer has a status that
//! is not INTERNAL or UNKNOWN; the process never crashes; and running the corpus
//! a second time does not grow its memory (RSS) by more than 10%.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use strata_tests::malformed::{GrpcCase, HttpCase, JsonRoute, grpc_cases, http_cases};
use strata_tests::raw_http::{exchange, request};
use strata_tests::{Variant, grpc, start_built};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Every route of the API that reads a JSON body, with a body it accepts. Add
/// each POST, PUT and PATCH route here: the corpus then sends it every malformed
/// variant of that body.
const JSON_BODY_ROUTES: &[JsonRoute] = &[
    JsonRoute {
        method: "POST",
        path: "/v1/notes",
        valid_body: r#"{"title":"groceries","body":"milk"}"#,
    },
    JsonRoute {
        method: "PATCH",
        path: "/v1/notes/no-such-note",
        valid_body: r#"{"title":"renamed","body":"text"}"#,
    },
];

/// `server.http.max_body_bytes` and `server.grpc.max_message_bytes` in
/// `configs/config.yaml`.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
const GRPC_METHOD: &str = "/helloworld.v1.Greeter/SayHello";
const MIN_CASES: usize = 2_000;
const CONCURRENCY: usize = 8;

/// What is wrong with the answer to an HTTP case, if anything.
async fn check_http(addr: SocketAddr, case: HttpCase) -> Option<String> {
    let headers: Vec<(&str, &str)> = case
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let bytes = request(case.method, &case.target, &headers, &case.body);
    let response = match exchange(addr, &bytes, Duration::from_secs(30)).await {
        Ok(response) => response,
        Err(err) => return Some(format!("{}: {err}", case.label)),
    };
    let body: Option<Value> = serde_json::from_slice(&response.body).ok();
    let standard = body
        .as_ref()
        .and_then(Value::as_object)
        .is_some_and(|body| {
            // A validation refusal also lists its violations.
            let violations = body
                .get("violations")
                .map_or(0, |list| usize::from(list.is_array()));
            body.len() == 4 + violations
                && body.get("code").and_then(Value::as_u64) == Some(u64::from(response.status))
                && body
                    .get("reason")
                    .and_then(Value::as_str)
                    .is_some_and(|reason| !reason.is_empty())
                && body.get("message").is_some_and(Value::is_string)
                && body.get("metadata").is_some_and(Value::is_object)
        });
    let is_json = response
        .header("content-type")
        .is_some_and(|kind| kind.starts_with("application/json"));
    ((400..500).contains(&response.status) && standard && is_json).not_then(|| {
        format!(
            "{}: {} {:?} {}",
            case.label,
            response.status,
            response.header("content-type"),
            response.body_text()
        )
    })
}

/// What is wrong with the answer to a gRPC case, if anything.
async fn check_grpc(addr: SocketAddr, case: GrpcCase) -> Option<String> {
    let mut channel = match grpc::connect(addr).await {
        Ok(channel) => channel,
        Err(err) => return Some(format!("{}: connect: {err}", case.label)),
    };
    match grpc::raw_call(&mut channel, &case.path, case.body).await {
        // UNKNOWN (2) and INTERNAL (13) say the server failed, not the request.
        Ok(reply)
            if reply
                .grpc_status
                .is_some_and(|code| code != 2 && code != 13) =>
        {
            None
        }
        Ok(reply) => Some(format!("{}: {reply:?}", case.label)),
        Err(err) => Some(format!("{}: {err}", case.label)),
    }
}

trait NotThen {
    fn not_then(self, failure: impl FnOnce() -> String) -> Option<String>;
}

impl NotThen for bool {
    /// `None` when true, the failure when false.
    fn not_then(self, failure: impl FnOnce() -> String) -> Option<String> {
        (!self).then(failure)
    }
}

/// Runs every case, a few at a time, and returns what went wrong.
async fn run_corpus(http: SocketAddr, grpc_addr: SocketAddr) -> Vec<String> {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = JoinSet::new();
    for case in http_cases(JSON_BODY_ROUTES, MAX_BODY_BYTES) {
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        running.spawn(async move {
            let failure = check_http(http, case).await;
            drop(permit);
            failure
        });
    }
    for case in grpc_cases(GRPC_METHOD, MAX_BODY_BYTES) {
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        running.spawn(async move {
            let failure = check_grpc(grpc_addr, case).await;
            drop(permit);
            failure
        });
    }
    let mut failures = Vec::new();
    while let Some(joined) = running.join_next().await {
        failures.extend(joined.expect("case task"));
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn answers_malformed_input_with_client_errors() {
    let cases = http_cases(JSON_BODY_ROUTES, MAX_BODY_BYTES).len()
        + grpc_cases(GRPC_METHOD, MAX_BODY_BYTES).len();
    assert!(cases >= MIN_CASES, "the corpus has only {cases} cases");
    let (mut service, _scratch) = start_built(Variant::SQLITE, &[]);

    let failures = run_corpus(service.http, service.grpc).await;
    assert!(
        service.is_running(),
        "the service died:\n{}",
        service.output()
    );
    let shown: Vec<&String> = failures.iter().take(40).collect();
    assert!(
        failures.is_empty(),
        "{} of {cases} cases were not answered with a client error; the first ones:\n{shown:#?}",
        failures.len()
    );
    let warm = service.rss_kib();

    let failures = run_corpus(service.http, service.grpc).await;
    assert!(
        service.is_running(),
        "the service died:\n{}",
        service.output()
    );
    assert!(failures.is_empty(), "second pass: {failures:#?}");
    let after = service.rss_kib();
    eprintln!(
        "{cases} cases twice; RSS after the first pass {warm} KiB, after the second {after} KiB"
    );
    assert!(
        after * 10 <= warm * 11,
        "RSS grew from {warm} KiB to {after} KiB over a second pass of the same corpus"
    );

    let reply = grpc::say_hello(service.grpc, "still here").await;
    assert_eq!(
        reply.map_err(|status| status.to_string()),
        Ok("Hello still here".to_owned())
    );
    let (exit, output) = service.terminate();
    assert!(exit.success(), "exit status {exit}:\n{output}");
}
