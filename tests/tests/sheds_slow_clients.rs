//! Slow tier: slow and idle HTTP clients cannot take the service down. A client
//! that sends its headers a byte at a time, or nothing at all, is disconnected
//! after `server.http.header_read_timeout`; 500 idle connections do not stop new
//! clients being served on either transport.

use std::time::Duration;

use serde_json::{Value, json};
use strata_tests::{Variant, grpc, start_built};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE_CONNECTIONS: usize = 500;

/// Whether the server has closed `stream`: a read that ends or fails. Waits at
/// most `within`.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(within, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn disconnects_clients_that_send_headers_too_slowly() {
    let (service, _scratch) = start_built(
        Variant::SQLITE,
        &[("SERVER__HTTP__HEADER_READ_TIMEOUT", "1s")],
    );
    // 20 s of trickling at one byte per 100 ms: far longer than the timeout.
    let request = format!(
        "GET /helloworld/slow HTTP/1.1\r\nhost: strata-test\r\nx-padding: {}\r\n\r\n",
        "p".repeat(150)
    );

    let mut trickling = TcpStream::connect(service.http).await.expect("connect");
    let mut sent = 0;
    let mut closed = false;
    for byte in request.as_bytes() {
        if trickling.write_all(&[*byte]).await.is_err()
            || closed_by_server(&mut trickling, Duration::from_millis(100)).await
        {
            closed = true;
            break;
        }
        sent += 1;
    }
    assert!(
        closed && sent < request.len(),
        "a client trickling its headers kept its connection: sent {sent} of {} bytes, closed: {closed}",
        request.len()
    );

    let mut silent = TcpStream::connect(service.http).await.expect("connect");
    assert!(
        closed_by_server(&mut silent, Duration::from_secs(30)).await,
        "a client that sends nothing kept its connection"
    );

    // A keep-alive connection left idle after a request is closed too.
    let mut idle = TcpStream::connect(service.http).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: strata-test\r\n\r\n")
        .await
        .expect("write");
    let response = strata_tests::raw_http::read_response(&mut idle).await;
    assert_eq!(response.map(|response| response.status), Ok(200));
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(30)).await,
        "an idle keep-alive connection was kept"
    );

    let (status, body) = get(service.http, "/helloworld/after").await;
    assert_eq!((status, body), (200, json!({ "message": "Hello after" })));
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn serves_new_clients_while_500_connections_sit_idle() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for index in 0..IDLE_CONNECTIONS {
        let mut stream = TcpStream::connect(service.http)
            .await
            .unwrap_or_else(|err| panic!("idle connection {index}: {err}"));
        // Half say nothing, half start a request and stall.
        if index % 2 == 1 {
            stream
                .write_all(b"GET /helloworld/stalled HTTP/1.1\r\nhost: x\r\n")
                .await
                .expect("write");
        }
        idle.push(stream);
    }

    for attempt in 0..20 {
        let name = format!("new{attempt}");
        let (status, body) = get(service.http, &format!("/helloworld/{name}")).await;
        assert_eq!(
            (status, body),
            (200, json!({ "message": format!("Hello {name}") })),
            "new HTTP client {attempt} with {IDLE_CONNECTIONS} idle connections open"
        );
        let reply = grpc::say_hello(service.grpc, &name)
            .await
            .map_err(|status| status.to_string());
        assert_eq!(
            reply,
            Ok(format!("Hello {name}")),
            "new gRPC client {attempt}"
        );
    }
    let mut still_open = 0;
    for stream in &mut idle {
        if !closed_by_server(stream, Duration::from_millis(1)).await {
            still_open += 1;
        }
    }
    assert_eq!(
        still_open, IDLE_CONNECTIONS,
        "the idle connections were meant to stay open while new clients were served"
    );
}

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{addr}{path}"))
        .await
        .unwrap_or_else(|err| panic!("GET {path}: {err}"));
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}
