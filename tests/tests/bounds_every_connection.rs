//! Slow tier: no connection lives forever on either port. A client that connects
//! and says nothing, sends `P` and stops, or sends the HTTP/2 preface and then
//! ignores the server's pings, is disconnected within the configured timeouts; the
//! gRPC port advertises a stream limit; reflection can be switched off.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use strata_tests::{Variant, grpc, start_built};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The HTTP/2 connection preface, then an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

/// Timeouts short enough for a quick test: 1 s for the first bytes, a ping after
/// 1 s of silence that must be answered within 1 s.
const SHORT: &[(&str, &str)] = &[
    ("SERVER__HTTP__HEADER_READ_TIMEOUT", "1s"),
    ("SERVER__GRPC__PREFACE_TIMEOUT", "1s"),
    ("SERVER__KEEPALIVE_INTERVAL", "1s"),
    ("SERVER__KEEPALIVE_TIMEOUT", "1s"),
    ("SERVER__GRPC__MAX_CONCURRENT_STREAMS", "123"),
];

/// Connects, sends `first`, then reads (and discards) until the server closes the
/// connection: how long that took, or `None` if it was still open after `within`.
async fn lifetime(addr: SocketAddr, first: &[u8], within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(first).await.expect("write");
    let drained = async {
        let mut buffer = [0u8; 1024];
        while let Ok(read) = stream.read(&mut buffer).await {
            if read == 0 {
                break;
            }
        }
    };
    tokio::time::timeout(within, drained).await.ok()?;
    Some(started.elapsed())
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn closes_silent_and_half_open_connections_on_both_ports() {
    let (service, _scratch) = start_built(Variant::SQLITE, SHORT);
    let limit = Duration::from_secs(10);
    let cases: [(&str, SocketAddr, &[u8]); 5] = [
        ("gRPC, nothing sent", service.grpc, b""),
        (
            "gRPC, preface then silence",
            service.grpc,
            PREFACE_AND_SETTINGS,
        ),
        ("HTTP, nothing sent", service.http, b""),
        ("HTTP, `P` only", service.http, b"P"),
        (
            "HTTP, preface then silence",
            service.http,
            PREFACE_AND_SETTINGS,
        ),
    ];
    for (case, addr, first) in cases {
        let lived = lifetime(addr, first, limit).await;
        eprintln!("{case}: closed after {lived:?}");
        assert!(lived.is_some(), "{case}: still open after {limit:?}");
    }

    // The service still answers on both ports.
    let greeting = grpc::say_hello(service.grpc, "after").await;
    assert_eq!(greeting.ok().as_deref(), Some("Hello after"));
}

/// Reads HTTP/2 frames until the server's first SETTINGS frame, and returns its
/// `(identifier, value)` pairs.
async fn server_settings(stream: &mut TcpStream) -> Vec<(u16, u32)> {
    loop {
        let mut header = [0u8; 9];
        stream.read_exact(&mut header).await.expect("frame header");
        let length = u32::from_be_bytes([0, header[0], header[1], header[2]]) as usize;
        let mut payload = vec![0u8; length];
        stream
            .read_exact(&mut payload)
            .await
            .expect("frame payload");
        let (kind, flags) = (header[3], header[4]);
        if kind == 0x4 && flags & 0x1 == 0 {
            return payload
                .chunks_exact(6)
                .map(|entry| {
                    (
                        u16::from_be_bytes([entry[0], entry[1]]),
                        u32::from_be_bytes([entry[2], entry[3], entry[4], entry[5]]),
                    )
                })
                .collect();
        }
    }
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn grpc_advertises_its_stream_limit_and_reflection_can_be_switched_off() {
    let mut env = SHORT.to_vec();
    env.push(("SERVER__GRPC__REFLECTION", "false"));
    let (service, _scratch) = start_built(Variant::SQLITE, &env);

    let mut stream = TcpStream::connect(service.grpc).await.expect("connect");
    stream.write_all(PREFACE_AND_SETTINGS).await.expect("write");
    let settings = tokio::time::timeout(Duration::from_secs(5), server_settings(&mut stream))
        .await
        .expect("SETTINGS within 5 s");
    const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    assert!(
        settings.contains(&(MAX_CONCURRENT_STREAMS, 123)),
        "gRPC SETTINGS: {settings:?}"
    );

    let mut channel = grpc::connect(service.grpc).await.expect("channel");
    let reply = grpc::raw_call(
        &mut channel,
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        strata_tests::malformed::frame(&[]),
    )
    .await
    .expect("reflection call");
    const UNIMPLEMENTED: i32 = 12;
    assert_eq!(reply.grpc_status, Some(UNIMPLEMENTED), "{reply:?}");
}
