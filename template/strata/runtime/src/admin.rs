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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http::Request;
    use tower::ServiceExt;

    use super::*;

    async fn get(router: Router, path: &str) -> (StatusCode, Value) {
        let response = router
            .oneshot(Request::get(path).body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn readyz_is_503_naming_the_unreachable_database() {
        let health = Health::builder()
            .check("database", || async { Err("connection refused") })
            .build();
        let router = routes(health, Metrics::new("0", "0"));

        let (status, body) = get(router.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            body,
            json!({ "status": "NOT_SERVING", "check": "database", "error": "connection refused" })
        );

        // Alive all the same: restarting the process would not bring the database back.
        let (status, _) = get(router, "/healthz").await;
        assert_eq!(status, StatusCode::OK);
    }
}
