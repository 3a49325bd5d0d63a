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

pub(crate) mod body_limit;
mod caller_codes;
mod context;
mod guard;
mod observe;
mod recovery;
pub(crate) mod trace_context;
mod upload;

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::response::Response;
use axum::routing::MethodRouter;
use http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Request};
use tokio_util::either::Either;
use tower::ServiceBuilder;
use tower_http::compression::{CompressionBody, CompressionLayer};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

#[cfg(test)]
pub(crate) use context::with_deadline;
pub use context::{RequestContext, deadline, outbound_headers};
pub(crate) use guard::reason_of;
pub use observe::REQUEST_ID;
pub use trace_context::TraceContext;

use body_limit::BodyLimitLayer;
use recovery::RecoveryLayer;

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
    // One `Router::layer` call for the whole chain: each call boxes every route
    // once more, and a request clones every box inside the one it enters (with
    // the eight layers applied one by one, 38 boxed clones per request).
    router.layer(
        ServiceBuilder::new()
            .layer(observe::ObserveLayer::new(transport, middleware, metrics))
            .layer(RecoveryLayer::new(transport, middleware, metrics))
            .layer(guard::GuardLayer::new(transport, middleware, timeout)),
    )
}

/// [`apply`] with `http.timeout`, plus the HTTP-only layers: the headers of every
/// reply, gzip, CORS and the body limit.
pub(crate) fn apply_http(
    router: Router,
    http: &config::Http,
    middleware: &config::Middleware,
    metrics: &Metrics,
) -> Router {
    let transport = Transport::Http;
    // Gzip and CORS are each either their layer or none (`option_layer`), so
    // every setting builds the same type and the whole chain goes on in one
    // `Router::layer` call (see `apply`). Outermost first:
    router.layer(
        ServiceBuilder::new()
            // Every reply, refusals and CORS preflights included: browsers must
            // not guess its type, and caches must not keep it unless the route
            // set its own `Cache-Control`.
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            ))
            // Gzip for clients that accept it.
            .option_layer(http.compression.then(|| {
                ServiceBuilder::new()
                    .map_response(gzipped)
                    .layer(CompressionLayer::new().gzip(true))
            }))
            // A preflight is answered here, before the request is logged.
            .option_layer(http.cors.enabled.then(|| cors(&http.cors)))
            // Tells axum's extractors the limit.
            .layer(DefaultBodyLimit::max(http.max_body_bytes))
            .layer(observe::ObserveLayer::new(transport, middleware, metrics))
            .layer(RecoveryLayer::new(transport, middleware, metrics))
            .layer(guard::GuardLayer::new(transport, middleware, http.timeout))
            // Inside the guard, so its 413 gets the standard error body.
            .layer(BodyLimitLayer::new(http.max_body_bytes)),
    )
}

/// A gzip reply as the plain response the other layers take: its body boxed
/// here, as axum would box it at the route's edge.
fn gzipped(response: http::Response<CompressionBody<Body>>) -> Response {
    response.map(Body::new)
}

/// CORS for `cors.allowed_origins` ("*": any), any method and header.
fn cors(cors: &config::Cors) -> CorsLayer {
    let origins = &cors.allowed_origins;
    let allow = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::from(Any)
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| origin.parse().ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods(Any)
        .allow_headers(Any)
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
    route.layer(OperationLayer(name))
}

#[derive(Debug, Clone, Copy)]
struct OperationLayer(&'static str);

impl<S> tower::Layer<S> for OperationLayer {
    type Service = Operation<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Operation {
            name: self.0,
            inner,
        }
    }
}

/// A route tagged by [`operation`]. Without a caller to check, the route is
/// called straight away: `map_request` would clone it into a future, and a
/// clone of an axum route clones every box inside it.
#[derive(Debug, Clone)]
struct Operation<S> {
    name: &'static str,
    inner: S,
}

type Reply = Result<Response, Infallible>;

impl<S> tower::Service<Request<Body>> for Operation<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Pin<Box<dyn Future<Output = Reply> + Send>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        tag_operation(request.extensions(), self.name);
        if request
            .extensions()
            .get::<crate::auth::Authenticator>()
            .is_none()
        {
            return Either::Left(self.inner.call(request));
        }
        // The clone is the one that is ready; keep it, leave a fresh clone behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let name = self.name;
        Either::Right(Box::pin(async move {
            match crate::auth::check_http(&mut request, name).await {
                Some(refused) => Ok(refused),
                None => inner.call(request).await,
            }
        }))
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
