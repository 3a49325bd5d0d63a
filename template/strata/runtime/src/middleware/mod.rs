//! The middleware every request passes, on both transports alike, outermost first:
//! observe (request id, `x-md-*` metadata, server span with W3C trace context,
//! access log, RED metrics), recovery from panics, then the guard (rate and
//! concurrency limits, timeout, one error body for every refusal; a gRPC request
//! that cannot be decoded is INVALID_ARGUMENT, not INTERNAL). HTTP also gets
//! CORS, gzip, a body limit, and `X-Content-Type-Options: nosniff` and
//! `Cache-Control: no-store` (unless the route set one) on every reply.
//!
//! gRPC routes get it through `tonic::service::Routes::into_axum_router`, so both
//! transports run the very same layers.

mod caller_codes;
mod context;
mod guard;
mod observe;
mod recovery;
pub(crate) mod trace_context;
mod upload;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::MethodRouter;
use http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Request};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

#[cfg(test)]
pub(crate) use context::with_deadline;
pub use context::{RequestContext, deadline, outbound_headers};
pub(crate) use guard::reason_of;
pub use observe::REQUEST_ID;
pub use trace_context::TraceContext;

use crate::{Metrics, config};

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

/// gRPC: every route of `router` behind the chain `server.middleware` configures,
/// with `server.grpc.timeout`.
pub fn grpc(router: Router, server: &config::Server, metrics: &Metrics) -> Router {
    apply(
        router,
        Transport::Grpc,
        &server.middleware,
        server.grpc.timeout,
        metrics,
    )
}

/// HTTP: the same chain with `server.http.timeout`, plus the HTTP-only layers of
/// `server.http`: body limit, CORS, gzip.
pub fn http(router: Router, server: &config::Server, metrics: &Metrics) -> Router {
    apply_http(router, &server.http, &server.middleware, metrics)
}

/// Puts the middleware for `transport` around every route of `router`.
pub(crate) fn apply(
    router: Router,
    transport: Transport,
    middleware: &config::Middleware,
    timeout: Duration,
    metrics: &Metrics,
) -> Router {
    let observe = observe::ObserveLayer::new(transport, middleware, metrics);
    let guard = guard::GuardLayer::new(transport, middleware, timeout);
    // One `Router::layer` call for the whole chain: each call boxes every route
    // once more, and a request clones every box inside the one it enters (with
    // the eight layers applied one by one, 38 boxed clones per request).
    match panic_recovery(transport, middleware, metrics) {
        Some(recovery) => router.layer(
            ServiceBuilder::new()
                .layer(observe)
                .layer(recovery)
                .layer(guard),
        ),
        None => router.layer(ServiceBuilder::new().layer(observe).layer(guard)),
    }
}

/// [`apply`] with `http.timeout`, plus the HTTP-only layers: body limit, CORS, gzip,
/// and the headers of every reply.
pub(crate) fn apply_http(
    router: Router,
    http: &config::Http,
    middleware: &config::Middleware,
    metrics: &Metrics,
) -> Router {
    let observe = observe::ObserveLayer::new(Transport::Http, middleware, metrics);
    let guard = guard::GuardLayer::new(Transport::Http, middleware, http.timeout);
    // DefaultBodyLimit tells axum's extractors the limit. The limit layer answers
    // 413 from Content-Length before a byte is read, and cuts off a chunked body
    // at the limit; inside the guard, so its 413 gets the standard error body.
    let outer = ServiceBuilder::new().layer(DefaultBodyLimit::max(http.max_body_bytes));
    let inner = RequestBodyLimitLayer::new(http.max_body_bytes);
    let mut router = match panic_recovery(Transport::Http, middleware, metrics) {
        Some(recovery) => router.layer(
            outer
                .layer(observe)
                .layer(recovery)
                .layer(guard)
                .map_response(limited_body)
                .layer(inner),
        ),
        None => router.layer(
            outer
                .layer(observe)
                .layer(guard)
                .map_response(limited_body)
                .layer(inner),
        ),
    };
    if http.cors.enabled {
        let origins = &http.cors.allowed_origins;
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
    // Every reply, refusals included: browsers must not guess its type, and
    // caches must not keep it unless the route set its own `Cache-Control`.
    let reply_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    if http.compression {
        router.layer(reply_headers.layer(CompressionLayer::new().gzip(true)))
    } else {
        router.layer(reply_headers)
    }
}

/// The body limit's reply as the plain response the guard takes.
fn limited_body(
    response: http::Response<tower_http::limit::ResponseBody<axum::body::Body>>,
) -> axum::response::Response {
    response.map(axum::body::Body::new)
}

/// The panic recovery layer, when `middleware.recovery` is on.
fn panic_recovery(
    transport: Transport,
    middleware: &config::Middleware,
    metrics: &Metrics,
) -> Option<CatchPanicLayer<recovery::PanicResponse>> {
    middleware
        .recovery
        .then(|| CatchPanicLayer::custom(recovery::PanicResponse::new(transport, metrics)))
}

/// `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` unless set.
pub(crate) fn mark_api_reply(headers: &mut http::HeaderMap) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// Tags an HTTP `route` with the proto operation it serves
/// (`/helloworld.v1.Greeter/SayHello`), so logs, metrics and spans name the same
/// operation on both transports, and `auth.jwt` checks its caller.
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
    mut request: Request<axum::body::Body>,
) -> Result<Request<axum::body::Body>, axum::response::Response> {
    tag_operation(request.extensions(), name);
    match crate::auth::check_http(&mut request, name).await {
        Some(refused) => Err(refused),
        None => Ok(request),
    }
}

/// Names the proto operation of the request whose `extensions` these are, for
/// the access log and metrics around it.
pub(crate) fn tag_operation(extensions: &http::Extensions, name: &'static str) {
    if let Some(slot) = extensions.get::<observe::OperationSlot>() {
        slot.set(name);
    }
}

/// Names the route template (`/v1/notes/{id}`) an HTTP request matched where
/// axum's router did not (the transcoding routes match templates themselves),
/// for the span name.
pub(crate) fn tag_route(extensions: &http::Extensions, route: &'static str) {
    if let Some(slot) = extensions.get::<observe::OperationSlot>() {
        slot.set_route(route);
    }
}

#[cfg(test)]
mod tests;
