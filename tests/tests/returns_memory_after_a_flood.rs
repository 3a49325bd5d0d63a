//! Slow tier: memory comes back after a flood. 100 connections each open 200
//! gRPC streams (the per-connection limit) and hold them, alongside a burst of
//! 2,000 SayHello calls; once they are gone, RSS settles within 2x + 20 MB of
//! what it was before.

use std::net::SocketAddr;
use std::time::Duration;

use strata_tests::{Variant, grpc, start_built};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The HTTP/2 connection preface, then an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
const CONNECTIONS: usize = 100;
const STREAMS: u32 = 200;

/// A HEADERS frame opening stream `id` for SayHello, without END_STREAM: the
/// server waits for a message that never comes. HPACK literals, no Huffman.
fn open_stream(id: u32) -> Vec<u8> {
    let mut block = vec![0x83, 0x86]; // :method POST, :scheme http
    let literal = |block: &mut Vec<u8>, prefix: &[u8], value: &[u8]| {
        block.extend_from_slice(prefix);
        block.push(u8::try_from(value.len()).expect("short value"));
        block.extend_from_slice(value);
    };
    literal(&mut block, &[0x04], b"/helloworld.v1.Greeter/SayHello"); // :path
    literal(&mut block, &[0x01], b"flood"); // :authority
    literal(&mut block, &[0x0f, 0x10], b"application/grpc"); // content-type
    literal(&mut block, &[0x00, 0x02, b't', b'e'], b"trailers");
    let length = u32::try_from(block.len())
        .expect("short block")
        .to_be_bytes();
    let mut frame = vec![length[1], length[2], length[3], 0x1, 0x4]; // HEADERS, END_HEADERS
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(&block);
    frame
}

async fn hold_streams(addr: SocketAddr, hold: Duration) {
    let Ok(mut stream) = TcpStream::connect(addr).await else {
        return;
    };
    let mut bytes = PREFACE_AND_SETTINGS.to_vec();
    for stream_id in (0..STREAMS).map(|n| 2 * n + 1) {
        bytes.extend_from_slice(&open_stream(stream_id));
    }
    if stream.write_all(&bytes).await.is_ok() {
        tokio::time::sleep(hold).await;
    }
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn memory_returns_close_to_its_level_before_a_flood() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    for call in 0..200 {
        let greeting = grpc::say_hello(service.grpc, &format!("warm{call}")).await;
        assert!(greeting.is_ok(), "warm-up: {greeting:?}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = service.rss_kib();

    let holders: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(hold_streams(service.grpc, Duration::from_secs(3))))
        .collect();
    let channel = grpc::connect(service.grpc).await.expect("channel");
    let calls: Vec<_> = (0..2_000)
        .map(|call| {
            let channel = channel.clone();
            tokio::spawn(async move { grpc::say_hello_on(channel, &format!("f{call}")).await })
        })
        .collect();
    let mut peak = before;
    for _ in 0..30 {
        peak = peak.max(service.rss_kib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in holders {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    for call in calls {
        let _ = tokio::time::timeout(Duration::from_secs(30), call).await;
    }
    drop(channel);

    // Settled: well past every call's timeout and the freed memory's decay.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let after = service.rss_kib();
    eprintln!("RSS before {before} KiB, peak {peak} KiB, settled {after} KiB");
    let greeting = grpc::say_hello(service.grpc, "after").await;
    assert_eq!(greeting.ok().as_deref(), Some("Hello after"));
    assert!(
        after < 2 * before + 20 * 1024,
        "RSS settled at {after} KiB after the flood, from {before} KiB (peak {peak} KiB)"
    );
}
