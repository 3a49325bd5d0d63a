//! Around each request: its id, its context for outbound calls, a server span
//! (continuing the caller's W3C trace), one access log line and the RED metrics.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath};
use http::{HeaderName, HeaderValue, Method, Request, Response};
use opentelemetry::trace::TraceContextExt;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tonic::Status;
use tonic_types::StatusExt;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::Transport;
use super::context::{HeaderExtractor, RequestContext};
use super::trace_context::{self, IdText, TraceContext};
use crate::config::Middleware;
use crate::error::{ErrorReason, code_name, http_status};
use crate::metrics::{InFlight, InFlightGauge, Label};
use crate::{Metrics, random};

/// The header carrying the request id, accepted from the caller or generated.
pub const REQUEST_ID: &str = "x-request-id";

/// [`REQUEST_ID`] as a `HeaderName`: looked up and inserted without the parse
/// and validation a `&str` name goes through on every call.
static REQUEST_ID_NAME: HeaderName = HeaderName::from_static(REQUEST_ID);

/// Where an HTTP route writes the proto operation it serves before its handler
/// runs, so logs and metrics name it even when the handler panics; and the
/// route template, when the transcoding routes matched it rather than axum.
#[derive(Debug, Clone, Default)]
pub(super) struct OperationSlot(Arc<Names>);

/// What an [`OperationSlot`] holds: one allocation per request for all three.
#[derive(Debug, Default)]
struct Names {
    operation: OnceLock<&'static str>,
    route: OnceLock<&'static str>,
    grpc: OnceLock<GrpcOutcome>,
}

impl OperationSlot {
    pub(super) fn set(&self, name: &'static str) {
        let _ = self.0.operation.set(name);
    }

    pub(super) fn set_route(&self, route: &'static str) {
        let _ = self.0.route.set(route);
    }

    /// Notes the outcome of a gRPC response, read by the guard from the status
    /// it already parsed, so this layer does not parse it again.
    pub(super) fn set_grpc_outcome(&self, outcome: GrpcOutcome) {
        let _ = self.0.grpc.set(outcome);
    }

    fn operation(&self) -> Option<&'static str> {
        self.0.operation.get().copied()
    }

    fn route(&self) -> Option<&'static str> {
        self.0.route.get().copied()
    }

    fn grpc_outcome(&self) -> Option<GrpcOutcome> {
        self.0.grpc.get().cloned()
    }
}

/// Shared by every request: cloned per request, so behind one `Arc`.
#[derive(Debug, Clone)]
pub(super) struct ObserveLayer(Arc<Settings>);

#[derive(Debug)]
struct Settings {
    transport: Transport,
    options: Middleware,
    metrics: Metrics,
    /// The transport's in-flight gauge, when metrics are on.
    in_flight: Option<InFlightGauge>,
}

impl ObserveLayer {
    pub(super) fn new(transport: Transport, options: &Middleware, metrics: &Metrics) -> Self {
        Self(Arc::new(Settings {
            transport,
            options: options.clone(),
            metrics: metrics.clone(),
            in_flight: options.metrics.then(|| metrics.in_flight(transport.name())),
        }))
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Observe<S> {
    inner: S,
    layer: ObserveLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let settings = self.layer.0.clone();
        let (transport, options) = (settings.transport, &settings.options);

        let request_id = options.request_id.then(|| request_id(&mut request));
        // Without a collector the ids are made here; with one, by the
        // OpenTelemetry layer once the span exists (`continue_trace`).
        let exported = options.tracing && !trace_context::is_local();
        let trace = (options.tracing && !exported)
            .then(|| TraceContext::continue_or_start(request.headers()));
        let ids = trace.as_ref().map(TraceContext::text);
        // For the access line: written once here rather than by each log format.
        let peer = peer(&request).filter(|_| options.access_log).map(peer_text);
        let slot = OperationSlot::default();
        request.extensions_mut().insert(slot.clone());
        // gRPC names its operation in the path (kept only if a method answers
        // it, see `GrpcOutcome::unserved`); HTTP routes fill the slot.
        let grpc_operation =
            (transport == Transport::Grpc).then(|| request.uri().path().to_owned());

        // Span names follow the OpenTelemetry conventions: the gRPC method, or
        // `GET /route/{param}`; the proto operation is recorded once known. A gRPC
        // span is named on the OpenTelemetry span only, never in a field the log
        // layers print, since a path no method serves is the client's invention.
        // An HTTP route axum did not match (the transcoding routes match their
        // templates themselves) is named when the response is back, so the log
        // field and the exported span agree.
        let span_name = (transport == Transport::Http)
            .then(|| http_span_name(&request))
            .flatten();
        let span = tracing::info_span!(
            "request",
            otel.name = span_name.as_deref(),
            otel.kind = "server",
            transport = transport.name(),
            request_id = request_id.as_ref().map(|(id, _)| id.as_str()),
            trace_id = ids.as_ref().map(IdText::trace_id),
            span_id = ids.as_ref().map(IdText::span_id),
        );
        let grpc_span_name = grpc_operation.as_ref().filter(|_| exported).map(|path| {
            if request.extensions().get::<MatchedPath>().is_some() {
                path.clone()
            } else {
                UNMATCHED.to_owned()
            }
        });
        // The id moves into the context once the span has copied it.
        let (request_id, echoed_id) = request_id.unzip();
        let mut context = RequestContext::from_headers(request_id, request.headers());
        if let Some(trace) = trace {
            context = context.in_trace(trace, request.headers());
        }
        if exported {
            continue_trace(&span, &request);
        }
        if let Some(name) = &grpc_span_name {
            span.context().span().update_name(name.clone());
        }
        let unrouted_method = (transport == Transport::Http
            && request.extensions().get::<MatchedPath>().is_none())
        .then(|| request.method().clone());
        let in_flight = settings.in_flight.as_ref().map(InFlightGauge::start);

        // Called here rather than moved into the future, so the inner service
        // is not cloned (a clone of an axum route clones every box inside it).
        let handled = context
            .scope(self.inner.call(request))
            .instrument(span.clone());
        Observed {
            handled,
            finish: Some(Finish {
                started,
                settings,
                in_flight,
                slot,
                grpc_operation,
                grpc_span_name,
                unrouted_method,
                exported,
                peer,
                echoed_id,
                span,
            }),
        }
    }
}

pin_project! {
    /// The future of [`Observe`]: the request's handling, then its access line,
    /// metrics and span. Written out, not a boxed `async` block, which kept the
    /// future it awaits twice (docs/bench.md, "Eighth round").
    pub(super) struct Observed<F> {
        #[pin]
        handled: Instrumented<TaskLocalFuture<RequestContext, F>>,
        finish: Option<Finish>,
    }
}

impl<F, B, E> Future for Observed<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let handled = ready!(this.handled.poll(cx));
        // `finish` is taken once; a future is not polled again once it is ready.
        Poll::Ready(match this.finish.take() {
            Some(finish) => handled.map(|response| finish.finish(response)),
            None => handled,
        })
    }
}

/// What [`Observe`] knows of a request before its handling, to log, count and
/// name it once the response is back.
pub(super) struct Finish {
    started: Instant,
    settings: Arc<Settings>,
    in_flight: Option<InFlight>,
    slot: OperationSlot,
    grpc_operation: Option<String>,
    grpc_span_name: Option<String>,
    unrouted_method: Option<Method>,
    exported: bool,
    peer: Option<String>,
    echoed_id: Option<HeaderValue>,
    span: tracing::Span,
}

impl Finish {
    fn finish<B>(self, mut response: Response<B>) -> Response<B> {
        drop(self.in_flight);
        let elapsed = self.started.elapsed();
        let (transport, options) = (self.settings.transport, &self.settings.options);
        // A gRPC response's status, as the guard noted it (parsed here only
        // when the guard did not finish: a refusal, a panic).
        let grpc = self.grpc_operation.as_ref().map(|_| {
            self.slot.grpc_outcome().unwrap_or_else(|| {
                GrpcOutcome::of(Status::from_header_map(response.headers()).as_ref())
            })
        });
        let operation: Label = match self.grpc_operation {
            Some(_) if grpc.as_ref().is_some_and(|grpc| grpc.unserved) => UNMATCHED.into(),
            Some(path) => path.into(),
            None => self.slot.operation().unwrap_or(UNMATCHED).into(),
        };
        if let Some(method) = self.unrouted_method {
            // The field for the log lines; the OpenTelemetry span, started
            // by `continue_trace`, takes a new name only through its own API.
            let name = format!("{method} {}", self.slot.route().unwrap_or(UNMATCHED));
            self.span.record("otel.name", name.as_str());
            if self.exported {
                self.span.context().span().update_name(name);
            }
        }
        if operation == UNMATCHED && self.grpc_span_name.is_some_and(|name| name != UNMATCHED) {
            // A known service, an unknown method: the span must not keep it.
            self.span.context().span().update_name(UNMATCHED);
        }
        let (code, reason) = match grpc {
            Some(grpc) => (grpc.code, grpc.reason),
            None => http_outcome(&response),
        };
        if self.exported {
            // An OpenTelemetry attribute only: recording a tracing field would
            // make every log layer re-format the span's fields.
            self.span.set_attribute("operation", operation.to_string());
        }
        if options.metrics {
            self.settings.metrics.request_finished(
                transport.name(),
                &operation,
                code,
                &reason,
                elapsed,
            );
        }
        if options.access_log {
            self.span.in_scope(|| {
                tracing::info!(
                    operation = &*operation,
                    code,
                    reason = &*reason,
                    latency_ms = crate::telemetry::latency_ms(elapsed),
                    peer = self.peer.as_deref().map(tracing::field::display),
                    "access"
                );
            });
        }
        if let Some(mut value) = self.echoed_id {
            // Unique per response: HPACK must not index it, or every HTTP/2
            // response walks the earlier ids the table holds (~3.5k Ir).
            value.set_sensitive(true);
            response
                .headers_mut()
                .insert(REQUEST_ID_NAME.clone(), value);
        }
        response
    }
}

/// The operation of a request no route or gRPC method serves: client-chosen paths
/// must not become label values or log fields, one per path.
const UNMATCHED: &str = "unmatched";

/// What the access line and the metrics say of a gRPC response.
#[derive(Debug, Clone)]
pub(super) struct GrpcOutcome {
    /// The gRPC code mapped to its HTTP equivalent, as Kratos does.
    code: u16,
    /// The error reason: the `ErrorInfo` reason, else the code's name; empty on OK.
    reason: Label,
    /// Whether this is tonic's answer to a gRPC path no service method serves:
    /// UNIMPLEMENTED with no message (a handler's own UNIMPLEMENTED says why).
    unserved: bool,
}

impl GrpcOutcome {
    /// The outcome of a response whose headers carry `status`. A failed unary
    /// call is "trailers-only": its status is in the headers; `None` (the status
    /// follows in the trailers) or OK is a success.
    pub(super) fn of(status: Option<&Status>) -> Self {
        match status {
            Some(status) if status.code() != tonic::Code::Ok => Self {
                code: http_status(status.code()).as_u16(),
                reason: status.get_error_details().error_info().map_or_else(
                    || code_name(status.code()).into(),
                    |info| info.reason.clone().into(),
                ),
                unserved: status.code() == tonic::Code::Unimplemented
                    && status.message().is_empty(),
            },
            _ => Self {
                code: 200,
                reason: Label::Borrowed(""),
                unserved: false,
            },
        }
    }
}

/// `GET /helloworld/{name}`: the method and the route template axum matched, never
/// the raw path (which would make one span name per URL).
fn http_span_name<B>(request: &Request<B>) -> Option<String> {
    let route = request.extensions().get::<MatchedPath>()?.as_str();
    let method = request.method().as_str();
    let mut name = String::with_capacity(method.len() + 1 + route.len());
    name.push_str(method);
    name.push(' ');
    name.push_str(route);
    Some(name)
}

/// Makes `span` a child of the caller's `traceparent`, if any, and records the
/// trace and span ids on it so every log line of the request carries them.
fn continue_trace<B>(span: &tracing::Span, request: &Request<B>) {
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    let context = span.context();
    let span_context = context.span().span_context().clone();
    if span_context.is_valid() {
        record_ids(
            span,
            &span_context.trace_id().to_string(),
            &span_context.span_id().to_string(),
        );
    }
}

/// Records both ids in one go: each record makes every log layer re-format the
/// span's fields (the JSON layers parse and re-serialise them), so two records
/// cost twice.
fn record_ids(span: &tracing::Span, trace_id: &str, span_id: &str) {
    let Some(fields) = span.metadata().map(|metadata| metadata.fields()) else {
        return;
    };
    let (Some(trace_field), Some(span_field)) = (fields.field("trace_id"), fields.field("span_id"))
    else {
        return;
    };
    let values: [(&tracing::field::Field, Option<&dyn tracing::Value>); 2] = [
        (&trace_field, Some(&trace_id)),
        (&span_field, Some(&span_id)),
    ];
    span.record_all(&fields.value_set(&values));
}

/// The caller's `x-request-id` when it is a sane token, else a new UUID (put
/// in the request's headers): as text, and as the header value to echo.
fn request_id<B>(request: &mut Request<B>) -> (String, HeaderValue) {
    if let Some(value) = request.headers().get(&REQUEST_ID_NAME)
        && let Ok(id) = value.to_str()
        && !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_graphic())
    {
        return (id.to_owned(), value.clone());
    }
    let random = u128::from(random::next()) << 64 | u128::from(random::next());
    let uuid = uuid::Builder::from_random_bytes(random.to_ne_bytes()).into_uuid();
    let id = uuid
        .hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned();
    let value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static(""));
    request
        .headers_mut()
        .insert(REQUEST_ID_NAME.clone(), value.clone());
    (id, value)
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

/// `peer` as `{peer}` writes it; IPv4 without `core::fmt`, which spent more on
/// this field than on the rest of the access line.
fn peer_text(peer: SocketAddr) -> String {
    let SocketAddr::V4(peer) = peer else {
        return peer.to_string();
    };
    let mut digits = itoa::Buffer::new();
    let mut text = String::with_capacity(21);
    for (index, octet) in peer.ip().octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        text.push_str(digits.format(octet));
    }
    text.push(':');
    text.push_str(digits.format(peer.port()));
    text
}

/// The status code and the error reason of an HTTP response.
fn http_outcome<B>(response: &Response<B>) -> (u16, Label) {
    let reason = response
        .extensions()
        .get::<ErrorReason>()
        .map_or(Label::Borrowed(""), |reason| reason.0.clone().into());
    (response.status().as_u16(), reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_reads_as_display_writes_it() {
        for peer in [
            "127.0.0.1:45520",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.1.20.3:8000",
            "[::1]:9000",
            "[2001:db8::8a2e:370:7334]:443",
            "[::ffff:192.0.2.1]:80",
        ] {
            let peer: SocketAddr = peer.parse().expect("an address");
            assert_eq!(peer_text(peer), peer.to_string());
        }
    }
}
