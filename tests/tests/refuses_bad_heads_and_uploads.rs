//! Slow tier: what a careful server refuses in a request head or body, answered
//! as the client's error. On the HTTP and admin ports an HTTP/1.1 request without
//! `Host`, or with two, is 400; HTTP/2 requests name their authority in
//! `:authority` and are served. Headers over `server.max_header_bytes` are 431
//! with the standard body on HTTP/1.1 and HTTP/2 (a bare 431 from hyper beyond
//! twice the limit), and RESOURCE_EXHAUSTED on gRPC, the connection unharmed. An
//! upload that stops is 408 when the client goes silent and 400 when it
//! half-closes: never the 504 of a slow handler.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::Value;
use strata_tests::raw_http::{RawResponse, exchange, exchange_half_closed, request};
use strata_tests::{Variant, free_port, grpc, start_built};
use tokio::net::TcpStream;
use tonic::codegen::Service;
use tonic::codegen::http::uri::PathAndQuery;

/// `server.http.timeout` for these tests: a stalled upload is answered after it.
const TIMEOUT: &str = "2s";
/// Well over the default `server.max_header_bytes` (64 KiB), within twice it.
const OVER_LIMIT: usize = 70 * 1024;
/// The size of header block hyper accepted before the limit (~400 KB).
const HUGE: usize = 400 * 1024;

/// Writes `bytes` on a new connection, half-closes it when `half_close`, and
/// reads one response, giving up after 30 s.
async fn send(addr: SocketAddr, bytes: &[u8], half_close: bool) -> Result<RawResponse, String> {
    let within = Duration::from_secs(30);
    if half_close {
        exchange_half_closed(addr, bytes, within).await
    } else {
        exchange(addr, bytes, within).await
    }
}

/// Panics unless `response` is `code` with the standard error body and `reason`.
fn assert_standard(response: &RawResponse, code: u16, reason: &str, case: &str) {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or_default();
    assert!(
        response.status == code
            && body["code"] == code
            && body["reason"] == reason
            && body["message"].is_string()
            && body["metadata"].is_object()
            && response.header("x-content-type-options") == Some("nosniff"),
        "{case}: wanted {code} {reason} with the standard body, got {} {:?} {}",
        response.status,
        response.headers,
        response.body_text()
    );
}

/// A head of `size` bytes or so: `size / 4096` headers of 4 KiB.
fn big_headers(size: usize) -> Vec<(String, String)> {
    (0..size / 4096)
        .map(|index| (format!("x-pad-{index}"), "p".repeat(4096 - 16)))
        .collect()
}

fn raw_get(path: &str, headers: &[(String, String)]) -> Vec<u8> {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    request("GET", path.as_bytes(), &headers, b"")
}

/// `GET path` over HTTP/2 (prior knowledge, `:authority` and no `Host`) with
/// `headers`, on tonic's client connection: its status and body, or why it failed.
async fn h2_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(String, String)],
) -> Result<(u16, Value), String> {
    let mut channel = grpc::connect(addr)
        .await
        .map_err(|err| format!("connect: {err}"))?;
    let mut request = tonic::codegen::http::Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(tonic::body::Body::empty())
        .map_err(|err| err.to_string())?;
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .map_err(|err| format!("ready: {err}"))?;
    let response = channel
        .call(request)
        .await
        .map_err(|err| format!("HTTP/2 request: {err}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("HTTP/2 body: {err}"))?
        .to_bytes();
    Ok((status, serde_json::from_slice(&body).unwrap_or_default()))
}

/// Waits (bounded) until `addr` accepts connections.
async fn listening(addr: SocketAddr) {
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{addr} never accepted a connection");
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn refuses_http1_requests_without_exactly_one_host() {
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let (service, _scratch) = start_built(
        Variant::SQLITE,
        &[("SERVER__ADMIN_ADDR", &admin.to_string())],
    );
    listening(admin).await;
    for (port, addr, path) in [
        ("http", service.http, "/helloworld/strata"),
        ("admin", admin, "/healthz"),
    ] {
        let without = format!("GET {path} HTTP/1.1\r\nconnection: close\r\n\r\n");
        let response = send(addr, without.as_bytes(), false).await.expect(port);
        assert_standard(&response, 400, "BAD_REQUEST", &format!("{port}: no Host"));

        let twice =
            format!("GET {path} HTTP/1.1\r\nhost: a\r\nhost: b\r\nconnection: close\r\n\r\n");
        let response = send(addr, twice.as_bytes(), false).await.expect(port);
        assert_standard(&response, 400, "BAD_REQUEST", &format!("{port}: two Hosts"));

        let once = send(addr, &raw_get(path, &[]), false).await.expect(port);
        assert_eq!(once.status, 200, "{port}: one Host: {}", once.body_text());

        let h2 = h2_get(addr, path, &[]).await.map(|(status, _)| status);
        assert_eq!(h2, Ok(200), "{port}: HTTP/2 with :authority only");
    }
    let greeting = grpc::say_hello(service.grpc, "strata").await;
    assert!(
        greeting.is_ok(),
        "gRPC (HTTP/2, no Host) refused: {greeting:?}"
    );
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn refuses_headers_over_the_limit_with_431() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    let path = "/helloworld/strata";

    let under = send(service.http, &raw_get(path, &big_headers(32 * 1024)), false)
        .await
        .expect("32 KiB");
    assert_eq!(
        under.status,
        200,
        "32 KiB of headers: {}",
        under.body_text()
    );

    let over = send(
        service.http,
        &raw_get(path, &big_headers(OVER_LIMIT)),
        false,
    )
    .await
    .expect("70 KiB");
    assert_standard(
        &over,
        431,
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "HTTP/1.1, 70 KiB",
    );

    // Too large to read whole: hyper answers a bare 431 and closes.
    let huge = send(service.http, &raw_get(path, &big_headers(HUGE)), false)
        .await
        .expect("400 KB");
    assert_eq!(huge.status, 431, "HTTP/1.1, 400 KB: {}", huge.body_text());

    // HTTP/2: the limit is advertised in SETTINGS and h2 answers 431 itself.
    let (status, body) = h2_get(service.http, path, &big_headers(OVER_LIMIT))
        .await
        .expect("HTTP/2, 70 KiB");
    assert_eq!(
        (status, &body["code"], &body["reason"]),
        (
            431,
            &Value::from(431),
            &Value::from("REQUEST_HEADER_FIELDS_TOO_LARGE")
        ),
        "HTTP/2, 70 KiB: {body}"
    );
    let h2 = h2_get(service.http, path, &big_headers(32 * 1024)).await;
    assert_eq!(h2.map(|(status, _)| status), Ok(200), "HTTP/2, 32 KiB");

    // gRPC: the same limit; the call fails, the connection keeps serving.
    let channel = grpc::connect(service.grpc).await.expect("connect");
    let refused = say_hello_with_metadata(channel.clone(), OVER_LIMIT).await;
    let status = refused.expect_err("70 KiB of gRPC metadata accepted");
    assert_eq!(
        (
            status.code(),
            status.message().starts_with("request headers take")
        ),
        (tonic::Code::ResourceExhausted, true),
        "gRPC, 70 KiB: {status:?}"
    );
    let greeting = say_hello_with_metadata(channel, 1024).await;
    assert!(greeting.is_ok(), "gRPC after a refusal: {greeting:?}");
}

/// `SayHello` with about `size` bytes of metadata.
async fn say_hello_with_metadata(
    channel: tonic::transport::Channel,
    size: usize,
) -> Result<String, tonic::Status> {
    let mut client = tonic::client::Grpc::new(channel);
    client
        .ready()
        .await
        .map_err(|err| tonic::Status::unavailable(err.to_string()))?;
    let mut call = tonic::Request::new(grpc::HelloRequest {
        name: "strata".into(),
    });
    for (name, value) in big_headers(size.max(4096)) {
        let name: tonic::metadata::MetadataKey<_> = name.parse().expect("key");
        call.metadata_mut()
            .insert(name, value.parse().expect("value"));
    }
    let reply = client
        .unary(
            call,
            PathAndQuery::from_static("/helloworld.v1.Greeter/SayHello"),
            tonic_prost::ProstCodec::<grpc::HelloRequest, grpc::HelloReply>::default(),
        )
        .await?;
    Ok(reply.into_inner().message)
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn answers_a_truncated_upload_as_the_clients_error() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[("SERVER__HTTP__TIMEOUT", TIMEOUT)]);
    let json = [("content-type", "application/json")];
    let lying_length = request(
        "POST",
        b"/v1/notes",
        &[json[0], ("content-length", "100")],
        br#"{"title":"#,
    );
    let stopped_chunks = request(
        "POST",
        b"/v1/notes",
        &[json[0], ("transfer-encoding", "chunked")],
        b"9\r\n{\"title\":\r\n",
    );
    for (case, bytes) in [
        ("Content-Length larger than the body", &lying_length),
        ("chunked body that stops", &stopped_chunks),
    ] {
        let silent = send(service.http, bytes, false).await.expect(case);
        assert_standard(
            &silent,
            408,
            "REQUEST_TIMEOUT",
            &format!("{case}, then silence"),
        );
        assert_eq!(silent.header("connection"), Some("close"), "{case}");

        let half_closed = send(service.http, bytes, true).await.expect(case);
        // The body ends early: the transcoder cannot read it, a bad request.
        let case = format!("{case}, then half-close");
        assert_standard(&half_closed, 400, "INVALID_ARGUMENT", &case);
    }
}
