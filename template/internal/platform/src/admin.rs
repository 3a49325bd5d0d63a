//! The HTTP admin routes every service has: `/healthz` (alive), `/readyz` (ready)
//! and `/metrics` (Prometheus).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::middleware::operation;
use crate::{Health, Metrics};

/// `/healthz`, `/readyz` and `/metrics`, to merge into the service's HTTP router.
pub fn routes(health: Health, metrics: Metrics) -> Router {
    Router::new()
        .route("/healthz", operation("/healthz", get(healthz)))
        .route("/readyz", operation("/readyz", get(readyz)))
        .with_state(health)
        .route(
            "/metrics",
            operation(
                "/metrics",
                get(move |headers| render_metrics(metrics.clone(), headers)),
            ),
        )
}

/// OpenMetrics when the scraper asks for it (Prometheus does), else the classic
/// Prometheus text format.
async fn render_metrics(
    metrics: Metrics,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    let wants_openmetrics = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            metrics.encode_openmetrics(),
        )
    } else {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            metrics.encode(),
        )
    }
}

/// Alive: the process answers. Never touches dependencies, so a database outage does
/// not get the pod restarted.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "SERVING" }))
}

/// Ready: shutdown has not begun and every readiness check passes.
async fn readyz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    match health.ready().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "SERVING" }))),
        Err(not_ready) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "NOT_SERVING",
                "check": not_ready.check,
                "error": not_ready.error,
            })),
        ),
    }
}
