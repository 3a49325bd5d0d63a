//! The channel generated tonic clients call through: one call's whole path,
//! from the deadline to the instance and back (see the module above).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame};
use tonic::body::Body;
use tonic::{Code, Status};
use tower::{Service, ServiceExt};
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::call::{admit, chain, finished, is_failure};
use super::retry::Failed;
use super::upstreams::Upstream;
use crate::error::code_name;
use crate::middleware::outbound_headers;

/// A channel to one upstream, for any generated tonic client of its services:
/// `GreeterClient::new(channel)`. Cheap to clone; every clone shares the
/// upstream's instances, breaker and retry budget.
#[derive(Debug, Clone)]
pub struct GrpcChannel {
    upstream: Arc<Upstream>,
}

impl GrpcChannel {
    pub(crate) fn new(upstream: Arc<Upstream>) -> Self {
        Self { upstream }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Service<Request<Body>> for GrpcChannel {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is per instance, checked once one is picked for the call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let upstream = self.upstream.clone();
        Box::pin(async move {
            // tonic's client finds the Status in the error and hands it back as is.
            observed(upstream, request)
                .await
                .map_err(|status| Box::new(status) as BoxError)
        })
    }
}

/// The call inside its client span, counted and logged when its status is
/// known: at once for a refusal or a "trailers-only" answer (every failed
/// unary call tonic serves), else when the trailers arrive at the end of the
/// response body.
async fn observed(
    upstream: Arc<Upstream>,
    request: Request<Body>,
) -> Result<Response<Body>, Status> {
    let started = Instant::now();
    let operation = request.uri().path().to_owned();
    let span = tracing::info_span!(
        "client",
        otel.name = %operation,
        otel.kind = "client",
        upstream = %upstream.name,
        instance = Empty,
    );
    let outcome = call(&upstream, &operation, request)
        .instrument(span.clone())
        .await;
    let finish = Finish {
        upstream,
        operation,
        started,
        span,
    };
    match outcome {
        Ok(response) => match status_in(&response) {
            Some(status) => {
                finish.done(status.code());
                Ok(response)
            }
            None => Ok(response.map(|body| {
                Body::new(Trailers {
                    body,
                    finish: Some(finish),
                })
            })),
        },
        Err(status) => {
            finish.done(status.code());
            Err(status)
        }
    }
}

/// What is recorded of a call once its code is known.
struct Finish {
    upstream: Arc<Upstream>,
    operation: String,
    started: Instant,
    span: tracing::Span,
}

impl Finish {
    /// Counts the call, marks its span failed unless OK, logs its access line.
    fn done(self, code: Code) {
        self.span
            .set_attribute("rpc.grpc.status_code", i64::from(code as i32));
        finished(
            &self.upstream,
            &self.operation,
            self.started,
            &self.span,
            code,
            None,
        );
    }
}

/// A response body whose trailers carry the call's status: read as they pass,
/// for the metrics, the span, the access line and the breaker.
struct Trailers {
    body: Body,
    finish: Option<Finish>,
}

impl Trailers {
    fn done(&mut self, code: Code) {
        if let Some(finish) = self.finish.take() {
            finish
                .upstream
                .throttle
                .record(Instant::now(), !is_failure(code));
            finish.done(code);
        }
    }
}

impl HttpBody for Trailers {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        let frame = std::task::ready!(Pin::new(&mut this.body).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let status = Status::from_header_map(trailers);
                    this.done(status.map_or(Code::Unknown, |status| status.code()));
                }
            }
            Some(Err(status)) => this.done(status.code()),
            // No trailers, no status: tonic's client reports the same.
            None => this.done(Code::Internal),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Trailers {
    /// A response dropped before its trailers: the caller gave up on it.
    fn drop(&mut self) {
        if let Some(finish) = self.finish.take() {
            finish.done(Code::Cancelled);
        }
    }
}

/// Deadline, breaker, then attempts on picked instances until one answers, the
/// time runs out or no retry is allowed.
async fn call(
    upstream: &Upstream,
    operation: &str,
    request: Request<Body>,
) -> Result<Response<Body>, Status> {
    let budget = admit(upstream).map_err(|refusal| refusal.to_status())?;
    let deadline = budget.deadline;
    // Inside the client span: the traceparent names it as the parent.
    let (mut parts, body) = request.into_parts();
    parts.headers.extend(outbound_headers());
    let marked = upstream.retry.covers(operation);
    upstream.retry.deposit();
    // A call that may be sent twice keeps its (unary) message to send again;
    // any other call can be sent again only while no attempt has read it.
    let mut attempts = if marked {
        Attempts::Buffered(buffer(body).await?)
    } else {
        Attempts::Unread(Arc::new(Mutex::new(Some(body))))
    };

    let mut attempt = 1;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let Some(body) = attempts.next() else {
            return Err(Status::internal("a call's body was sent twice"));
        };
        let mut request = Request::from_parts(parts.clone(), body);
        request
            .headers_mut()
            .insert("grpc-timeout", grpc_timeout(remaining));
        let (result, sent) = attempt_once(upstream, request, deadline, budget.length).await;
        let code = match &result {
            Ok(response) => status_in(response).map(|status| status.code()),
            Err(status) => Some(status.code()),
        };
        // An answer whose status follows in the trailers reached a handler: it
        // is not retried, and the breaker learns its code from the trailers.
        let Some(code) = code else {
            return result;
        };
        upstream.throttle.record(Instant::now(), !is_failure(code));
        let failed = if sent {
            Failed::Sent { code, marked }
        } else {
            Failed::Unsent
        };
        if code != Code::Ok && attempts.again() && upstream.retry.again(attempt, failed) {
            let wait = upstream.retry.backoff(attempt);
            if Instant::now() + wait < deadline {
                tracing::debug!(attempt, code = code_name(code), sent, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
        }
        return result;
    }
}

/// One attempt on the instance the balancer picks, and whether its request
/// was sent (false when the connection to the instance could not be made:
/// then no handler saw it, and any method may be tried again).
async fn attempt_once(
    upstream: &Upstream,
    request: Request<Body>,
    deadline: Instant,
    budget: Duration,
) -> (Result<Response<Body>, Status>, bool) {
    let Some(pick) = upstream.balancer.pick() else {
        let status = Status::unavailable(format!(
            "upstream {} has no instance ({} resolved to none)",
            upstream.name,
            upstream.settings.endpoints.join(", ")
        ));
        return (Err(status), true);
    };
    tracing::Span::current().record("instance", pick.instance.address.as_str());
    let mut channel = pick.instance.channel.clone();
    let sent = async {
        channel.ready().await?;
        channel.call(request).await
    };
    let (result, connection_failed, unsent) =
        match tokio::time::timeout_at(deadline.into(), sent).await {
            Ok(Ok(response)) => (Ok(response), false, false),
            Ok(Err(err)) => (
                Err(Status::unavailable(format!(
                    "upstream {} at {}: {}",
                    upstream.name,
                    pick.instance.address,
                    chain(&err)
                ))),
                true,
                never_connected(&err) || refused_unprocessed(&err),
            ),
            Err(_) => (
                Err(Status::deadline_exceeded(format!(
                    "upstream {} did not answer within {budget:?}",
                    upstream.name
                ))),
                false,
                false,
            ),
        };
    pick.finish(connection_failed, upstream.settings.ejection);
    (result, !unsent)
}

/// Whether a transport error is the failure to connect (refused, unreachable,
/// timed out, TLS handshake): tonic reports those as a `ConnectError`, before
/// the request is handed to a connection. A connection lost later (reset,
/// GOAWAY) may have delivered the request to a handler.
fn never_connected(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.is::<tonic::ConnectError>() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// Whether the instance said over HTTP/2 that it did not process the
/// request (RFC 9113, 8.7): it reset the stream with REFUSED_STREAM, or went
/// away (a graceful GOAWAY, NO_ERROR) without this stream among those it would
/// finish, which h2 reports to each such stream as the GOAWAY received. No
/// handler saw the request, as when the connection failed.
fn refused_unprocessed(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if let Some(h2) = err.downcast_ref::<h2::Error>()
            && h2.is_remote()
        {
            return match h2.reason() {
                Some(h2::Reason::REFUSED_STREAM) => h2.is_reset(),
                Some(h2::Reason::NO_ERROR) => h2.is_go_away(),
                _ => false,
            };
        }
        cause = err.source();
    }
    false
}

/// The request body of each attempt.
enum Attempts {
    /// The original, taken by the first attempt that reads it: one whose
    /// connection failed never read it, and leaves it to the next.
    Unread(Arc<Mutex<Option<Body>>>),
    /// A copy of the whole message, for a method safe to send twice.
    Buffered(Bytes),
}

impl Attempts {
    fn next(&mut self) -> Option<Body> {
        match self {
            Self::Unread(slot) => {
                slot.lock().ok()?.as_ref()?;
                Some(Body::new(Untouched {
                    slot: slot.clone(),
                    body: None,
                }))
            }
            Self::Buffered(bytes) => Some(Body::new(Full::new(bytes.clone()))),
        }
    }

    /// Whether there is still a body to send: not when an attempt read it.
    fn again(&self) -> bool {
        match self {
            Self::Unread(slot) => slot.lock().is_ok_and(|body| body.is_some()),
            Self::Buffered(_) => true,
        }
    }
}

/// A body left in its slot until the connection asks for its first frame.
struct Untouched {
    slot: Arc<Mutex<Option<Body>>>,
    body: Option<Body>,
}

impl HttpBody for Untouched {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        if this.body.is_none() {
            this.body = this.slot.lock().ok().and_then(|mut slot| slot.take());
        }
        match &mut this.body {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    /// Read without taking the body: an empty one is then never asked for a
    /// frame, and stays for another attempt.
    fn is_end_stream(&self) -> bool {
        match &self.body {
            Some(body) => body.is_end_stream(),
            None => self.slot.lock().map_or(true, |slot| {
                slot.as_ref().is_none_or(|body| body.is_end_stream())
            }),
        }
    }
}

/// The whole request message (a unary call's body is one frame).
async fn buffer(body: Body) -> Result<Bytes, Status> {
    body.collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|err| Status::internal(format!("encoding the request: {err}")))
}

/// The status of a "trailers-only" response (every failed unary call tonic
/// serves); otherwise the status follows in the trailers.
fn status_in(response: &Response<Body>) -> Option<Status> {
    Status::from_header_map(response.headers())
}

/// `grpc-timeout` for `remaining`, in milliseconds (at least 1), as the gRPC
/// spec writes it: up to 8 digits and a unit.
fn grpc_timeout(remaining: Duration) -> HeaderValue {
    let millis = remaining.as_millis().clamp(1, 99_999_999);
    HeaderValue::from_str(&format!("{millis}m")).unwrap_or(HeaderValue::from_static("1m"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::ServiceExt;

    use super::*;
    use crate::client::{DEADLINE_SPENT, DOMAIN, Upstreams};
    use crate::config;

    /// Upstreams with `greeter` at `addr`, retries and breaker as configured.
    async fn upstreams(addr: std::net::SocketAddr) -> (Upstreams, crate::Metrics) {
        let settings: config::Client = serde_json::from_value(serde_json::json!({
            "endpoints": [format!("http://{addr}")],
            "timeout": "1s",
        }))
        .expect("settings");
        let metrics = crate::Metrics::new("0", "test");
        let clients = config::Clients::from([("greeter".to_owned(), settings)]);
        (
            Upstreams::new(&clients, &metrics).await.expect("upstreams"),
            metrics,
        )
    }

    fn say_hello() -> Request<Body> {
        Request::post("/helloworld.v1.Greeter/SayHello")
            .body(Body::empty())
            .expect("request")
    }

    #[tokio::test]
    async fn a_spent_deadline_fails_at_once_without_a_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (upstreams, metrics) = upstreams(listener.local_addr().expect("addr")).await;
        let channel = upstreams.grpc("greeter").expect("configured");

        let passed = Instant::now() - Duration::from_millis(1);
        let err = crate::middleware::with_deadline(passed, channel.oneshot(say_hello()))
            .await
            .expect_err("refused");

        let status = err.downcast::<Status>().expect("a Status");
        assert_eq!(status.code(), Code::DeadlineExceeded);
        let refusal = crate::Error::from_status(&status);
        assert_eq!(
            (refusal.reason(), refusal.domain()),
            (DEADLINE_SPENT, DOMAIN)
        );
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
        let counted = r#"client_requests_total{upstream="greeter",operation="/helloworld.v1.Greeter/SayHello",code="DEADLINE_EXCEEDED"} 1"#;
        assert!(metrics.encode().contains(counted), "{}", metrics.encode());
    }

    #[tokio::test]
    async fn an_unknown_upstream_names_the_configured_ones() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (upstreams, _) = upstreams(listener.local_addr().expect("addr")).await;
        let err = upstreams.grpc("billing").expect_err("not configured");
        assert_eq!(
            err.to_string(),
            "no upstream \"billing\" under clients: in the configuration (configured: greeter)"
        );
    }

    /// A gRPC server (h2c) answering every call 200 with an empty body and
    /// `grpc-status: code` in the trailers, after the headers.
    async fn failing_in_trailers(code: Code) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = hyper::service::service_fn(move |_request| async move {
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", HeaderValue::from(code as i32));
                    let body = http_body_util::Empty::<Bytes>::new()
                        .with_trailers(async move { Some(Ok(trailers)) });
                    Response::builder()
                        .header("content-type", "application/grpc")
                        .body(body)
                });
                let connection = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
                tokio::spawn(connection);
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_status_in_the_trailers_is_counted_with_its_code() {
        let addr = failing_in_trailers(Code::NotFound).await;
        let (upstreams, metrics) = upstreams(addr).await;
        let channel = upstreams.grpc("greeter").expect("configured");

        let response = channel.oneshot(say_hello()).await.expect("answered");
        assert!(status_in(&response).is_none(), "not trailers-only");
        let trailers = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .trailers()
            .cloned()
            .expect("trailers");

        assert_eq!(trailers["grpc-status"], "5");
        let counted = r#"client_requests_total{upstream="greeter",operation="/helloworld.v1.Greeter/SayHello",code="NOT_FOUND"} 1"#;
        assert!(metrics.encode().contains(counted), "{}", metrics.encode());
    }

    /// A hand-written HTTP/2 server: answers the HEADERS frame of each
    /// request with the frames `answer(stream id)` gives, and counts the
    /// requests. (h2's own server would not send what these tests need at the
    /// moment they need it.)
    async fn raw_h2(answer: fn(u32) -> Vec<u8>) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(h2_connection(stream, counted.clone(), answer));
            }
        });
        (addr, requests)
    }

    /// One connection of [`raw_h2`], until the client closes it.
    async fn h2_connection(
        mut stream: tokio::net::TcpStream,
        requests: Arc<AtomicUsize>,
        answer: fn(u32) -> Vec<u8>,
    ) -> std::io::Result<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut preface = [0; 24];
        stream.read_exact(&mut preface).await?;
        stream.write_all(&h2_frame(4, 0, 0, &[])).await?;
        loop {
            let mut header = [0; 9];
            stream.read_exact(&mut header).await?;
            let length = u32::from_be_bytes([0, header[0], header[1], header[2]]);
            let mut payload = vec![0; length as usize];
            stream.read_exact(&mut payload).await?;
            let id = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
            match (header[3], header[4]) {
                // The client's SETTINGS, acknowledged.
                (4, flags) if flags & 1 == 0 => stream.write_all(&h2_frame(4, 1, 0, &[])).await?,
                // HEADERS: a request.
                (1, _) => {
                    requests.fetch_add(1, Ordering::SeqCst);
                    stream.write_all(&answer(id)).await?;
                }
                _ => {}
            }
        }
    }

    /// An HTTP/2 frame: 24-bit length, type, flags, stream id, payload.
    fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut frame = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        frame.extend([kind, flags]);
        frame.extend(stream.to_be_bytes());
        frame.extend(payload);
        frame
    }

    /// RST_STREAM with `code` on the request's stream.
    fn reset(code: u32) -> impl Fn(u32) -> Vec<u8> {
        move |stream| h2_frame(3, 0, stream, &code.to_be_bytes())
    }

    #[tokio::test]
    async fn a_stream_the_server_refused_is_retried_whatever_its_method() {
        // SayHello is not in retry.methods: only a request no handler saw is
        // tried again. REFUSED_STREAM (7) says so.
        let (addr, requests) = raw_h2(|stream| reset(7)(stream)).await;
        let (upstreams, _) = upstreams(addr).await;
        let channel = upstreams.grpc("greeter").expect("configured");

        let err = channel.oneshot(say_hello()).await.expect_err("refused");

        let status = err.downcast::<Status>().expect("a Status");
        assert_eq!(status.code(), Code::Unavailable, "{status}");
        assert_eq!(
            requests.load(Ordering::SeqCst),
            2,
            "tried twice (max_attempts 2)"
        );
    }

    #[tokio::test]
    async fn a_stream_beyond_a_graceful_goaway_is_retried_whatever_its_method() {
        // GOAWAY, last stream 0, NO_ERROR: the server will process no stream
        // of this connection.
        let (addr, requests) = raw_h2(|_| h2_frame(7, 0, 0, &[0; 8])).await;
        let (upstreams, _) = upstreams(addr).await;
        let channel = upstreams.grpc("greeter").expect("configured");

        let err = channel.oneshot(say_hello()).await.expect_err("went away");

        let status = err.downcast::<Status>().expect("a Status");
        assert_eq!(status.code(), Code::Unavailable, "{status}");
        assert_eq!(
            requests.load(Ordering::SeqCst),
            2,
            "tried twice (max_attempts 2)"
        );
    }

    #[tokio::test]
    async fn a_stream_reset_with_an_error_is_not_retried_unless_marked() {
        // INTERNAL_ERROR (2): the handler may have run.
        let (addr, requests) = raw_h2(|stream| reset(2)(stream)).await;
        let (upstreams, _) = upstreams(addr).await;
        let channel = upstreams.grpc("greeter").expect("configured");

        let err = channel.oneshot(say_hello()).await.expect_err("reset");

        let status = err.downcast::<Status>().expect("a Status");
        assert_eq!(status.code(), Code::Unavailable, "{status}");
        assert_eq!(requests.load(Ordering::SeqCst), 1, "not tried again");
    }

    #[test]
    fn grpc_timeout_is_whole_milliseconds_never_zero() {
        assert_eq!(grpc_timeout(Duration::from_millis(100)), "100m");
        assert_eq!(grpc_timeout(Duration::from_micros(99_600)), "99m");
        assert_eq!(grpc_timeout(Duration::ZERO), "1m");
    }
}
