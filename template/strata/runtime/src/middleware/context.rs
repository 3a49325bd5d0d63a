//! What a request carries into the calls it makes: its id, its `x-md-*` metadata
//! and (through the current span) its trace context.

use std::time::Instant;

use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::Injector;
use tokio::task::futures::TaskLocalFuture;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::REQUEST_ID;
use super::trace_context::{self, TraceContext};

/// The prefix of metadata that travels with a request from service to service.
pub const METADATA_PREFIX: &str = "x-md-";

tokio::task_local! {
    static CURRENT: RequestContext;
    static DEADLINE: Instant;
}

/// Runs `future` (a request's handling) with `deadline` as the time by which its
/// caller wants an answer: what outbound calls made meanwhile may use at most.
///
/// Tokio's future itself, not an `async fn` around it: an `async fn` would keep
/// `future` twice, as its argument and as the future it awaits.
pub(crate) fn with_deadline<F: Future>(
    deadline: Instant,
    future: F,
) -> TaskLocalFuture<Instant, F> {
    DEADLINE.scope(deadline, future)
}

/// When the request being handled on this task must be answered (its
/// `grpc-timeout`, or the server's timeout if sooner); `None` outside a request.
pub fn deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

/// The request being handled, as seen by outbound calls.
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `x-request-id` of the request, if the request id middleware is on.
    pub request_id: Option<String>,
    /// The `x-md-*` headers (or gRPC metadata) the request came with.
    pub metadata: Vec<(HeaderName, HeaderValue)>,
    /// The caller's `authorization` header, marked sensitive: forwarded only by
    /// the outbound helpers that say so ([`crate::client::caller_token`]).
    pub authorization: Option<HeaderValue>,
    /// The request's span in its trace, when the middleware made it (no
    /// collector; with one, outbound calls take it from the current span).
    pub trace: Option<TraceContext>,
    /// The caller's `tracestate` and `baggage`, passed on with `trace`.
    pub trace_extras: Vec<(HeaderName, HeaderValue)>,
}

impl RequestContext {
    /// The context of a request with these headers.
    pub fn from_headers(request_id: Option<String>, headers: &HeaderMap) -> Self {
        let metadata = headers
            .iter()
            .filter(|(name, _)| name.as_str().starts_with(METADATA_PREFIX))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let authorization = headers.get(http::header::AUTHORIZATION).map(|value| {
            let mut value = value.clone();
            value.set_sensitive(true);
            value
        });
        Self {
            request_id,
            metadata,
            authorization,
            trace: None,
            trace_extras: Vec::new(),
        }
    }

    /// This context, in the trace `trace`, passing on the caller's `tracestate`
    /// and `baggage` from `headers`.
    pub(crate) fn in_trace(mut self, trace: TraceContext, headers: &HeaderMap) -> Self {
        self.trace = Some(trace);
        for name in [&TRACESTATE, &BAGGAGE] {
            if let Some(value) = headers.get(name) {
                self.trace_extras.push((name.clone(), value.clone()));
            }
        }
        self
    }

    /// Runs `future` with this as the current request context (awaited like an
    /// `async fn`; see [`with_deadline`] for why it is not one).
    pub fn scope<F: Future>(self, future: F) -> TaskLocalFuture<Self, F> {
        CURRENT.scope(self, future)
    }

    /// The context of the request being handled on this task, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }
}

// `HeaderName`s, not `&str`: looked up without a parse and validation per call.
static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// The headers an outbound call (HTTP or gRPC metadata) should carry: the current
/// request's id and `x-md-*` metadata, and the W3C `traceparent`/`tracestate` of
/// the current span (and the caller's `baggage`).
pub fn outbound_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let local = trace_context::is_local();
    if let Some(context) = RequestContext::current() {
        if let Some(value) = context
            .request_id
            .and_then(|id| HeaderValue::from_str(&id).ok())
        {
            headers.insert(REQUEST_ID, value);
        }
        for (name, value) in context.metadata {
            headers.append(name, value);
        }
        if let Some(trace) = context.trace.filter(|_| local) {
            headers.insert("traceparent", trace.traceparent());
            for (name, value) in context.trace_extras {
                headers.insert(name, value);
            }
        }
    }
    if local {
        return headers;
    }
    let trace_context = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&trace_context, &mut HeaderInjector(&mut headers));
    });
    headers
}

/// Writes propagation fields into a header map.
pub(crate) struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(key), HeaderValue::try_from(value)) {
            self.0.insert(name, value);
        }
    }
}

/// Reads propagation fields from a header map.
pub(crate) struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}
