//! Calls between services, end to end: the sample's notes call the Greeter
//! (`POST /v1/notes:welcome`) through `clients.greeter`, here pointed at three
//! upstream instances of this service started on free ports, or at a stand-in
//! Greeter that fails on purpose and records what it receives.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::helloworld::v1::greeter_server::{Greeter, GreeterServer};
use api::helloworld::v1::{HelloReply, HelloRequest};
use api::notes::v1::CreateWelcomeNoteRequest;
use api::notes::v1::notes_client::NotesClient;
use serde_json::{Value, json};
use support::{Running, http_json, start_with, test_conf};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

const SAY_HELLO: &str = "/helloworld.v1.Greeter/SayHello";

/// The service with `clients.greeter` pointed at `upstreams` (gRPC addresses),
/// the breaker judging after 10 calls, and retries as `max_attempts` says.
async fn caller(upstreams: &[SocketAddr], max_attempts: u32) -> Running {
    let (mut conf, scratch) = test_conf();
    let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
    greeter.endpoints = upstreams
        .iter()
        .map(|addr| format!("http://{addr}"))
        .collect();
    greeter.ejection = Duration::from_millis(200);
    greeter.retry.max_attempts = max_attempts;
    greeter.retry.backoff = Duration::from_millis(5);
    // The shipped window: it must hold `min_requests` failed calls even on a
    // loaded CI machine, where a debug build's call to a dead instance can take
    // most of a second (a 2 s window never filled there, and never opened).
    greeter.breaker.window = Duration::from_secs(10);
    greeter.breaker.min_requests = 10;
    start_with(&conf, scratch).await
}

/// An instance of this service, its gRPC port `grpc` (0: any free one).
async fn upstream(grpc: u16) -> Running {
    let (mut conf, scratch) = test_conf();
    conf.server.grpc.addr = SocketAddr::from(([127, 0, 0, 1], grpc));
    start_with(&conf, scratch).await
}

async fn stop(instance: Running) {
    let _ = instance.stop.send(());
    let _ = instance.stopped.await;
}

/// `POST /v1/notes:welcome` on `caller`: the status and the JSON reply.
async fn welcome(caller: &Running, name: &str) -> (u16, Value) {
    http_json(
        caller.http,
        "POST",
        "/v1/notes:welcome",
        json!({ "name": name }),
    )
    .await
}

async fn metrics(instance: &Running) -> String {
    reqwest::get(format!("http://{}/metrics", instance.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The SayHello calls `instance` has served over gRPC, whatever their code.
async fn greetings_served(instance: &Running) -> u64 {
    let prefix = [
        r#"server_requests_total{transport="grpc",operation=""#,
        SAY_HELLO,
        "\"",
    ]
    .concat();
    metrics(instance)
        .await
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `calls` welcome calls (a multiple of six), six at a time so the balancer
/// sees calls in flight, as in production; each must succeed.
async fn welcome_in_batches(caller: &Running, calls: u64) {
    for batch in 0..calls / 6 {
        let calls: Vec<_> = (0..6)
            .map(|i| {
                let http = caller.http;
                let name = format!("n{batch}-{i}");
                tokio::spawn(async move {
                    http_json(http, "POST", "/v1/notes:welcome", json!({ "name": name })).await
                })
            })
            .collect();
        for call in calls {
            let (status, body) = call.await.expect("call");
            assert_eq!(status, 200, "{body}");
        }
    }
}

async fn served_by_each(upstreams: &[Running]) -> Vec<u64> {
    let mut served = Vec::new();
    for upstream in upstreams {
        served.push(greetings_served(upstream).await);
    }
    served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_spread_over_three_instances_and_a_killed_one_is_ejected() {
    let mut upstreams = vec![upstream(0).await, upstream(0).await, upstream(0).await];
    let addrs: Vec<SocketAddr> = upstreams.iter().map(|u| u.grpc).collect();
    // No retries: calls that keep succeeding after a kill prove the ejection.
    let caller = caller(&addrs, 1).await;

    let (status, note) = welcome(&caller, "ada").await;
    assert_eq!(status, 200, "{note}");
    assert_eq!(
        (note["title"].as_str(), note["body"].as_str()),
        (Some("Welcome, ada"), Some("Hello ada"))
    );

    // Warm up: every instance connected and its latency measured, so the
    // split below is the balancer's steady state, not who answered first.
    const WARM_UP: u64 = 60;
    welcome_in_batches(&caller, WARM_UP).await;

    const CALLS: u64 = 300;
    let before = served_by_each(&upstreams).await;
    welcome_in_batches(&caller, CALLS).await;
    let after = served_by_each(&upstreams).await;
    let shares: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(shares.iter().sum::<u64>(), CALLS, "{shares:?}");
    for share in &shares {
        assert!(
            (CALLS * 20 / 100..=CALLS * 45 / 100).contains(share),
            "each instance serves 20-45% of the calls: {shares:?}"
        );
    }

    let caller_metrics = metrics(&caller).await;
    let labels = [r#"{upstream="greeter",operation=""#, SAY_HELLO].concat();
    let calls_made = 1 + WARM_UP + CALLS;
    for line in [
        format!(r#"client_requests_total{labels}",code="OK"}} {calls_made}"#),
        format!(r#"client_request_duration_seconds_count{labels}"}} {calls_made}"#),
    ] {
        assert!(
            caller_metrics.contains(&line),
            "{line} in:\n{caller_metrics}"
        );
    }

    stop(upstreams.remove(0)).await;
    let mut failures = 0;
    for i in 0..60 {
        let (status, body) = welcome(&caller, &format!("k{i}")).await;
        if status != 200 {
            assert_eq!(status, 503, "{body}");
            failures += 1;
        }
    }
    assert!(
        failures <= 3,
        "{failures} of 60 calls failed after one instance was killed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_fails_fast_while_every_instance_is_down_and_recovers_alone() {
    let upstreams = vec![upstream(0).await, upstream(0).await, upstream(0).await];
    let addrs: Vec<SocketAddr> = upstreams.iter().map(|u| u.grpc).collect();
    let caller = caller(&addrs, 1).await;
    let (status, body) = welcome(&caller, "ada").await;
    assert_eq!(status, 200, "{body}");

    for instance in upstreams {
        stop(instance).await;
    }
    // Refused connections first; then the breaker refuses calls itself.
    let mut refusal = None;
    for i in 0..200 {
        let (status, body) = welcome(&caller, &format!("d{i}")).await;
        assert_eq!(status, 503, "{body}");
        if body["reason"] == "UPSTREAM_CIRCUIT_OPEN" {
            refusal = Some(body);
            break;
        }
    }
    let refusal = refusal.expect("the breaker opened within 200 calls");
    let message = refusal["message"].as_str().unwrap_or_default();
    assert!(message.contains("circuit breaker is open"), "{refusal}");
    assert_eq!(refusal["metadata"]["upstream"], "greeter", "{refusal}");

    let mut back = Vec::new();
    for addr in &addrs {
        back.push(upstream(addr.port()).await);
    }
    // Bounded: 300 calls 50 ms apart.
    let mut recovered = false;
    for i in 0..300 {
        let (status, _) = welcome(&caller, &format!("r{i}")).await;
        if status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recovered, "calls succeed again once the instances are back");
    for instance in back {
        stop(instance).await;
    }
}

/// A Greeter that answers every call with `status` (or a greeting when
/// `None`), counting calls and keeping the `grpc-timeout` each came with.
#[derive(Clone, Default)]
struct StandIn {
    status: Option<tonic::Code>,
    calls: Arc<Mutex<Vec<Option<String>>>>,
}

#[tonic::async_trait]
impl Greeter for StandIn {
    async fn say_hello(
        &self,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status> {
        let timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        self.calls.lock().expect("lock").push(timeout);
        match self.status {
            Some(code) => Err(tonic::Status::new(code, "stand-in failure")),
            None => Ok(tonic::Response::new(HelloReply {
                message: format!("Hello {}", request.into_inner().name),
            })),
        }
    }
}

impl StandIn {
    async fn serve(&self) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tonic::transport::Server::builder()
            .add_service(GreeterServer::new(self.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener));
        tokio::spawn(server);
        addr
    }

    fn calls(&self) -> Vec<Option<String>> {
        self.calls.lock().expect("lock").clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_never_exceed_the_budget() {
    let stand_in = StandIn {
        status: Some(tonic::Code::Unavailable),
        ..StandIn::default()
    };
    let addr = stand_in.serve().await;
    let (mut conf, scratch) = test_conf();
    let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
    greeter.endpoints = vec![format!("http://{addr}")];
    greeter.retry.max_attempts = 3;
    greeter.retry.backoff = Duration::from_millis(1);
    greeter.retry.budget = 0.2;
    // No allowance beyond the share, so the bound holds however long the run.
    greeter.retry.min_per_second = 0;
    greeter.breaker.enabled = false;
    let caller = start_with(&conf, scratch).await;

    // Ten at a time: retries race each other for the budget.
    const CALLS: usize = 100;
    for batch in 0..CALLS / 10 {
        let calls: Vec<_> = (0..10)
            .map(|i| {
                let http = caller.http;
                let name = format!("b{batch}-{i}");
                tokio::spawn(async move {
                    http_json(http, "POST", "/v1/notes:welcome", json!({ "name": name })).await
                })
            })
            .collect();
        for call in calls {
            let (status, body) = call.await.expect("call");
            assert_eq!(status, 503, "{body}");
        }
    }

    let retries = stand_in.calls().len() - CALLS;
    // Without the budget, 3 attempts each would make 200 retries.
    assert!(retries > 0, "UNAVAILABLE on a marked method is retried");
    assert!(
        retries <= CALLS / 5,
        "{retries} retries for {CALLS} calls, over 20%"
    );
}

#[tokio::test]
async fn the_callers_deadline_reaches_the_upstream_as_grpc_timeout() {
    let stand_in = StandIn::default();
    let addr = stand_in.serve().await;
    let (mut conf, scratch) = test_conf();
    let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
    greeter.endpoints = vec![format!("http://{addr}")];
    // Deadlines roomy enough for a loaded CI machine, the caller's (10 s) shorter
    // than the client's timeout (30 s), itself shorter than the server's, so each
    // bound below tells which one was sent.
    greeter.timeout = Duration::from_secs(30);
    conf.server.grpc.timeout = Duration::from_secs(60);
    conf.server.http.timeout = Duration::from_secs(60);
    let caller = start_with(&conf, scratch).await;

    let channel = support::channel(caller.grpc).await;
    let mut request = tonic::Request::new(CreateWelcomeNoteRequest { name: "ada".into() });
    request.set_timeout(Duration::from_secs(10));
    NotesClient::new(channel)
        .create_welcome_note(request)
        .await
        .expect("welcomed within 10 s");

    let calls = stand_in.calls();
    let timeout = calls[0].as_deref().expect("grpc-timeout sent");
    let millis: u64 = timeout
        .strip_suffix('m')
        .and_then(|digits| digits.parse().ok())
        .unwrap_or_else(|| panic!("grpc-timeout in milliseconds, got {timeout:?}"));
    assert!(
        millis <= 10_000,
        "the upstream got {millis} ms of a 10 s deadline"
    );

    // Without an inbound deadline, the configured timeout (30 s) applies.
    let (status, body) = welcome(&caller, "bo").await;
    assert_eq!(status, 200, "{body}");
    let second = stand_in.calls()[1].clone().expect("grpc-timeout sent");
    let millis: u64 = second.trim_end_matches('m').parse().expect("milliseconds");
    assert!((10_000..=30_000).contains(&millis), "{second}");
}

/// An address nothing listens on: connecting to it is refused.
async fn refusing() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// The caller's `client_requests_total` line for SayHello with `code`.
fn counted(code: &str, calls: usize) -> String {
    let labels = format!(r#"upstream="greeter",operation="{SAY_HELLO}",code="{code}""#);
    ["client_requests_total{", &labels, "} ", &calls.to_string()].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_method_is_retried_on_another_instance_when_a_connection_is_refused() {
    let stand_in = StandIn::default();
    let serving = stand_in.serve().await;
    // Three instances refuse connections: each is found out (and ejected) by
    // a call, which must then go on to another instance.
    let mut addrs = vec![refusing().await, refusing().await, refusing().await];
    addrs.push(serving);
    let (mut conf, scratch) = test_conf();
    let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
    greeter.endpoints = addrs.iter().map(|addr| format!("http://{addr}")).collect();
    greeter.retry.methods = Vec::new();
    greeter.retry.max_attempts = 4;
    greeter.retry.backoff = Duration::from_millis(1);
    greeter.breaker.enabled = false;
    let caller = start_with(&conf, scratch).await;

    const CALLS: usize = 16;
    for i in 0..CALLS {
        let (status, body) = welcome(&caller, &format!("r{i}")).await;
        assert_eq!(status, 200, "{body}");
    }

    assert_eq!(stand_in.calls().len(), CALLS, "each call reached it once");
    let metrics = metrics(&caller).await;
    assert!(metrics.contains(&counted("OK", CALLS)), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_method_answered_unavailable_by_a_handler_is_not_retried() {
    let stand_in = StandIn {
        status: Some(tonic::Code::Unavailable),
        ..StandIn::default()
    };
    let addr = stand_in.serve().await;
    let (mut conf, scratch) = test_conf();
    let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
    greeter.endpoints = vec![format!("http://{addr}")];
    greeter.retry.methods = Vec::new();
    greeter.retry.max_attempts = 3;
    greeter.retry.backoff = Duration::from_millis(1);
    greeter.breaker.enabled = false;
    let caller = start_with(&conf, scratch).await;

    const CALLS: usize = 5;
    for i in 0..CALLS {
        let (status, body) = welcome(&caller, &format!("u{i}")).await;
        assert_eq!(status, 503, "{body}");
    }

    assert_eq!(stand_in.calls().len(), CALLS, "it may have acted: no retry");
    let metrics = metrics(&caller).await;
    assert!(
        metrics.contains(&counted("UNAVAILABLE", CALLS)),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_failure_answered_in_the_headers_is_counted_with_its_code() {
    // tonic answers a handler's error "trailers-only": the status in the
    // response headers, no body.
    let stand_in = StandIn {
        status: Some(tonic::Code::NotFound),
        ..StandIn::default()
    };
    let addr = stand_in.serve().await;
    let (mut conf, scratch) = test_conf();
    conf.clients
        .get_mut("greeter")
        .expect("clients.greeter")
        .endpoints = vec![format!("http://{addr}")];
    let caller = start_with(&conf, scratch).await;

    let (status, body) = welcome(&caller, "nf").await;
    assert_ne!(status, 200, "{body}");

    let metrics = metrics(&caller).await;
    assert!(metrics.contains(&counted("NOT_FOUND", 1)), "{metrics}");
    assert!(!metrics.contains(&counted("OK", 1)), "{metrics}");
}

// HTTP upstreams: `strata::client::Upstreams::http`, here a client of the
// Greeter's HTTP route `GET /helloworld/{name}` on instances of this service.

const HELLO_ROUTE: &str = "GET /helloworld/{name}";

/// A client of the HTTP upstream `greeter-http` over `instances` (HTTP
/// addresses), counted in `metrics`: the greeter's settings, the breaker off.
async fn http_greeter(
    instances: &[SocketAddr],
    max_attempts: u32,
    metrics: &strata::Metrics,
) -> strata::client::HttpClient {
    let (conf, _scratch) = test_conf();
    let mut settings = conf.clients["greeter"].clone();
    settings.endpoints = instances
        .iter()
        .map(|addr| format!("http://{addr}"))
        .collect();
    settings.ejection = Duration::from_millis(200);
    settings.retry.max_attempts = max_attempts;
    settings.retry.backoff = Duration::from_millis(1);
    settings.breaker.enabled = false;
    let clients = strata::config::Clients::from([("greeter-http".to_owned(), settings)]);
    strata::client::Upstreams::new(&clients, metrics)
        .await
        .expect("upstreams")
        .http("greeter-http")
        .expect("configured")
}

/// `GET /helloworld/{name}` through `greeter`: the status and the JSON reply.
async fn hello_over_http(greeter: &strata::client::HttpClient, name: &str) -> (u16, Value) {
    let response = greeter
        .get("/helloworld/{name}")
        .param("name", name)
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET /helloworld/{name}: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON reply"))
}

/// The HTTP requests for `operation` `instance` has served, whatever their code.
async fn served_over_http(instance: &Running, operation: &str) -> u64 {
    let prefix = [
        r#"server_requests_total{transport="http",operation=""#,
        operation,
        "\"",
    ]
    .concat();
    metrics(instance)
        .await
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// The `client_requests_total` line of `greeter-http` for `operation` and `code`.
fn counted_over_http(operation: &str, code: &str, calls: u64) -> String {
    let labels = format!(r#"upstream="greeter-http",operation="{operation}",code="{code}""#);
    ["client_requests_total{", &labels, "} ", &calls.to_string()].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_calls_spread_over_three_instances_and_are_counted_by_route() {
    let upstreams = vec![upstream(0).await, upstream(0).await, upstream(0).await];
    let addrs: Vec<SocketAddr> = upstreams.iter().map(|u| u.http).collect();
    let metrics = strata::Metrics::new("0", "test");
    let greeter = http_greeter(&addrs, 1, &metrics).await;

    let (status, reply) = hello_over_http(&greeter, "ada").await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (200, Some("Hello ada"))
    );

    // Six at a time, so the balancer sees calls in flight; a warm-up first,
    // as for gRPC. Paced (40 ms between batches): the calls are quick, and
    // unpaced one scheduler hiccup on a busy machine (a slow answer weighs
    // on an instance for about 0.5 s) would span much of the run.
    async fn in_batches(greeter: &strata::client::HttpClient, calls: u64) {
        for batch in 0..calls / 6 {
            let calls: Vec<_> = (0..6)
                .map(|i| {
                    let greeter = greeter.clone();
                    tokio::spawn(async move {
                        hello_over_http(&greeter, &format!("h{batch}-{i}")).await
                    })
                })
                .collect();
            for call in calls {
                let (status, reply) = call.await.expect("call");
                assert_eq!(status, 200, "{reply}");
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }
    const WARM_UP: u64 = 60;
    in_batches(&greeter, WARM_UP).await;
    const CALLS: u64 = 300;
    let mut before = Vec::new();
    for instance in &upstreams {
        before.push(served_over_http(instance, SAY_HELLO).await);
    }
    in_batches(&greeter, CALLS).await;
    let mut shares = Vec::new();
    for (instance, before) in upstreams.iter().zip(before) {
        shares.push(served_over_http(instance, SAY_HELLO).await - before);
    }
    assert_eq!(shares.iter().sum::<u64>(), CALLS, "{shares:?}");
    for share in &shares {
        assert!(
            (CALLS * 20 / 100..=CALLS * 45 / 100).contains(share),
            "each instance serves 20-45% of the calls: {shares:?}"
        );
    }

    // Counted under the route's template, never the filled path.
    let text = metrics.encode();
    let calls_made = 1 + WARM_UP + CALLS;
    let labels = [
        "{",
        r#"upstream="greeter-http",operation=""#,
        HELLO_ROUTE,
        "\"",
    ]
    .concat();
    for line in [
        counted_over_http(HELLO_ROUTE, "OK", calls_made),
        format!("client_request_duration_seconds_count{labels}}} {calls_made}"),
    ] {
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    assert!(!text.contains("/helloworld/ada"), "{text}");
    for instance in upstreams {
        stop(instance).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_get_is_retried_on_another_instance_when_a_connection_is_refused() {
    let serving = upstream(0).await;
    // Three instances refuse connections: each is found out (and ejected) by
    // a call, which must then go on to another instance.
    let instances = [
        refusing().await,
        refusing().await,
        refusing().await,
        serving.http,
    ];
    let metrics = strata::Metrics::new("0", "test");
    let greeter = http_greeter(&instances, 4, &metrics).await;

    const CALLS: u64 = 16;
    for i in 0..CALLS {
        let (status, reply) = hello_over_http(&greeter, &format!("r{i}")).await;
        assert_eq!(status, 200, "{reply}");
    }

    assert_eq!(
        served_over_http(&serving, SAY_HELLO).await,
        CALLS,
        "each call reached the live instance once"
    );
    let text = metrics.encode();
    let line = counted_over_http(HELLO_ROUTE, "OK", CALLS);
    assert!(text.contains(&line), "{line} in:\n{text}");
    stop(serving).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_post_answered_by_a_handler_is_not_retried() {
    // Two instances whose own Greeter refuses connections: their welcome
    // handler answers 503, after it ran.
    let mut instances = Vec::new();
    for _ in 0..2 {
        let (mut conf, scratch) = test_conf();
        let greeter = conf.clients.get_mut("greeter").expect("clients.greeter");
        greeter.endpoints = vec![format!("http://{}", refusing().await)];
        instances.push(start_with(&conf, scratch).await);
    }
    let addrs: Vec<SocketAddr> = instances.iter().map(|u| u.http).collect();
    let metrics = strata::Metrics::new("0", "test");
    let notes = http_greeter(&addrs, 3, &metrics).await;

    const CALLS: u64 = 6;
    for i in 0..CALLS {
        let response = notes
            .post("/v1/notes:welcome")
            .json(&json!({ "name": format!("p{i}") }))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 503);
    }

    let mut served = 0;
    for instance in &instances {
        served += served_over_http(instance, "/notes.v1.Notes/CreateWelcomeNote").await;
    }
    assert_eq!(served, CALLS, "a handler may have acted: no retry");
    let text = metrics.encode();
    let line = counted_over_http("POST /v1/notes:welcome", "UNAVAILABLE", CALLS);
    assert!(text.contains(&line), "{line} in:\n{text}");
    for instance in instances {
        stop(instance).await;
    }
}
