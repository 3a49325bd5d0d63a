//! Slow tier: a connection with no request open for `server.idle_timeout` is
//! closed on every port (HTTP/2 with GOAWAY, and a gRPC client carries on over a
//! new one), and each listener holds at most `server.max_connections`: one more
//! is closed at once and logged, while the admin listener keeps answering.

use std::net::SocketAddr;
use std::time::Duration;

use strata_tests::{Variant, free_port, grpc, raw_http, start_built};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The HTTP/2 connection preface, then an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// HTTP/2 frame types PING and GOAWAY (RFC 9113 §6.7, §6.8).
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

/// Reads HTTP/2 frames, answering pings as a live client does (a graceful
/// shutdown waits for one), until the connection ends: whether a GOAWAY came.
async fn goaway_then_close(stream: &mut TcpStream) -> bool {
    let mut goaway = false;
    loop {
        let mut header = [0u8; 9];
        if stream.read_exact(&mut header).await.is_err() {
            return goaway;
        }
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; length];
        if stream.read_exact(&mut payload).await.is_err() {
            return goaway;
        }
        goaway |= header[3] == GOAWAY;
        let is_ack = header[4] & 0x1 != 0;
        if header[3] == PING && !is_ack {
            let mut ack = vec![0, 0, 8, PING, 0x1, 0, 0, 0, 0];
            ack.extend_from_slice(&payload);
            if stream.write_all(&ack).await.is_err() {
                return goaway;
            }
        }
    }
}

/// Whether the server closes `stream` (end of stream or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let drained = async {
        let mut buffer = [0u8; 1024];
        while let Ok(read) = stream.read(&mut buffer).await {
            if read == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(within, drained).await.is_ok()
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn closes_connections_idle_for_the_idle_timeout() {
    // Keep-alive and header timeouts far off, so only idleness can close.
    let (service, _scratch) = start_built(
        Variant::SQLITE,
        &[
            ("SERVER__IDLE_TIMEOUT", "1s"),
            ("SERVER__KEEPALIVE_INTERVAL", "60s"),
            ("SERVER__HTTP__HEADER_READ_TIMEOUT", "60s"),
            ("SERVER__GRPC__PREFACE_TIMEOUT", "60s"),
        ],
    );
    let limit = Duration::from_secs(10);

    for (port, addr) in [("gRPC", service.grpc), ("HTTP", service.http)] {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(PREFACE_AND_SETTINGS).await.expect("write");
        let goaway = tokio::time::timeout(limit, goaway_then_close(&mut stream)).await;
        assert_eq!(
            goaway,
            Ok(true),
            "{port}: an idle HTTP/2 connection gets GOAWAY and is closed"
        );
    }

    // An HTTP/1.1 keep-alive connection, idle after its one request.
    let mut stream = TcpStream::connect(service.http).await.expect("connect");
    let request = b"GET /healthz HTTP/1.1\r\nhost: strata-test\r\n\r\n";
    stream.write_all(request).await.expect("write");
    let answered = raw_http::read_response(&mut stream)
        .await
        .expect("response");
    assert_eq!(answered.status, 200);
    assert!(
        closed_within(&mut stream, limit).await,
        "an idle HTTP/1.1 keep-alive connection is closed"
    );

    // A gRPC client whose connection was closed for idleness carries on.
    let channel = grpc::connect(service.grpc).await.expect("channel");
    let first = grpc::say_hello_on(channel.clone(), "before").await;
    assert_eq!(first.ok().as_deref(), Some("Hello before"));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = grpc::say_hello_on(channel, "after").await;
    assert_eq!(again.ok().as_deref(), Some("Hello after"));
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn each_listener_holds_at_most_max_connections() {
    const MAX: usize = 8;
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let (service, _scratch) = start_built(
        Variant::SQLITE,
        &[
            ("SERVER__MAX_CONNECTIONS", "8"),
            ("SERVER__ADMIN_ADDR", &admin.to_string()),
            // Held connections stay open for the whole test.
            ("SERVER__HTTP__HEADER_READ_TIMEOUT", "60s"),
            ("SERVER__GRPC__PREFACE_TIMEOUT", "60s"),
        ],
    );
    // The readiness check above used a connection on each port; let it end.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let healthz = raw_http::request("GET", b"/healthz", &[], b"");

    for (port, addr) in [("HTTP", service.http), ("gRPC", service.grpc)] {
        let mut held = Vec::new();
        for _ in 0..MAX {
            held.push(TcpStream::connect(addr).await.expect("connect"));
        }
        // Accepted and held: none is closed.
        for stream in &mut held {
            assert!(
                !closed_within(stream, Duration::from_millis(100)).await,
                "{port}: a connection under the cap was closed"
            );
        }
        let mut extra = TcpStream::connect(addr).await.expect("connect");
        assert!(
            closed_within(&mut extra, Duration::from_secs(5)).await,
            "{port}: connection {} was not closed",
            MAX + 1
        );

        let probe = raw_http::exchange(admin, &healthz, Duration::from_secs(5)).await;
        assert_eq!(
            probe.map(|reply| reply.status),
            Ok(200),
            "{port} full: /healthz"
        );

        // Once the held connections end, the port serves again.
        drop(held);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let greeting = grpc::say_hello(service.grpc, "after").await;
    assert_eq!(greeting.ok().as_deref(), Some("Hello after"));
    let openapi = raw_http::request("GET", b"/openapi.json", &[], b"");
    let reply = raw_http::exchange(service.http, &openapi, Duration::from_secs(5)).await;
    assert_eq!(reply.map(|reply| reply.status), Ok(200));

    let output = service.output_containing("server.max_connections", Duration::from_secs(5));
    assert!(
        output.contains("server.max_connections"),
        "the refusal is logged:\n{output}"
    );
}
