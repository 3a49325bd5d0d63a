//! Slow tier: a flood's memory is bounded and given back. 100 connections each
//! open 200 gRPC streams (the per-connection limit) and hold them, alongside a
//! burst of 2,000 SayHello calls: RSS stays under a bound while they last, falls
//! back near its level before the flood once it is over (the service returns the
//! pages glibc kept, every `server.trim_memory_every`), and does so again after a
//! second flood (docs/faults.md).

use std::net::SocketAddr;
use std::time::Duration;

use strata_tests::{Service, Variant, grpc, start_built};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The HTTP/2 connection preface, then an empty SETTINGS frame.
const PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
const CONNECTIONS: usize = 100;
const STREAMS: u32 = 200;
/// The most RSS the flood may take: the limits hold it near 90 MB (debug build).
const PEAK_BOUND_KIB: u64 = 150 * 1024;

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

/// 100 connections holding 200 streams each for 3 s and 2,000 calls at once; the
/// highest RSS seen meanwhile, in KiB.
async fn flood(service: &Service) -> u64 {
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
    let mut peak = 0;
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
    peak
}

/// RSS once the flood's calls have timed out and a trim (every 10 s by default)
/// has returned what they freed.
async fn settled(service: &Service) -> u64 {
    tokio::time::sleep(Duration::from_secs(15)).await;
    service.rss_kib()
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn a_flood_is_bounded_and_its_memory_is_given_back() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    for call in 0..200 {
        let greeting = grpc::say_hello(service.grpc, &format!("warm{call}")).await;
        assert!(greeting.is_ok(), "warm-up: {greeting:?}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = service.rss_kib();
    let first_peak = flood(&service).await;
    let first = settled(&service).await;
    let second_peak = flood(&service).await;
    let second = settled(&service).await;
    eprintln!(
        "RSS before {before} KiB; first flood: peak {first_peak} KiB, settled {first} KiB; \
         second flood: peak {second_peak} KiB, settled {second} KiB"
    );
    let greeting = grpc::say_hello(service.grpc, "after").await;
    assert_eq!(greeting.ok().as_deref(), Some("Hello after"));
    // The stream and concurrency limits bound the flood: without them it took
    // over 330 MB here.
    assert!(
        first_peak < PEAK_BOUND_KIB,
        "RSS peaked at {first_peak} KiB during the flood, from {before} KiB"
    );
    // Once each flood is over, its memory goes back: without the trim RSS stayed
    // at the peak (84 MB settled from 28 MB before).
    let near_before = before + before / 4 + 5 * 1024;
    for (flood, settled) in [("first", first), ("second", second)] {
        assert!(
            settled < near_before,
            "RSS settled at {settled} KiB after the {flood} flood, {before} KiB before it"
        );
    }
}
