//! Calls to other services, as complete as the requests this one serves.
//!
//! [`Upstreams`] holds every upstream of the `clients:` section, by name;
//! `upstreams.grpc("greeter")?` is a channel for the generated tonic client
//! (`GreeterClient::new(channel)`), `upstreams.http("billing")?` a client for
//! an HTTP/JSON upstream ([`HttpClient`]: `.get("/v1/invoices/{id}")
//! .param("id", id).send()`). Each call through either:
//!
//! - gets a client span, child of the current request's span, whose W3C
//!   `traceparent` travels with the call, beside the request's `x-request-id`
//!   and `x-md-*` metadata;
//! - is counted in `client_requests_total` and
//!   `client_request_duration_seconds` (by upstream, operation, code), and logged
//!   at debug level;
//! - gets the smaller of the upstream's `timeout` and what is left of the
//!   current request's deadline, sent as `grpc-timeout` (HTTP has no such
//!   header: the call is cut there); a spent budget fails at
//!   once with DEADLINE_EXCEEDED, without a call;
//! - passes the upstream's circuit breaker (adaptive throttling, [`throttle`]);
//! - goes to one instance chosen by power of two choices over a peak-EWMA load,
//!   instances whose connection failed being left out for a while ([`balance`]);
//! - is retried, with backoff and jitter and within the retry budget, when its
//!   connection could not be made or (gRPC) the instance refused its HTTP/2
//!   stream unprocessed (any method: no handler saw it), or on UNAVAILABLE (HTTP 502,
//!   503) for the methods `retry.methods` marks safe to repeat and HTTP's
//!   idempotent ones;
//! - is counted with its real code, from the response headers or the trailers.
//!
//! The older helpers below ([`grpc_channel`], [`http_client`], [`http_request`])
//! carry the request's context and a timeout only.

mod balance;
mod call;
mod grpc;
mod http;
mod retry;
mod throttle;
mod upstreams;
mod window;

pub use call::{CIRCUIT_OPEN, DEADLINE_SPENT, DOMAIN};
pub use grpc::GrpcChannel;
pub use http::{HttpClient, HttpRequest};
pub use upstreams::{UnknownUpstream, Upstreams};

use std::time::Duration;

use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::middleware::outbound_headers;
// Its draws, for the balancer, the breaker and the backoff jitter.
use crate::random;

/// A gRPC channel whose every call carries the current request's context; use it
/// with any generated client: `GreeterClient::new(channel)`.
pub type OutboundChannel = InterceptedService<Channel, Propagate>;

/// A lazily connecting channel to `endpoint` (`http://host:port`); each call fails
/// with DEADLINE_EXCEEDED after `timeout`.
pub fn grpc_channel(
    endpoint: &str,
    timeout: Duration,
) -> Result<OutboundChannel, tonic::transport::Error> {
    let channel = Endpoint::from_shared(endpoint.to_owned())?
        .timeout(timeout)
        .connect_timeout(timeout)
        .connect_lazy();
    Ok(InterceptedService::new(channel, Propagate::default()))
}

/// An HTTP client for calls to other services; each request fails after `timeout`.
/// Build requests with [`http_request`] so they carry the current context.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    http_client_builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// `reqwest::Client::builder()`, with `https://` working: reqwest is built with
/// rustls but no crypto provider of its own (its default, aws-lc-rs, needs a C
/// build), so the process's default provider is set here, once, to ring, the
/// one the listeners use. Build every reqwest client from this.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_crypto_provider();
    reqwest::Client::builder()
}

/// Makes ring the process's default rustls crypto provider, once; a provider
/// set before (by the service, or a test) stands. `reqwest::Client::new()`
/// panics without one, so [`Upstreams::new`] calls this too: a service that
/// builds its own reqwest clients after `wire` needs nothing more.
pub fn install_crypto_provider() {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `client.request(method, url)` with [`outbound_headers`] already added.
pub fn http_request(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
) -> reqwest::RequestBuilder {
    client.request(method, url).headers(outbound_headers())
}

/// The `authorization` header of the request being handled, to call another
/// service on the caller's behalf: `http_request(..).header(AUTHORIZATION, token)`.
/// `None` outside a request or when it came without one.
pub fn caller_token() -> Option<::http::HeaderValue> {
    crate::middleware::RequestContext::current()?.authorization
}

/// Adds [`outbound_headers`] to every outgoing gRPC call's metadata, and the
/// caller's token when built with [`Propagate::forwarding_token`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Propagate {
    forward_token: bool,
}

impl Propagate {
    /// Also forwards the caller's `authorization` metadata (off by default: a
    /// token meant for this service is not handed to every service it calls).
    pub fn forwarding_token() -> Self {
        Self {
            forward_token: true,
        }
    }
}

impl Interceptor for Propagate {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let mut headers = std::mem::take(request.metadata_mut()).into_headers();
        headers.extend(outbound_headers());
        if let Some(token) = self.forward_token.then(caller_token).flatten() {
            headers.insert(::http::header::AUTHORIZATION, token);
        }
        *request.metadata_mut() = MetadataMap::from_headers(headers);
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use ::http::{HeaderMap, HeaderValue};

    use super::*;
    use crate::middleware::{RequestContext, TraceContext};

    #[tokio::test]
    async fn carries_request_id_metadata_and_trace_context() {
        let mut incoming = HeaderMap::new();
        incoming.insert("x-md-tenant", HeaderValue::from_static("acme"));
        incoming.insert("authorization", HeaderValue::from_static("secret"));
        incoming.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        incoming.insert("tracestate", HeaderValue::from_static("vendor=1"));
        let trace = TraceContext::continue_or_start(&incoming);
        let context = RequestContext::from_headers(Some("req-7".into()), &incoming)
            .in_trace(trace, &incoming);

        let request = context
            .scope(async { Propagate::default().call(tonic::Request::new(())) })
            .await
            .expect("intercepted");

        let metadata = request.metadata();
        assert_eq!(metadata.get("x-request-id").expect("request id"), "req-7");
        assert_eq!(metadata.get("x-md-tenant").expect("x-md-*"), "acme");
        assert!(
            metadata.get("authorization").is_none(),
            "only x-md-* travels"
        );
        let traceparent = metadata.get("traceparent").expect("traceparent");
        let traceparent = traceparent.to_str().expect("ASCII");
        assert_eq!(
            traceparent,
            trace.traceparent().to_str().expect("ASCII"),
            "this span is the parent"
        );
        assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert_eq!(metadata.get("tracestate").expect("tracestate"), "vendor=1");
    }

    #[tokio::test]
    async fn the_callers_token_travels_only_when_asked() {
        let mut incoming = HeaderMap::new();
        incoming.insert("authorization", HeaderValue::from_static("Bearer abc"));
        let context = RequestContext::from_headers(None, &incoming);

        let (kept, forwarded, token) = context
            .scope(async {
                let kept = Propagate::default().call(tonic::Request::new(()));
                let forwarded = Propagate::forwarding_token().call(tonic::Request::new(()));
                (kept, forwarded, caller_token())
            })
            .await;

        let kept = kept.expect("intercepted");
        assert!(kept.metadata().get("authorization").is_none());
        let forwarded = forwarded.expect("intercepted");
        let forwarded = forwarded.metadata().get("authorization");
        assert_eq!(forwarded.expect("forwarded"), "Bearer abc");
        assert_eq!(token.expect("the caller's token"), "Bearer abc");
        assert_eq!(caller_token(), None, "no token outside a request");
    }

    #[tokio::test]
    async fn http_requests_carry_the_request_context() {
        let client = http_client(Duration::from_secs(1)).expect("client");
        let mut incoming = HeaderMap::new();
        incoming.insert("x-md-tenant", HeaderValue::from_static("acme"));
        let context = RequestContext::from_headers(Some("req-8".into()), &incoming);

        let request = context
            .scope(async { http_request(&client, reqwest::Method::GET, "http://127.0.0.1:1/") })
            .await
            .build()
            .expect("request");

        assert_eq!(request.headers()["x-request-id"], "req-8");
        assert_eq!(request.headers()["x-md-tenant"], "acme");
    }

    #[tokio::test]
    async fn an_http_call_to_a_silent_server_times_out() {
        // Accepts connections (the kernel does) but never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/", silent.local_addr().expect("addr"));
        let client = http_client(Duration::from_millis(200)).expect("client");

        let err = http_request(&client, reqwest::Method::GET, &url)
            .send()
            .await
            .expect_err("no answer");

        assert!(err.is_timeout(), "{err}");
    }
}
