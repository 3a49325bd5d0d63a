//! The HTTP admin routes every service has: `/healthz` (alive) and `/readyz` (ready).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::Health;

/// `/healthz` and `/readyz`, to merge into the service's HTTP router.
pub fn routes(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(health)
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
