//! The peer: what a team would write by hand on axum for the sample's observability,
//! from the crates everyone reaches for. tower-http's `TraceLayer` (a span per
//! request at `info`, a line when the response goes out), an `x-request-id` made
//! (UUID v4) and echoed, JSON log lines to stdout and to a daily file (both through
//! tracing-appender's background writers), Prometheus request counts and latency
//! histograms (metrics-exporter-prometheus, at `/metrics`), and the
//! tracing-opentelemetry layer on an SDK tracer with no exporter. It serves
//! `GET /healthz` and `GET /helloworld/{name}` (no database) with the sample's JSON.
//!
//! `peer <http addr>`; the log file goes to `logs/` in the working directory.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use axum::Json;
use axum::extract::{MatchedPath, Path, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusBuilder;
use opentelemetry::trace::TracerProvider as _;
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, fmt};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .context("usage: peer <http addr>")?
        .parse()?;

    let (stdout, _stdout_guard) = tracing_appender::non_blocking(std::io::stdout());
    let (file, _file_guard) =
        tracing_appender::non_blocking(tracing_appender::rolling::daily("logs", "peer.log"));
    // An SDK tracer with no exporter: spans are made and ended, sent nowhere.
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(fmt::layer().json().with_writer(stdout))
        .with(fmt::layer().json().with_writer(file))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("peer")))
        .init();
    let prometheus = PrometheusBuilder::new().install_recorder()?;

    let app = axum::Router::new()
        .route("/helloworld/{name}", get(say_hello))
        .route("/healthz", get(healthz))
        .route(
            "/metrics",
            get(move || std::future::ready(prometheus.render())),
        )
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|request: &Request| {
                            let request_id = request
                                .headers()
                                .get("x-request-id")
                                .and_then(|id| id.to_str().ok())
                                .unwrap_or_default();
                            tracing::info_span!(
                                "request",
                                method = %request.method(),
                                uri = %request.uri(),
                                request_id,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(middleware::from_fn(red_metrics)),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, app).await?;
    Ok(())
}

/// A request count and a latency histogram per route, method and status.
async fn red_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", response.status().as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn say_hello(Path(name): Path<String>) -> Json<Value> {
    Json(json!({ "message": format!("Hello {name}") }))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "SERVING" }))
}
