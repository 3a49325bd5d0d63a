//! The middleware every request passes, on both transports alike, outermost first:
//! observe (request id, `x-md-*` metadata, server span with W3C trace context,
//! access log, RED metrics), recovery from panics, then the guard (rate and
//! concurrency limits, timeout, one error body for every refusal; a gRPC request
//! that cannot be decoded is INVALID_ARGUMENT, not INTERNAL). HTTP also gets
//! CORS, gzip and a body limit.
//!
//! gRPC routes get it through `tonic::service::Routes::into_axum_router`, so both
//! transports run the very same layers.

mod caller_codes;
mod context;
mod guard;
mod observe;
mod recovery;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::MethodRouter;
use http::Request;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

pub use context::{RequestContext, outbound_headers};
pub use observe::REQUEST_ID;

use crate::Metrics;

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

/// Which pieces run, and their limits.
#[derive(Debug, Clone)]
pub struct Options {
    pub request_id: bool,
    pub access_log: bool,
    pub tracing: bool,
    pub metrics: bool,
    pub recovery: bool,
    /// A request still running after this is answered DEADLINE_EXCEEDED and dropped.
    pub timeout: Duration,
    /// Requests handled at once; 0 is no limit.
    pub concurrency_limit: usize,
    /// Requests per second; 0 is no limit.
    pub rate_limit_per_second: u32,
}

/// HTTP-only settings.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub max_body_bytes: usize,
    pub compression: bool,
    /// `None`: no CORS headers. `*` in the list allows any origin.
    pub cors_allowed_origins: Option<Vec<String>>,
}

/// Puts the middleware for `transport` around every route of `router`.
pub fn apply(router: Router, transport: Transport, options: &Options, metrics: &Metrics) -> Router {
    let mut router = router.layer(guard::GuardLayer::new(transport, options));
    if options.recovery {
        router = router.layer(CatchPanicLayer::custom(recovery::PanicResponse::new(
            transport, metrics,
        )));
    }
    router.layer(observe::ObserveLayer::new(transport, options, metrics))
}

/// [`apply`], plus the HTTP-only layers: body limit, CORS, gzip.
pub fn apply_http(
    router: Router,
    options: &Options,
    http: &HttpOptions,
    metrics: &Metrics,
) -> Router {
    // The limit layer answers 413 from Content-Length before a byte is read, and
    // cuts off a chunked body at the limit; inside the guard, so its 413 gets the
    // standard error body. DefaultBodyLimit tells axum's extractors the same limit.
    let router = router.layer(RequestBodyLimitLayer::new(http.max_body_bytes));
    let mut router = apply(router, Transport::Http, options, metrics)
        .layer(DefaultBodyLimit::max(http.max_body_bytes));
    if let Some(origins) = &http.cors_allowed_origins {
        let allow = if origins.iter().any(|origin| origin == "*") {
            AllowOrigin::from(Any)
        } else {
            AllowOrigin::list(origins.iter().filter_map(|origin| origin.parse().ok()))
        };
        router = router.layer(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods(Any)
                .allow_headers(Any),
        );
    }
    if http.compression {
        router = router.layer(CompressionLayer::new().gzip(true));
    }
    router
}

/// Tags an HTTP `route` with the proto operation it serves
/// (`/helloworld.v1.Greeter/SayHello`), so logs, metrics and spans name the same
/// operation on both transports.
pub fn operation<S>(name: &'static str, route: MethodRouter<S>) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route.layer(axum::middleware::map_request_with_state(
        name,
        tag_operation_layer,
    ))
}

async fn tag_operation_layer(
    State(name): State<&'static str>,
    request: Request<axum::body::Body>,
) -> Request<axum::body::Body> {
    tag_operation(request.extensions(), name);
    request
}

/// Names the proto operation of the request whose `extensions` these are, for
/// the access log and metrics around it.
pub(crate) fn tag_operation(extensions: &http::Extensions, name: &'static str) {
    if let Some(slot) = extensions.get::<observe::OperationSlot>() {
        slot.set(name);
    }
}

#[cfg(test)]
mod tests;
