//! A gRPC service (tonic's health service) behind strata's gRPC middleware, as a
//! service's gRPC listener serves it.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tonic::{Code, Status};
use tower::ServiceExt;

/// Small, so that the fuzzer reaches the over-the-limit path too.
pub const MAX_MESSAGE_BYTES: usize = 64;

static ROUTER: LazyLock<Router> = LazyLock::new(|| {
    // Only the keys without a serde default; recovery off, so a panic is a crash.
    let server: strata::config::Server = serde_json::from_value(serde_json::json!({
        "shutdown_grace": "1s",
        "admin_addr": "",
        "http": {
            "addr": "127.0.0.1:0", "timeout": "5s", "header_read_timeout": "5s",
            "max_body_bytes": 4096, "compression": false, "default_routes": false,
            "cors": { "enabled": false, "allowed_origins": [] }
        },
        "grpc": { "addr": "127.0.0.1:0", "timeout": "5s", "max_message_bytes": MAX_MESSAGE_BYTES },
        "middleware": {
            "recovery": false, "request_id": true, "access_log": false, "tracing": false,
            "metrics": true, "concurrency_limit": 0, "rate_limit_per_second": 0
        }
    }))
    .expect("the server section of the fuzz config");
    let (_reporter, health) = tonic_health::server::health_reporter();
    let health = health.max_decoding_message_size(MAX_MESSAGE_BYTES);
    let router = tonic::service::Routes::new(health).into_axum_router();
    strata::middleware::grpc(router, &server, &strata::Metrics::new("0", "0"))
});

/// A unary call of `grpc.health.v1.Health/Check` whose body is `frames`: the
/// status it ends with, from the headers (trailers-only) or the trailers.
pub fn check(frames: Vec<u8>) -> Status {
    crate::block_on(async {
        let request = Request::post("/grpc.health.v1.Health/Check")
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(Body::from(frames))
            .expect("a request");
        let response = ROUTER
            .clone()
            .oneshot(request)
            .await
            .expect("a router is infallible");
        assert_eq!(response.status(), 200, "gRPC answers in HTTP 200");
        if let Some(status) = Status::from_header_map(response.headers()) {
            return status;
        }
        let collected = response
            .into_body()
            .collect()
            .await
            .expect("a reply body is in memory");
        let trailers = collected.trailers().cloned().unwrap_or_default();
        Status::from_header_map(&trailers)
            .unwrap_or_else(|| Status::new(Code::Unknown, "no grpc-status in the reply"))
    })
}
