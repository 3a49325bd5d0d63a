use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use http::{Request, Response};
use tonic::Status;
use tower::ServiceExt;

use super::*;

/// How long a request may run in these tests.
const TIMEOUT: Duration = Duration::from_millis(200);

fn options() -> config::Middleware {
    config::Middleware {
        request_id: true,
        access_log: true,
        tracing: true,
        metrics: true,
        recovery: true,
        concurrency_limit: 0,
        rate_limit_per_second: 0,
    }
}

/// The HTTP section with a body limit, gzip on or off and CORS origins, if any.
fn http_conf(max_body_bytes: usize, compression: bool, cors: Option<Vec<String>>) -> config::Http {
    config::Http {
        addr: ([127, 0, 0, 1], 0).into(),
        timeout: TIMEOUT,
        header_read_timeout: Duration::from_secs(10),
        max_body_bytes,
        compression,
        default_routes: false,
        docs: false,
        cors: config::Cors {
            enabled: cors.is_some(),
            allowed_origins: cors.unwrap_or_default(),
        },
    }
}

async fn boom() -> &'static str {
    panic!("kaboom")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(5)).await;
    "too late"
}

fn routes() -> Router {
    Router::new()
        .route("/boom", operation("/test.v1.Test/Boom", get(boom)))
        .route("/slow", operation("/test.v1.Test/Slow", get(slow)))
        .route(
            "/ok",
            operation("/test.v1.Test/Ok", get(|| async { "fine" })),
        )
        .route("/echo", post(|body: String| async move { body }))
}

async fn call(router: &Router, request: Request<Body>) -> Response<Body> {
    router.clone().oneshot(request).await.expect("infallible")
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

async fn json_body(response: Response<Body>) -> serde_json::Value {
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .expect("body");
    serde_json::from_slice(&body).expect("json body")
}

#[tokio::test]
async fn a_panic_is_a_500_with_the_error_body_and_the_next_request_works() {
    let metrics = Metrics::new("0", "0");
    let router = apply(routes(), Transport::Http, &options(), TIMEOUT, &metrics);

    let response = call(&router, get_request("/boom")).await;
    assert_eq!(response.status(), 500);
    let body = json_body(response).await;
    assert_eq!(body["reason"], "INTERNAL");
    assert_eq!(body["message"], "internal error");

    assert_eq!(call(&router, get_request("/ok")).await.status(), 200);
    let text = metrics.encode();
    assert!(text.contains("server_panics_total 1"), "{text}");
    assert!(
        text.contains(r#"server_requests_total{transport="http",operation="/test.v1.Test/Boom",code="500",reason="INTERNAL"} 1"#),
        "{text}"
    );
}

#[tokio::test]
async fn a_grpc_panic_is_internal() {
    let metrics = Metrics::new("0", "0");
    let router = apply(routes(), Transport::Grpc, &options(), TIMEOUT, &metrics);

    let response = call(&router, get_request("/boom")).await;

    let status = Status::from_header_map(response.headers()).expect("grpc-status header");
    assert_eq!(status.code(), tonic::Code::Internal);
    assert!(metrics.encode().contains("server_panics_total 1"));
}

#[tokio::test]
async fn a_slow_handler_is_cut_off_with_504_or_deadline_exceeded() {
    let metrics = Metrics::new("0", "0");
    let http = apply(routes(), Transport::Http, &options(), TIMEOUT, &metrics);
    let grpc = apply(routes(), Transport::Grpc, &options(), TIMEOUT, &metrics);

    let response = call(&http, get_request("/slow")).await;
    assert_eq!(response.status(), 504);
    assert_eq!(json_body(response).await["reason"], "DEADLINE_EXCEEDED");

    let response = call(&grpc, get_request("/slow")).await;
    let status = Status::from_header_map(response.headers()).expect("grpc-status header");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded);
}

#[tokio::test]
async fn an_oversized_body_is_a_413_with_the_error_body() {
    let metrics = Metrics::new("0", "0");
    let router = apply_http(routes(), &http_conf(16, false, None), &options(), &metrics);

    let request = Request::post("/echo")
        .body(Body::from("x".repeat(1024)))
        .expect("request");
    let response = call(&router, request).await;

    assert_eq!(response.status(), 413);
    let body = json_body(response).await;
    assert_eq!(body["code"], 413);
    assert_eq!(body["reason"], "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn unknown_routes_get_the_standard_error_body() {
    let metrics = Metrics::new("0", "0");
    let router = apply(routes(), Transport::Http, &options(), TIMEOUT, &metrics);

    let response = call(&router, get_request("/nowhere")).await;

    assert_eq!(response.status(), 404);
    let body = json_body(response).await;
    assert_eq!(body["reason"], "NOT_FOUND");
    assert_eq!(body["code"], 404);
}

#[tokio::test]
async fn the_rate_limit_refuses_with_429_ratelimit() {
    let metrics = Metrics::new("0", "0");
    let limited = config::Middleware {
        rate_limit_per_second: 2,
        ..options()
    };
    let router = apply(routes(), Transport::Http, &limited, TIMEOUT, &metrics);

    for _ in 0..2 {
        assert_eq!(call(&router, get_request("/ok")).await.status(), 200);
    }
    let response = call(&router, get_request("/ok")).await;

    assert_eq!(response.status(), 429);
    assert_eq!(json_body(response).await["reason"], "RATELIMIT");
}

#[tokio::test]
async fn echoes_the_callers_request_id_or_makes_one() {
    let metrics = Metrics::new("0", "0");
    let router = apply(routes(), Transport::Http, &options(), TIMEOUT, &metrics);

    let request = Request::get("/ok")
        .header(REQUEST_ID, "abc-123")
        .body(Body::empty())
        .expect("request");
    let given = call(&router, request).await;
    assert_eq!(given.headers()[REQUEST_ID], "abc-123");

    let made = call(&router, get_request("/ok")).await;
    let id = made.headers()[REQUEST_ID].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn switched_off_pieces_do_nothing() {
    let metrics = Metrics::new("0", "0");
    let bare = config::Middleware {
        request_id: false,
        metrics: false,
        ..options()
    };
    let router = apply(routes(), Transport::Http, &bare, TIMEOUT, &metrics);

    let response = call(&router, get_request("/ok")).await;

    assert!(response.headers().get(REQUEST_ID).is_none());
    assert!(!metrics.encode().contains("server_requests_total{"));
}

#[tokio::test]
async fn the_concurrency_limit_refuses_with_429_while_full() {
    let metrics = Metrics::new("0", "0");
    let one_at_a_time = config::Middleware {
        concurrency_limit: 1,
        ..options()
    };
    let patient = Duration::from_secs(10);
    let router = apply(routes(), Transport::Http, &one_at_a_time, patient, &metrics);
    let busy = tokio::spawn({
        let router = router.clone();
        async move { call(&router, get_request("/slow")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let response = call(&router, get_request("/ok")).await;

    assert_eq!(response.status(), 429);
    assert_eq!(json_body(response).await["reason"], "RATELIMIT");
    busy.abort();
}

#[tokio::test]
async fn gzips_responses_for_clients_that_accept_it() {
    let metrics = Metrics::new("0", "0");
    let router = Router::new().route("/big", get(|| async { "hello ".repeat(200) }));
    let router = apply_http(router, &http_conf(1024, true, None), &options(), &metrics);

    let request = Request::get("/big")
        .header("accept-encoding", "gzip")
        .body(Body::empty())
        .expect("request");
    let response = call(&router, request).await;

    assert_eq!(response.headers()["content-encoding"], "gzip");
}

#[tokio::test]
async fn answers_cors_preflights_for_allowed_origins_only_when_enabled() {
    let metrics = Metrics::new("0", "0");
    let allowed = Some(vec!["https://app.example".to_owned()]);
    let router = apply_http(
        routes(),
        &http_conf(1024, false, allowed),
        &options(),
        &metrics,
    );
    let preflight = |origin: &'static str| {
        Request::options("/ok")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .expect("request")
    };

    let allowed = call(&router, preflight("https://app.example")).await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = call(&router, preflight("https://evil.example")).await;
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let off = apply_http(
        routes(),
        &http_conf(1024, false, None),
        &options(),
        &metrics,
    );
    let response = call(&off, preflight("https://app.example")).await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

/// `grpc.health.v1.Health/Check` behind the gRPC middleware, and a request for it
/// whose body is `chunks`.
fn health_check(chunks: Vec<Result<Vec<u8>, std::io::Error>>) -> (Router, Request<Body>) {
    let metrics = Metrics::new("0", "0");
    let (_reporter, health) = tonic_health::server::health_reporter();
    let router = tonic::service::Routes::new(health).into_axum_router();
    let router = apply(router, Transport::Grpc, &options(), TIMEOUT, &metrics);
    let request = Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from_stream(tokio_stream::iter(chunks)))
        .expect("request");
    (router, request)
}

/// The status of a trailers-only gRPC answer and its ErrorInfo reason.
fn grpc_failure(response: &Response<Body>) -> (tonic::Code, String) {
    use tonic_types::StatusExt;
    let status = Status::from_header_map(response.headers()).expect("grpc-status header");
    let reason = status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default();
    (status.code(), reason)
}

/// The first five bytes announce a 10-byte message; two follow.
const TRUNCATED_FRAME: [u8; 7] = [0, 0, 0, 0, 10, 1, 2];

#[tokio::test]
async fn a_grpc_message_cut_short_is_invalid_argument() {
    let (router, request) = health_check(vec![Ok(TRUNCATED_FRAME.to_vec())]);

    let response = call(&router, request).await;

    assert_eq!(
        grpc_failure(&response),
        (tonic::Code::InvalidArgument, "CODEC".to_owned())
    );
}

#[tokio::test]
async fn a_client_gone_while_sending_is_cancelled_not_unknown() {
    let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "stream reset");
    let (router, request) = health_check(vec![Ok(TRUNCATED_FRAME.to_vec()), Err(reset)]);

    let response = call(&router, request).await;

    assert_eq!(
        grpc_failure(&response),
        (tonic::Code::Cancelled, "CLIENT_CLOSED".to_owned())
    );
}

#[tokio::test]
async fn a_grpc_message_over_the_limit_is_resource_exhausted() {
    let metrics = Metrics::new("0", "0");
    let (_reporter, health) = tonic_health::server::health_reporter();
    let router =
        tonic::service::Routes::new(health.max_decoding_message_size(4)).into_axum_router();
    let router = apply(router, Transport::Grpc, &options(), TIMEOUT, &metrics);
    // A 10-byte message, whole, against a 4-byte limit.
    let mut frame = vec![0, 0, 0, 0, 10];
    frame.extend([0; 10]);
    let request = Request::post("/grpc.health.v1.Health/Check")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(frame))
        .expect("request");

    let response = call(&router, request).await;

    assert_eq!(
        grpc_failure(&response),
        (
            tonic::Code::ResourceExhausted,
            "PAYLOAD_TOO_LARGE".to_owned()
        )
    );
}

/// The `server_requests_total` series, one per line.
fn request_series(metrics: &Metrics) -> Vec<String> {
    metrics
        .encode()
        .lines()
        .filter(|line| line.starts_with("server_requests_total{"))
        .map(str::to_owned)
        .collect()
}

fn grpc_request(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Body::from(body))
        .expect("request")
}

/// A client choosing method paths must not choose label values: 1,000 made-up
/// paths (unknown services and unknown methods of a known one) add no series.
#[tokio::test]
async fn unknown_grpc_methods_are_one_unmatched_series() {
    let metrics = Metrics::new("0", "0");
    let (_reporter, health) = tonic_health::server::health_reporter();
    let router = tonic::service::Routes::new(health).into_axum_router();
    let router = apply(router, Transport::Grpc, &options(), TIMEOUT, &metrics);
    let made_up = |i: usize| {
        if i.is_multiple_of(2) {
            format!("/grpc.health.v1.Health/MadeUp{i}")
        } else {
            format!("/made.up.v{i}.Service/Call")
        }
    };

    // An empty Health.Check: a served method keeps its name.
    let served = call(
        &router,
        grpc_request("/grpc.health.v1.Health/Check", vec![0; 5]),
    )
    .await;
    // A success carries its status in the trailers, not the headers.
    assert!(Status::from_header_map(served.headers()).is_none());
    for i in 0..2 {
        let response = call(&router, grpc_request(&made_up(i), vec![0; 5])).await;
        assert_eq!(grpc_failure(&response).0, tonic::Code::Unimplemented);
    }
    let before = request_series(&metrics);
    for i in 2..1000 {
        call(&router, grpc_request(&made_up(i), vec![0; 5])).await;
    }
    let after = request_series(&metrics);

    assert_eq!(before.len(), after.len(), "{after:#?}");
    assert!(
        after
            .iter()
            .any(|line| line.contains(r#"operation="/grpc.health.v1.Health/Check""#)),
        "{after:#?}"
    );
    let unmatched: Vec<_> = after
        .iter()
        .filter(|line| line.contains(r#"operation="unmatched""#))
        .collect();
    assert_eq!(unmatched.len(), 1, "{after:#?}");
    assert!(unmatched[0].ends_with(" 1000"), "{unmatched:?}");
    assert!(!metrics.encode().contains("MadeUp"));
}

/// The metrics (and the access line, from the same values) name each gRPC
/// outcome as its client sees it: a status the guard rewrote (CODEC), the
/// guard's own DEADLINE_EXCEEDED, the recovery's INTERNAL (the guard never
/// finished), a success whose status is in the trailers.
#[tokio::test]
async fn grpc_metrics_name_the_status_the_client_gets() {
    let metrics = Metrics::new("0", "0");
    let router = apply(routes(), Transport::Grpc, &options(), TIMEOUT, &metrics);
    let (_reporter, health) = tonic_health::server::health_reporter();
    let health = tonic::service::Routes::new(health).into_axum_router();
    let health = apply(health, Transport::Grpc, &options(), TIMEOUT, &metrics);
    let check = "/grpc.health.v1.Health/Check";

    call(&router, get_request("/boom")).await;
    call(&router, get_request("/slow")).await;
    call(&health, grpc_request(check, TRUNCATED_FRAME.to_vec())).await;
    call(&health, grpc_request(check, vec![0; 5])).await;

    let series = request_series(&metrics);
    for expected in [
        r#"operation="/boom",code="500",reason="INTERNAL"} 1"#,
        r#"operation="/slow",code="504",reason="DEADLINE_EXCEEDED"} 1"#,
        r#"operation="/grpc.health.v1.Health/Check",code="400",reason="CODEC"} 1"#,
        r#"operation="/grpc.health.v1.Health/Check",code="200",reason=""} 1"#,
    ] {
        assert!(
            series.iter().any(|line| line.ends_with(expected)),
            "{expected} in {series:#?}"
        );
    }
}

#[tokio::test]
async fn http_replies_are_nosniff_and_no_store_unless_the_route_says() {
    let metrics = Metrics::new("0", "0");
    let cached = get(|| async { ([(http::header::CACHE_CONTROL, "max-age=60")], "cached") });
    let router = apply_http(
        routes().route("/cached", cached),
        &http_conf(1024, false, None),
        &options(),
        &metrics,
    );

    for path in ["/ok", "/nowhere", "/boom"] {
        let response = call(&router, get_request(path)).await;
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    let response = call(&router, get_request("/cached")).await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["cache-control"], "max-age=60");
}

/// The `otel.name` values a request span was given, at creation and later.
#[derive(Clone, Default)]
struct SpanNames(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl tracing::field::Visit for SpanNames {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "otel.name" {
            self.0.lock().expect("lock").push(format!("{value:?}"));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "otel.name" {
            self.0.lock().expect("lock").push(value.to_owned());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanNames {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        attrs.record(&mut self.clone());
    }

    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        values.record(&mut self.clone());
    }
}

/// Set in the child process [`a_route_matched_past_axum_names_the_logged_span_after_its_template`]
/// runs itself in.
const SPAN_NAMES_CHILD: &str = "STRATA_TEST_SPAN_NAMES_CHILD";

/// Runs in a child process of its own, alone: tracing caches for each callsite
/// whether any subscriber wants it, and a subscriber set by another test at the
/// same moment can leave this test's out of that cache, so it saw no span at
/// all (it failed that way once in CI).
#[test]
fn a_route_matched_past_axum_names_the_logged_span_after_its_template() {
    if crate::alone::is_child(SPAN_NAMES_CHILD) {
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(span_names_follow_route_templates());
    }
    crate::alone::run(
        module_path!(),
        "a_route_matched_past_axum_names_the_logged_span_after_its_template",
        SPAN_NAMES_CHILD,
    );
}

async fn span_names_follow_route_templates() {
    use tracing_subscriber::layer::SubscriberExt;

    let names = SpanNames::default();
    let _logs =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(names.clone()));
    let metrics = Metrics::new("0", "0");
    // The transcoding routes answer behind axum's fallback and name their template.
    let router = Router::new()
        .route("/ok", get(|| async { "fine" }))
        .fallback(|request: Request<Body>| async move {
            tag_route(request.extensions(), "/v1/notes/{id}");
            "a note"
        });
    let router = apply(router, Transport::Http, &options(), TIMEOUT, &metrics);

    assert_eq!(
        call(&router, get_request("/v1/notes/7")).await.status(),
        200
    );
    assert_eq!(call(&router, get_request("/ok")).await.status(), 200);

    let names = names.0.lock().expect("lock").clone();
    assert_eq!(names, ["GET /v1/notes/{id}", "GET /ok"]);
}
