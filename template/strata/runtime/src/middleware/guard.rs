//! The innermost layer: refuses work beyond the concurrency and rate limits, drops
//! a request that outlives its timeout (408 when it was still waiting for its
//! body, 504 otherwise), and gives every refusal, including those
//! axum makes itself (404, 405, 413, a rejected body), the standard error body.

use std::future::{Future, Ready};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::response::IntoResponse;
use http::{HeaderName, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::futures::TaskLocalFuture;
use tokio::time::Timeout;
use tonic::Status;
use tower::{Layer, Service};

use super::observe::{GrpcOutcome, OperationSlot};
use super::{Transport, caller_codes, context, upload};
use crate::config;
use crate::error::{Error, ErrorReason, http_error, render};

/// Reason of a request refused by the concurrency or rate limit.
const RATELIMIT: &str = "RATELIMIT";

/// The caller's deadline header. A `HeaderName` looks up without the parse
/// and validation a `&str` name goes through on every call.
static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

#[derive(Debug, Clone)]
pub(super) struct GuardLayer {
    transport: Transport,
    timeout: Duration,
    concurrency: Option<Arc<Semaphore>>,
    rate: Option<Arc<RateLimit>>,
}

impl GuardLayer {
    pub(super) fn new(
        transport: Transport,
        middleware: &config::Middleware,
        timeout: Duration,
    ) -> Self {
        Self {
            transport,
            timeout,
            concurrency: (middleware.concurrency_limit > 0)
                .then(|| Arc::new(Semaphore::new(middleware.concurrency_limit))),
            rate: (middleware.rate_limit_per_second > 0)
                .then(|| Arc::new(RateLimit::new(middleware.rate_limit_per_second))),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Guard<S> {
    inner: S,
    layer: GuardLayer,
}

impl<S> Service<Request<Body>> for Guard<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Guarded<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let GuardLayer {
            transport,
            timeout,
            concurrency,
            rate,
        } = self.layer.clone();
        let refuse = |why: &str| {
            let refused = render(
                transport,
                Error::new(429, RATELIMIT, why)
                    .with_domain("strata")
                    .to_status(),
            );
            Guarded::Refused {
                answer: std::future::ready(Ok(refused)),
            }
        };
        let permit = match concurrency.map(Semaphore::try_acquire_owned) {
            Some(Err(_)) => return refuse("too many requests in progress"),
            Some(Ok(permit)) => Some(permit),
            None => None,
        };
        if rate.is_some_and(|rate| !rate.try_acquire()) {
            return refuse("request rate limit exceeded");
        }

        // tonic's server honoured a caller's `grpc-timeout`; the listener serves
        // gRPC through hyper now, so the guard does.
        let timeout = match transport {
            Transport::Grpc => grpc_timeout(request.headers()).map_or(timeout, |t| t.min(timeout)),
            Transport::Http => timeout,
        };
        let http1 = request.version() < http::Version::HTTP_2;
        let (watch, request) = Watch::around(transport, request);
        // Where observe reads the gRPC status this layer parses anyway.
        let slot = match transport {
            Transport::Grpc => request.extensions().get::<OperationSlot>().cloned(),
            Transport::Http => None,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        // Called here rather than moved into the future, so the inner service
        // is not cloned (a clone of an axum route clones every box inside it).
        let handled = context::with_deadline(deadline.into_std(), self.inner.call(request));
        Guarded::Handling {
            handled: tokio::time::timeout_at(deadline, handled),
            finish: Finish {
                transport,
                timeout,
                http1,
                watch,
                slot,
                permit,
            },
        }
    }
}

pin_project! {
    /// The future of [`Guard`]. Written out, not an `async` block: a block keeps
    /// the future it awaits twice (as captured and as awaited), and was boxed;
    /// here the handler's future is held once, inline (docs/bench.md, "Eighth
    /// round").
    #[project = GuardedProj]
    pub(super) enum Guarded<F>
    where
        F: Future,
    {
        /// The handler under the deadline; what to do with its response after.
        Handling {
            #[pin]
            handled: Timeout<TaskLocalFuture<Instant, F>>,
            finish: Finish,
        },
        /// An HTTP error response whose body becomes the standard error body.
        Rewriting {
            rewrite: Pin<Box<dyn Future<Output = Response<Body>> + Send>>,
        },
        /// Refused by a limit before the handler was called.
        Refused {
            answer: Ready<F::Output>,
        },
        /// Answered: the handler's future is dropped (cancelled, after a timeout).
        Done,
    }
}

/// What the guard does with a response once the handler is done or timed out.
pub(super) struct Finish {
    transport: Transport,
    timeout: Duration,
    http1: bool,
    watch: Watch,
    slot: Option<OperationSlot>,
    permit: Option<OwnedSemaphorePermit>,
}

impl<F, E> Future for Guarded<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.as_mut().project() {
            GuardedProj::Handling { handled, finish } => {
                let response = match ready!(handled.poll(cx)) {
                    Ok(Ok(response)) => response,
                    Ok(Err(err)) => return Poll::Ready(Err(err)),
                    Err(_) if finish.watch.stalled_upload() => {
                        stalled_upload(finish.timeout, finish.http1)
                    }
                    Err(_) => render(
                        finish.transport,
                        Status::deadline_exceeded(format!(
                            "no response within {:?}",
                            finish.timeout
                        )),
                    ),
                };
                finish.permit = None;
                finish.answer(response)
            }
            GuardedProj::Rewriting { rewrite } => return rewrite.as_mut().poll(cx).map(Ok),
            GuardedProj::Refused { answer } => return Pin::new(answer).poll(cx),
            GuardedProj::Done => panic!("a guarded request's future polled after it completed"),
        };
        // Drops the handler's future: after a timeout, that cancels it.
        match response {
            Answer::Ready(response) => {
                self.set(Guarded::Done);
                Poll::Ready(Ok(response))
            }
            Answer::Rewrite(response) => {
                self.set(Guarded::Rewriting {
                    rewrite: Box::pin(standard_error_body(response)),
                });
                self.poll(cx)
            }
        }
    }
}

/// A response as the guard hands it on, or one whose body it must rewrite first.
enum Answer {
    Ready(Response<Body>),
    Rewrite(Response<Body>),
}

impl Finish {
    fn answer(&self, response: Response<Body>) -> Answer {
        match &self.watch {
            Watch::Upload(_) if needs_standard_body(&response) => Answer::Rewrite(response),
            Watch::Upload(_) => Answer::Ready(response),
            Watch::Body(body) => {
                let (response, status) = caller_codes::apply(response, body);
                if let Some(slot) = &self.slot {
                    slot.set_grpc_outcome(GrpcOutcome::of(status.as_ref()));
                }
                Answer::Ready(response)
            }
        }
    }
}

/// What the guard watches of a request's body: a gRPC body's read failing, an
/// HTTP upload stalling. One of them, so a request allocates one; an HTTP
/// request that has no body (most GETs) cannot stall and allocates none.
enum Watch {
    Body(caller_codes::BodyWatch),
    Upload(Option<upload::UploadWatch>),
}

impl Watch {
    /// `request` with its body watched as its `transport` needs.
    fn around(transport: Transport, request: Request<Body>) -> (Self, Request<Body>) {
        match transport {
            Transport::Grpc => {
                let body = caller_codes::BodyWatch::default();
                let request = body.watch(request);
                (Self::Body(body), request)
            }
            Transport::Http if request.body().is_end_stream() => (Self::Upload(None), request),
            Transport::Http => {
                let upload = upload::UploadWatch::default();
                let request = upload.watch(request);
                (Self::Upload(Some(upload)), request)
            }
        }
    }

    fn stalled_upload(&self) -> bool {
        matches!(self, Self::Upload(Some(upload)) if upload.stalled())
    }
}

/// The caller's deadline from `grpc-timeout` (up to 8 digits and a unit, e.g.
/// `100m`), or `None` when absent or malformed.
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(&GRPC_TIMEOUT)?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// 408 for a request whose body had not arrived when its time ran out; an
/// HTTP/1 connection is closed, as the rest of the body may still come.
fn stalled_upload(timeout: Duration, http1: bool) -> Response<Body> {
    let code = StatusCode::REQUEST_TIMEOUT;
    let message = format!("the request body did not arrive within {timeout:?}");
    let mut response = Error::new(code.as_u16(), reason_of(code), message)
        .with_domain("strata")
        .into_response();
    if http1 {
        response
            .headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    response
}

/// Whether `response` is an HTTP error with a non-JSON body (axum's own 404,
/// 405, 413 or extractor rejections). JSON error bodies (HttpError, /readyz)
/// are already what clients expect.
fn needs_standard_body(response: &Response<Body>) -> bool {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
    response.status().as_u16() >= 400
        && !is_json
        && response.extensions().get::<ErrorReason>().is_none()
}

/// `response` (see [`needs_standard_body`]) rewritten with the standard JSON
/// error body; its text becomes the message.
async fn standard_error_body(response: Response<Body>) -> Response<Body> {
    let code = response.status();
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let message = match std::str::from_utf8(&text) {
        Ok(text) if !text.trim().is_empty() => text.trim().to_owned(),
        _ => code.canonical_reason().unwrap_or("error").to_owned(),
    };
    let rendered = http_error(code, reason_of(code), message, Default::default());
    let (rendered_parts, rendered_body) = rendered.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &rendered_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    parts.extensions.extend(rendered_parts.extensions);
    Response::from_parts(parts, rendered_body)
}

/// `PAYLOAD_TOO_LARGE` for 413: the canonical phrase as a reason.
pub(crate) fn reason_of(code: StatusCode) -> String {
    code.canonical_reason()
        .unwrap_or("UNKNOWN")
        .to_uppercase()
        .replace([' ', '-'], "_")
}

/// At most `per_second` requests in each one-second window.
#[derive(Debug)]
struct RateLimit {
    per_second: u32,
    window: Mutex<(Instant, u32)>,
}

impl RateLimit {
    fn new(per_second: u32) -> Self {
        Self {
            per_second,
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    fn try_acquire(&self) -> bool {
        let Ok(mut window) = self.window.lock() else {
            return true;
        };
        if window.0.elapsed() >= Duration::from_secs(1) {
            *window = (Instant::now(), 0);
        }
        if window.1 < self.per_second {
            window.1 += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert("grpc-timeout", value.parse().expect("header value"));
        grpc_timeout(&headers)
    }

    #[test]
    fn reads_each_grpc_timeout_unit_and_ignores_malformed_ones() {
        assert_eq!(parsed("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parsed("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parsed("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parsed("100m"), Some(Duration::from_millis(100)));
        assert_eq!(parsed("250u"), Some(Duration::from_micros(250)));
        assert_eq!(parsed("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for malformed in ["", "S", "100", "100x", "123456789S", "1.5S", "-1S"] {
            assert_eq!(parsed(malformed), None, "{malformed:?}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
