//! The client HTTP/JSON upstreams are called through: the same path as a gRPC
//! call (see the module above), over reqwest.
//!
//! A request names its path as a template, `/v1/notes/{id}`, filled by
//! [`HttpRequest::param`]: the template, never the filled path, is the
//! operation of the span, the metrics and the access line (`GET
//! /v1/notes/{id}`), so ids cannot multiply the label values. It must be a
//! `&'static str` for that reason: a path built at run time does not compile.

use std::fmt::Display;
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use tonic::Code;
use tracing::Instrument;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::call::{Budget, admit, chain, finished, is_failure};
use super::retry::Failed;
use super::upstreams::Upstream;
use crate::error::code_name;
use crate::middleware::outbound_headers;

/// Where a request points until an attempt aims it at an instance (parsed
/// once: a URL parse costs a few thousand instructions).
static UNAIMED: LazyLock<Url> = LazyLock::new(|| {
    Url::parse("http://upstream.invalid/").unwrap_or_else(|_| unreachable!("a valid URL"))
});

/// What a path parameter keeps as is; everything else is percent-encoded, `/`
/// included, so a value stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A client of one HTTP upstream: `upstreams.http("billing")?`. Cheap to
/// clone; every clone shares the upstream's instances, connections, breaker
/// and retry budget.
///
/// ```ignore
/// let invoice: Invoice = billing
///     .get("/v1/invoices/{id}")
///     .param("id", id)
///     .send()
///     .await?
///     .error_for_status()?
///     .json()
///     .await?;
/// ```
#[derive(Debug, Clone)]
pub struct HttpClient {
    upstream: Arc<Upstream>,
}

impl HttpClient {
    pub(crate) fn new(upstream: Arc<Upstream>) -> Self {
        Self { upstream }
    }

    /// A `method` request to `path`, a template whose `{name}` parts
    /// [`HttpRequest::param`] fills: `"/v1/notes/{id}"`.
    pub fn request(&self, method: Method, path: &'static str) -> HttpRequest {
        HttpRequest {
            upstream: self.upstream.clone(),
            builder: self.upstream.http.request(method.clone(), UNAIMED.clone()),
            method,
            template: path,
            path: path.to_owned(),
            query: Vec::new(),
            invalid: None,
        }
    }

    /// A GET request (retried on failure: GET is idempotent).
    pub fn get(&self, path: &'static str) -> HttpRequest {
        self.request(Method::GET, path)
    }

    /// A POST request (retried only when its connection could not be made).
    pub fn post(&self, path: &'static str) -> HttpRequest {
        self.request(Method::POST, path)
    }

    /// A PUT request (retried on failure: PUT is idempotent).
    pub fn put(&self, path: &'static str) -> HttpRequest {
        self.request(Method::PUT, path)
    }

    /// A PATCH request (retried only when its connection could not be made).
    pub fn patch(&self, path: &'static str) -> HttpRequest {
        self.request(Method::PATCH, path)
    }

    /// A DELETE request (retried on failure: DELETE is idempotent).
    pub fn delete(&self, path: &'static str) -> HttpRequest {
        self.request(Method::DELETE, path)
    }
}

/// One request to an HTTP upstream, built step by step, then [`sent`](Self::send).
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct HttpRequest {
    upstream: Arc<Upstream>,
    builder: reqwest::RequestBuilder,
    method: Method,
    template: &'static str,
    /// The template, its parameters filled as they come.
    path: String,
    query: Vec<(String, String)>,
    /// What is wrong with the request, reported by `send`.
    invalid: Option<String>,
}

impl HttpRequest {
    /// Fills `{name}` in the path with `value`, percent-encoded as one
    /// segment. A value that is empty, `.` or `..` (which would change the
    /// path's shape) is refused when the request is sent, as is a name the
    /// template lacks.
    pub fn param(mut self, name: &str, value: impl Display) -> Self {
        let value = value.to_string();
        let placeholder = format!("{{{name}}}");
        if matches!(value.as_str(), "" | "." | "..") {
            self.refuse(format!("path parameter {name} is {value:?}"));
        } else if !self.path.contains(&placeholder) {
            self.refuse(format!("the path has no {placeholder}"));
        } else {
            let encoded = utf8_percent_encode(&value, SEGMENT).to_string();
            self.path = self.path.replace(&placeholder, &encoded);
        }
        self
    }

    /// Adds `name=value` to the query string (form-urlencoded).
    pub fn query(mut self, name: impl Into<String>, value: impl Display) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds a header (the request id, `x-md-*` and `traceparent` are added
    /// by the client).
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        <HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        HeaderValue: TryFrom<V>,
        <HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.builder = self.builder.header(name, value);
        self
    }

    /// `value` as the JSON body, with `content-type: application/json`.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.builder = self.builder.json(value);
        self
    }

    /// The body as is. A streamed body cannot be sent twice: its request gets
    /// one attempt.
    pub fn body(mut self, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.body(body);
        self
    }

    fn refuse(&mut self, problem: String) {
        self.invalid.get_or_insert(problem);
    }

    /// Sends the request (see the module above for what it goes through) and
    /// returns the response once its headers are in, whatever its status:
    /// `error_for_status()` turns a 4xx or 5xx into an error. The error is
    /// the client's refusal (the breaker's `UPSTREAM_CIRCUIT_OPEN`, a spent
    /// deadline's `UPSTREAM_DEADLINE_SPENT`), a call that failed (503
    /// UNAVAILABLE, 504 DEADLINE_EXCEEDED, naming the instance), or a request
    /// that cannot be built (500 INTERNAL).
    pub async fn send(self) -> Result<reqwest::Response, crate::Error> {
        let Self {
            upstream,
            builder,
            method,
            template,
            path,
            query,
            invalid,
        } = self;
        let (request, target) = invalid
            .map_or_else(|| prepare(builder, &path, &query), Err)
            .map_err(|problem| {
                crate::Error::new(
                    500,
                    "INTERNAL",
                    format!("{method} {template} to {}: {problem}", upstream.name),
                )
            })?;
        let operation = format!("{method} {template}");
        let started = Instant::now();
        let span = tracing::info_span!(
            "client",
            otel.name = %operation,
            otel.kind = "client",
            upstream = %upstream.name,
            instance = Empty,
        );
        span.set_attribute("http.request.method", method.to_string());
        span.set_attribute("url.template", template);
        let marked = is_idempotent(&method) || upstream.retry.covers(&operation);
        let outcome = call(&upstream, request, &target, marked)
            .instrument(span.clone())
            .await;
        let (code, status) = match &outcome {
            Ok(response) => (code_of(response.status()), Some(response.status().as_u16())),
            Err(error) => (crate::error::grpc_code(error.code()), None),
        };
        if let Some(status) = status {
            span.set_attribute("http.response.status_code", i64::from(status));
        }
        finished(&upstream, &operation, started, &span, code, status);
        outcome
    }
}

/// The request, still unaimed, and its path and query string.
fn prepare(
    builder: reqwest::RequestBuilder,
    path: &str,
    query: &[(String, String)],
) -> Result<(reqwest::Request, String), String> {
    if let Some(start) = path.find('{') {
        let rest = &path[start..];
        let end = rest.find('}').map_or(rest.len(), |end| end + 1);
        return Err(format!("path parameter {} not filled", &rest[..end]));
    }
    let request = builder.build().map_err(|err| chain(&err))?;
    let mut target = path.to_owned();
    if !query.is_empty() {
        target.push('?');
        let start = target.len();
        target = form_urlencoded::Serializer::for_suffix(target, start)
            .extend_pairs(query)
            .finish();
    }
    Ok((request, target))
}

/// Deadline, breaker, then attempts on picked instances until one answers, the
/// time runs out or no retry is allowed. `marked`: the request may be sent
/// twice (an idempotent method, or one `retry.methods` names).
async fn call(
    upstream: &Upstream,
    mut request: reqwest::Request,
    target: &str,
    marked: bool,
) -> Result<reqwest::Response, crate::Error> {
    let budget = admit(upstream)?;
    // Inside the client span: the traceparent names it as the parent.
    request.headers_mut().extend(outbound_headers());
    upstream.retry.deposit();
    let mut next = Some(request);
    let mut attempt = 1;
    loop {
        let Some(mut request) = next.take() else {
            return Err(crate::Error::new(
                500,
                "INTERNAL",
                "a request's body was sent twice",
            ));
        };
        // A streamed body cannot be copied: its request has one attempt.
        next = request.try_clone();
        *request.timeout_mut() = Some(budget.deadline.saturating_duration_since(Instant::now()));
        let (result, sent) = attempt_once(upstream, request, target, budget).await;
        let code = match &result {
            Ok(response) => code_of(response.status()),
            Err(error) => crate::error::grpc_code(error.code()),
        };
        upstream.throttle.record(Instant::now(), !is_failure(code));
        let failed = if sent {
            Failed::Sent { code, marked }
        } else {
            Failed::Unsent
        };
        if code != Code::Ok && next.is_some() && upstream.retry.again(attempt, failed) {
            let wait = upstream.retry.backoff(attempt);
            if Instant::now() + wait < budget.deadline {
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
    mut request: reqwest::Request,
    target: &str,
    budget: Budget,
) -> (Result<reqwest::Response, crate::Error>, bool) {
    let unavailable = |message: String| crate::Error::new(503, "UNAVAILABLE", message);
    let Some(pick) = upstream.balancer.pick() else {
        let message = format!(
            "upstream {} has no instance ({} resolved to none)",
            upstream.name,
            upstream.settings.endpoints.join(", ")
        );
        return (Err(unavailable(message)), true);
    };
    let address = pick.instance.address.as_str();
    tracing::Span::current().record("instance", address);
    let aimed = upstream.http_to(address).and_then(|(client, base)| {
        aim(request.url_mut(), &base, target)?;
        Ok(client)
    });
    let client = match aimed {
        Ok(client) => client,
        Err(problem) => {
            pick.finish(false, upstream.settings.ejection);
            return (Err(unavailable(problem)), false);
        }
    };
    let (result, connection_failed, sent) = match client.execute(request).await {
        Ok(response) => (Ok(response), false, true),
        Err(err) if err.is_connect() => {
            let message = format!("upstream {} at {address}: {}", upstream.name, chain(&err));
            (Err(unavailable(message)), true, false)
        }
        Err(err) if err.is_timeout() => {
            let message = format!(
                "upstream {} did not answer within {:?}",
                upstream.name, budget.length
            );
            (
                Err(crate::Error::new(504, "DEADLINE_EXCEEDED", message)),
                false,
                true,
            )
        }
        Err(err) => {
            let message = format!("upstream {} at {address}: {}", upstream.name, chain(&err));
            (Err(unavailable(message)), true, true)
        }
    };
    pick.finish(connection_failed, upstream.settings.ejection);
    (result, sent)
}

/// Points `url` at `target` (path and query) on the instance at `base`, whose
/// path (if any) comes first. One parse of the whole URL, as a bare reqwest
/// call makes: setting the parts one by one parses the host again.
fn aim(url: &mut Url, base: &str, target: &str) -> Result<(), String> {
    let full = [base.trim_end_matches('/'), target].concat();
    *url = Url::parse(&full).map_err(|err| format!("{full:?}: {err}"))?;
    Ok(())
}

/// The methods a request may be repeated with (RFC 9110, 9.2.2): repeating
/// one leaves the server as one request would.
fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::TRACE,
    ]
    .contains(method)
}

/// The gRPC code an HTTP status is counted with (one vocabulary for the
/// `code` label whatever the upstream speaks): any 1xx-3xx is OK; the
/// statuses strata maps from gRPC codes map back (404 NOT_FOUND, 503
/// UNAVAILABLE, ...); 502 is UNAVAILABLE (a proxy could not reach the
/// upstream); any other 4xx is FAILED_PRECONDITION, any other 5xx INTERNAL.
fn code_of(status: StatusCode) -> Code {
    match status.as_u16() {
        100..=399 => Code::Ok,
        502 => Code::Unavailable,
        other => match crate::error::grpc_code(other) {
            Code::Unknown if status.is_client_error() => Code::FailedPrecondition,
            Code::Unknown => Code::Internal,
            code => code,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Mutex;
    use std::time::Duration;

    use http::HeaderMap;

    use super::*;
    use crate::client::{DEADLINE_SPENT, DOMAIN, Upstreams};
    use crate::config;
    use crate::middleware::{RequestContext, TraceContext};

    /// What a stand-in upstream received: method, path and query, headers.
    type Received = Arc<Mutex<Vec<(String, String, HeaderMap)>>>;

    /// An HTTP server answering every request with `status` and `{}`,
    /// recording what it received.
    async fn stand_in(status: u16) -> (SocketAddr, Received) {
        let received = Received::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let record = received.clone();
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let record = record.clone();
            async move {
                let uri = request.uri().to_string();
                record.lock().expect("lock").push((
                    request.method().to_string(),
                    uri,
                    request.headers().clone(),
                ));
                (
                    StatusCode::from_u16(status).expect("status"),
                    axum::Json(serde_json::json!({})),
                )
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        (addr, received)
    }

    /// An address nothing listens on: connecting to it is refused.
    async fn refusing() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("addr")
    }

    /// The upstream `items` over `endpoints`, two attempts per call, the
    /// breaker off.
    async fn items(endpoints: &[SocketAddr]) -> (HttpClient, crate::Metrics) {
        let settings: config::Client = serde_json::from_value(serde_json::json!({
            "endpoints": endpoints.iter().map(|a| format!("http://{a}")).collect::<Vec<_>>(),
            "timeout": "1s",
            "retry": { "max_attempts": 2, "backoff": "1ms", "min_per_second": 100 },
            "breaker": { "enabled": false },
        }))
        .expect("settings");
        let metrics = crate::Metrics::new("0", "test");
        let clients = config::Clients::from([("items".to_owned(), settings)]);
        let upstreams = Upstreams::new(&clients, &metrics).await.expect("upstreams");
        (upstreams.http("items").expect("configured"), metrics)
    }

    fn counted(metrics: &crate::Metrics, operation: &str, code: &str) -> Option<u64> {
        let prefix = format!(
            r#"client_requests_total{{upstream="items",operation="{operation}",code="{code}"}} "#
        );
        let text = metrics.encode();
        let line = text.lines().find(|line| line.starts_with(&prefix))?;
        line[prefix.len()..].parse().ok()
    }

    #[tokio::test]
    async fn fills_the_path_template_and_counts_the_call_under_it() {
        let (addr, received) = stand_in(200).await;
        let (items, metrics) = items(&[addr]).await;

        let response = items
            .get("/v1/items/{id}/parts/{part}")
            .param("id", "a b/c")
            .param("part", 7)
            .query("view", "full & more")
            .send()
            .await
            .expect("answered");

        assert_eq!(response.status(), StatusCode::OK);
        let received = received.lock().expect("lock").clone();
        assert_eq!(received.len(), 1);
        assert_eq!(
            (received[0].0.as_str(), received[0].1.as_str()),
            ("GET", "/v1/items/a%20b%2Fc/parts/7?view=full+%26+more")
        );
        let operation = "GET /v1/items/{id}/parts/{part}";
        assert_eq!(
            counted(&metrics, operation, "OK"),
            Some(1),
            "{}",
            metrics.encode()
        );
    }

    #[tokio::test]
    async fn a_malformed_path_fails_without_a_call() {
        let (addr, received) = stand_in(200).await;
        let (items, metrics) = items(&[addr]).await;

        for (request, problem) in [
            (
                items.get("/v1/items/{id}"),
                "path parameter {id} not filled",
            ),
            (
                items.get("/v1/items/{id}").param("id", ".."),
                "path parameter id is \"..\"",
            ),
            (
                items.get("/v1/items/{id}").param("id", ""),
                "path parameter id is \"\"",
            ),
            (
                items.get("/v1/items").param("id", 1),
                "the path has no {id}",
            ),
        ] {
            let err = request.send().await.expect_err("refused");
            assert_eq!((err.code(), err.reason()), (500, "INTERNAL"));
            assert!(err.message().ends_with(problem), "{}", err.message());
        }
        assert!(received.lock().expect("lock").is_empty(), "no call made");
        assert!(
            !metrics.encode().contains("client_requests_total{"),
            "nothing counted"
        );
    }

    #[tokio::test]
    async fn carries_the_request_context_and_trace_context() {
        let (addr, received) = stand_in(200).await;
        let (items, _) = items(&[addr]).await;
        let mut incoming = HeaderMap::new();
        incoming.insert("x-md-tenant", HeaderValue::from_static("acme"));
        incoming.insert("authorization", HeaderValue::from_static("secret"));
        incoming.insert(
            "traceparent",
            HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
        );
        let trace = TraceContext::continue_or_start(&incoming);
        let context = RequestContext::from_headers(Some("req-9".into()), &incoming)
            .in_trace(trace, &incoming);

        context
            .scope(items.get("/v1/items").send())
            .await
            .expect("answered");

        let headers = received.lock().expect("lock")[0].2.clone();
        assert_eq!(headers["x-request-id"], "req-9");
        assert_eq!(headers["x-md-tenant"], "acme");
        assert!(
            headers.get("authorization").is_none(),
            "only x-md-* travels"
        );
        let traceparent = headers["traceparent"].to_str().expect("ascii");
        assert_eq!(
            traceparent,
            trace.traceparent().to_str().expect("ascii"),
            "the request's span is the call's parent"
        );
        assert!(traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    }

    #[tokio::test]
    async fn any_method_is_retried_on_another_instance_when_a_connection_is_refused() {
        let (addr, received) = stand_in(200).await;
        // The first call that picks the refusing instance ejects it.
        let (items, metrics) = items(&[refusing().await, addr]).await;

        for _ in 0..8 {
            let response = items.post("/v1/items").json(&[1, 2]).send().await;
            assert_eq!(response.expect("answered").status(), StatusCode::OK);
        }

        let received = received.lock().expect("lock");
        assert_eq!(
            received.len(),
            8,
            "each call reached the live instance once"
        );
        assert_eq!(counted(&metrics, "POST /v1/items", "OK"), Some(8));
    }

    #[tokio::test]
    async fn an_idempotent_method_is_retried_on_503_a_post_is_not() {
        let (addr, received) = stand_in(503).await;
        let (items, metrics) = items(&[addr]).await;

        let get = items.get("/v1/items").send().await.expect("answered");
        assert_eq!(get.status(), StatusCode::SERVICE_UNAVAILABLE);
        let post = items.post("/v1/items").send().await.expect("answered");
        assert_eq!(post.status(), StatusCode::SERVICE_UNAVAILABLE);

        let methods: Vec<String> = received
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.0.clone())
            .collect();
        assert_eq!(
            methods,
            ["GET", "GET", "POST"],
            "two attempts of the GET, one of the POST"
        );
        assert_eq!(counted(&metrics, "GET /v1/items", "UNAVAILABLE"), Some(1));
        assert_eq!(counted(&metrics, "POST /v1/items", "UNAVAILABLE"), Some(1));
    }

    #[tokio::test]
    async fn a_spent_deadline_fails_at_once_without_a_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (items, metrics) = items(&[listener.local_addr().expect("addr")]).await;

        let passed = Instant::now() - Duration::from_millis(1);
        let err = crate::middleware::with_deadline(passed, items.get("/v1/items").send())
            .await
            .expect_err("refused");

        assert_eq!(
            (err.code(), err.reason(), err.domain()),
            (504, DEADLINE_SPENT, DOMAIN)
        );
        let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
        assert_eq!(
            counted(&metrics, "GET /v1/items", "DEADLINE_EXCEEDED"),
            Some(1)
        );
    }

    #[tokio::test]
    async fn a_silent_upstream_is_cut_at_the_callers_deadline() {
        // Accepts connections (the kernel does) but never answers.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let (items, metrics) = items(&[silent.local_addr().expect("addr")]).await;

        let deadline = Instant::now() + Duration::from_millis(200);
        let err = crate::middleware::with_deadline(deadline, items.get("/v1/items").send())
            .await
            .expect_err("no answer");

        assert_eq!(
            (err.code(), err.reason()),
            (504, "DEADLINE_EXCEEDED"),
            "{err}"
        );
        assert_eq!(
            counted(&metrics, "GET /v1/items", "DEADLINE_EXCEEDED"),
            Some(1)
        );
    }

    /// A `dns:///` upstream over TLS is checked against its name: the
    /// instance's certificate names `localhost` only (as a Kubernetes
    /// Service's names the Service), not the address the name resolved to.
    #[tokio::test]
    async fn a_dns_upstream_over_tls_is_called_by_its_name() {
        let scratch = std::env::temp_dir().join(format!("strata-dns-tls-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).expect("scratch");
        let write = |name: &str, text: &str| {
            let path = scratch.join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let ca_file = write("ca.crt", &ca.self_signed(&ca_key).expect("CA").pem());
        let issuer = rcgen::Issuer::new(ca, ca_key);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("certificate");
        let tls: config::Tls = serde_json::from_value(serde_json::json!({
            "cert_file": write("server.crt", &cert.pem()),
            "key_file": write("server.key", &key.serialize_pem()),
        }))
        .expect("tls");
        let router = axum::Router::new().fallback(|| async { "by name" });
        let listener = crate::Listener::http("127.0.0.1:0".parse().expect("addr"), router)
            .await
            .expect("bind")
            .tls(&tls)
            .expect("tls");
        let port = listener.local_addr().port();
        let stop = tokio_util::sync::CancellationToken::new();
        tokio::spawn(listener.serve(stop.clone()));
        let settings: config::Client = serde_json::from_value(serde_json::json!({
            "endpoints": [format!("dns:///localhost:{port}")],
            "timeout": "5s",
            "ca_file": ca_file,
            "breaker": { "enabled": false },
        }))
        .expect("settings");
        let metrics = crate::Metrics::new("0", "test");
        let clients = config::Clients::from([("named".to_owned(), settings)]);
        let upstreams = Upstreams::new(&clients, &metrics).await.expect("upstreams");

        let reply = upstreams
            .http("named")
            .expect("configured")
            .get("/hello")
            .send()
            .await;

        stop.cancel();
        let _ = std::fs::remove_dir_all(&scratch);
        let reply = reply.expect("the certificate matches the name");
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.text().await.expect("body"), "by name");
    }

    #[test]
    fn a_base_path_prefixes_the_request_path() {
        let mut url = UNAIMED.clone();
        aim(&mut url, "https://10.0.0.7:8443/api/", "/v1/items?a=1").expect("aimed");
        assert_eq!(url.as_str(), "https://10.0.0.7:8443/api/v1/items?a=1");
        aim(&mut url, "http://billing", "/v1/items").expect("aimed");
        assert_eq!(url.as_str(), "http://billing/v1/items");
    }

    #[test]
    fn statuses_count_as_grpc_codes() {
        let code = |status: u16| code_of(StatusCode::from_u16(status).expect("status"));
        assert_eq!(code(200), Code::Ok);
        assert_eq!(code(204), Code::Ok);
        assert_eq!(code(304), Code::Ok);
        assert_eq!(code(404), Code::NotFound);
        assert_eq!(code(422), Code::FailedPrecondition);
        assert_eq!(code(502), Code::Unavailable);
        assert_eq!(code(503), Code::Unavailable);
        assert_eq!(code(504), Code::DeadlineExceeded);
        assert_eq!(code(507), Code::Internal);
        assert!(!is_failure(code(422)), "the caller's mistake");
        assert!(is_failure(code(502)));
    }

    #[test]
    fn only_idempotent_methods_are_marked_safe_to_repeat() {
        assert!(is_idempotent(&Method::GET));
        assert!(is_idempotent(&Method::PUT));
        assert!(is_idempotent(&Method::DELETE));
        assert!(!is_idempotent(&Method::POST));
        assert!(!is_idempotent(&Method::PATCH));
    }
}
