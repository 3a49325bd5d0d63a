//! The middleware every request passes, on both transports alike: request id,
//! a span carrying it, access log, RED metrics, and recovery from panics.
//!
//! Applied with `Router::layer`; gRPC routes get it too, through
//! `tonic::service::Routes::into_axum_router`.

use std::any::Any;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::response::IntoResponse;
use axum::routing::MethodRouter;
use http::{HeaderValue, Request, Response};
use tonic::Status;
use tonic_types::StatusExt;
use tower::layer::util::{Identity, Stack};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::{CatchPanicLayer, ResponseForPanic};
use tracing::Instrument;

use crate::Metrics;
use crate::error::{ErrorReason, HttpError, code_name, http_status};

/// The header carrying the request id, accepted from the caller or generated.
pub const REQUEST_ID: &str = "x-request-id";

/// Which transport a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Http,
    Grpc,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Grpc => "grpc",
        }
    }
}

/// Where an HTTP route writes the proto operation it serves, before its handler
/// runs, so the access log and metrics name it even when the handler panics.
#[derive(Debug, Clone, Default)]
struct OperationSlot(Arc<OnceLock<&'static str>>);

/// Tags `route` with the proto operation it serves (`/helloworld.v1.Greeter/SayHello`),
/// so logs and metrics name the same operation on both transports.
pub fn operation<S>(name: &'static str, route: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route.layer(axum::middleware::map_request_with_state(
        name,
        tag_operation,
    ))
}

async fn tag_operation(State(name): State<&'static str>, request: Request<Body>) -> Request<Body> {
    if let Some(slot) = request.extensions().get::<OperationSlot>() {
        let _ = slot.0.set(name);
    }
    request
}

/// The whole chain, outermost first: observe (id, span, log, metrics), recovery.
pub type Middleware =
    ServiceBuilder<Stack<CatchPanicLayer<PanicResponse>, Stack<ObserveLayer, Identity>>>;

/// The middleware for `transport`, recording into `metrics`.
pub fn middleware(transport: Transport, metrics: &Metrics) -> Middleware {
    ServiceBuilder::new()
        .layer(ObserveLayer {
            transport,
            metrics: metrics.clone(),
        })
        .layer(CatchPanicLayer::custom(PanicResponse {
            transport,
            metrics: metrics.clone(),
        }))
}

/// Request id, span, access log and metrics around one request.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    transport: Transport,
    metrics: Metrics,
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            transport: self.transport,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    transport: Transport,
    metrics: Metrics,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let transport = self.transport;
        let metrics = self.metrics.clone();
        let request_id = request_id(&request);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            request.headers_mut().insert(REQUEST_ID, value);
        }
        let peer = peer(&request);
        let operation_slot = OperationSlot::default();
        request.extensions_mut().insert(operation_slot.clone());
        // gRPC names its operation in the path; HTTP routes set `Operation`.
        let grpc_operation =
            (transport == Transport::Grpc).then(|| request.uri().path().to_owned());
        let span =
            tracing::info_span!("request", transport = transport.name(), request_id = %request_id);
        let in_flight = metrics.request_started(transport.name());

        // The clone is the one that is ready; keep it, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(
            async move {
                let mut response = inner.call(request).await?;
                drop(in_flight);
                let elapsed = started.elapsed();
                let operation = grpc_operation
                    .or_else(|| operation_slot.0.get().map(|name| (*name).to_owned()))
                    .unwrap_or_else(|| "unmatched".to_owned());
                let (code, reason) = outcome(transport, &response);
                metrics.request_finished(transport.name(), &operation, code, &reason, elapsed);
                tracing::info!(
                    operation,
                    code,
                    reason,
                    latency_ms = elapsed.as_secs_f64() * 1000.0,
                    peer = peer.map(|addr| addr.to_string()).unwrap_or_default(),
                    "access"
                );
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert(REQUEST_ID, value);
                }
                Ok(response)
            }
            .instrument(span),
        )
    }
}

/// The caller's `x-request-id` when it is a sane token, else a new UUID.
fn request_id<B>(request: &Request<B>) -> String {
    request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The remote address: tonic and axum (`into_make_service_with_connect_info`) both
/// put it in the request extensions.
fn peer<B>(request: &Request<B>) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
        .or_else(|| {
            request
                .extensions()
                .get::<tonic::transport::server::TcpConnectInfo>()
                .and_then(|info| info.remote_addr())
        })
}

/// The status code (gRPC mapped to its HTTP equivalent, as Kratos does) and the
/// error reason of a response.
fn outcome<B>(transport: Transport, response: &Response<B>) -> (u16, String) {
    match transport {
        Transport::Http => {
            let reason = response
                .extensions()
                .get::<ErrorReason>()
                .map(|reason| reason.0.clone())
                .unwrap_or_default();
            (response.status().as_u16(), reason)
        }
        // A failed unary call is "trailers-only": its status is in the headers.
        Transport::Grpc => match Status::from_header_map(response.headers()) {
            Some(status) if status.code() != tonic::Code::Ok => {
                let reason = status
                    .get_error_details()
                    .error_info()
                    .map(|info| info.reason.clone())
                    .unwrap_or_else(|| code_name(status.code()).to_owned());
                (http_status(status.code()).as_u16(), reason)
            }
            _ => (200, String::new()),
        },
    }
}

/// Turns a handler panic into INTERNAL for the transport, logs it and counts it.
#[derive(Debug, Clone)]
pub struct PanicResponse {
    transport: Transport,
    metrics: Metrics,
}

impl ResponseForPanic for PanicResponse {
    type ResponseBody = Body;

    fn response_for_panic(&mut self, panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".to_owned());
        tracing::error!(panic = %message, "handler panicked");
        self.metrics.panicked();
        let status = Status::internal("internal error");
        match self.transport {
            Transport::Http => HttpError(status).into_response(),
            Transport::Grpc => status.into_http(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn boom() -> &'static str {
        panic!("kaboom")
    }

    fn app(transport: Transport, metrics: &Metrics) -> Router {
        Router::new()
            .route("/boom", operation("/test.v1.Test/Boom", get(boom)))
            .route(
                "/ok",
                operation("/test.v1.Test/Ok", get(|| async { "fine" })),
            )
            .layer(middleware(transport, metrics))
    }

    async fn call(router: &Router, path: &str, request_id: Option<&str>) -> Response<Body> {
        let mut request = Request::get(path);
        if let Some(id) = request_id {
            request = request.header(REQUEST_ID, id);
        }
        router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    #[tokio::test]
    async fn a_panic_is_a_500_with_the_error_body_and_the_next_request_works() {
        let metrics = Metrics::new("0", "0");
        let router = app(Transport::Http, &metrics);

        let response = call(&router, "/boom", None).await;
        assert_eq!(response.status(), 500);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["reason"], "INTERNAL");
        assert_eq!(body["message"], "internal error");

        assert_eq!(call(&router, "/ok", None).await.status(), 200);
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
        let router = app(Transport::Grpc, &metrics);

        let response = call(&router, "/boom", None).await;

        let status = Status::from_header_map(response.headers()).expect("grpc-status header");
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(metrics.encode().contains("server_panics_total 1"));
    }

    #[tokio::test]
    async fn echoes_the_callers_request_id_or_makes_one() {
        let metrics = Metrics::new("0", "0");
        let router = app(Transport::Http, &metrics);

        let given = call(&router, "/ok", Some("abc-123")).await;
        assert_eq!(given.headers()[REQUEST_ID], "abc-123");

        let made = call(&router, "/ok", None).await;
        let id = made.headers()[REQUEST_ID].to_str().expect("ascii");
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    }
}
