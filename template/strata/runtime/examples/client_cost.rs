//! What an outbound call costs through strata's client stack, against the bare
//! client: `CALLS` unary calls, one after the other, to a server in this process
//! on loopback, after `WARM_UP` calls.
//!
//! `cargo run --release -p strata --example client_cost -- MODE CALLS [traced]`,
//! MODE one of:
//!
//! - `grpc-bare`: `grpc.health.v1.Health/Check` over a plain
//!   `tonic::transport::Channel`;
//! - `grpc-strata`: the same over `Upstreams::grpc` (`Check` marked safe to
//!   retry, so its message is buffered: the costlier path);
//! - `http-bare`: `GET /items/{id}` with a plain `reqwest::Client`;
//! - `http-strata`: the same through `Upstreams::http`.
//!
//! `traced`: with an OpenTelemetry tracing layer (no exporter) taking spans
//! at info and events at warn, as a service's does, and the W3C propagator,
//! so each call makes a client span and sends its `traceparent`; without, no
//! subscriber is installed and spans cost next to nothing.
//!
//! Run under callgrind twice with different CALLS: the difference of the
//! instruction totals over the difference of the calls is the cost of one call
//! (client and server, every thread), setup cancelled out (docs/clients.md, "Cost").

use std::net::SocketAddr;

use strata::client::Upstreams;
use strata::config;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const WARM_UP: u32 = 200;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "grpc-bare".to_owned());
    let calls: u32 = args
        .next()
        .and_then(|calls| calls.parse().ok())
        .unwrap_or(1_000);
    let traced = args.next().as_deref() == Some("traced");
    let _subscriber = traced.then(trace);

    match mode.as_str() {
        "grpc-bare" => {
            let addr = grpc_server().await;
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .expect("endpoint")
                .connect()
                .await
                .expect("connected");
            grpc_calls(HealthClient::new(channel), calls).await;
        }
        "grpc-strata" => {
            let addr = grpc_server().await;
            let upstreams = upstreams(addr, "/grpc.health.v1.Health/*").await;
            let channel = upstreams.grpc("upstream").expect("configured");
            grpc_calls(HealthClient::new(channel), calls).await;
        }
        "http-bare" => {
            let addr = http_server().await;
            let client = strata::client::http_client_builder()
                .build()
                .expect("client");
            for i in 0..WARM_UP + calls {
                let url = format!("http://{addr}/items/{i}");
                let response = client.get(url).send().await.expect("answered");
                assert_eq!(response.status(), 200);
                response.bytes().await.expect("body");
            }
        }
        "http-strata" => {
            let addr = http_server().await;
            let upstreams = upstreams(addr, "").await;
            let client = upstreams.http("upstream").expect("configured");
            for i in 0..WARM_UP + calls {
                let response = client
                    .get("/items/{id}")
                    .param("id", i)
                    .send()
                    .await
                    .expect("answered");
                assert_eq!(response.status(), 200);
                response.bytes().await.expect("body");
            }
        }
        other => panic!("unknown mode {other}: grpc-bare, grpc-strata, http-bare, http-strata"),
    }
}

async fn grpc_calls<T>(mut client: HealthClient<T>, calls: u32)
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::ResponseBody: hyper::body::Body<Data = axum::body::Bytes> + Send + 'static,
    <T::ResponseBody as hyper::body::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    for _ in 0..WARM_UP + calls {
        client
            .check(HealthCheckRequest::default())
            .await
            .expect("served");
    }
}

/// The upstream `upstream` at `addr`, `retry_methods` marked safe to repeat.
async fn upstreams(addr: SocketAddr, retry_methods: &str) -> Upstreams {
    let settings: config::Client = serde_json::from_value(serde_json::json!({
        "endpoints": [format!("http://{addr}")],
        "timeout": "5s",
        "retry": { "methods": [retry_methods] },
    }))
    .expect("settings");
    let metrics = strata::Metrics::new("0", "cost");
    let clients = config::Clients::from([("upstream".to_owned(), settings)]);
    Upstreams::new(&clients, &metrics).await.expect("upstreams")
}

/// tonic's health service, answering SERVING for the whole server.
async fn grpc_server() -> SocketAddr {
    let (_reporter, service) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(server);
    addr
}

/// `GET /items/{id}` answering a small JSON object.
async fn http_server() -> SocketAddr {
    let app = axum::Router::new().route(
        "/items/{id}",
        axum::routing::get(
            |axum::extract::Path(id): axum::extract::Path<u32>| async move {
                axum::Json(serde_json::json!({ "id": id }))
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// An OpenTelemetry layer without exporter, and the W3C propagator: what a
/// service with tracing on does per span, short of exporting it.
fn trace() -> tracing::subscriber::DefaultGuard {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt;

    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
    // The service's trace filter: spans at info, events at warn (h2 and hyper
    // make trace-level spans and events a whole-open filter would take).
    let filter = tracing_subscriber::filter::filter_fn(|metadata| {
        let level = if metadata.is_span() {
            tracing::Level::INFO
        } else {
            tracing::Level::WARN
        };
        *metadata.level() <= level
    });
    let layer = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("cost"))
        .with_filter(filter);
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::set_default(subscriber)
}
