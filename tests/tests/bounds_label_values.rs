//! Slow tier: a client cannot choose label values or log fields. 1,000 made-up
//! gRPC method paths (unknown services, unknown methods of a known one) leave the
//! number of `server_requests_total` series where it was: they are all counted
//! as operation `unmatched`, and no made-up path reaches the access log.

use strata_tests::process::read_logs;
use strata_tests::{Service, Variant, grpc, start_built};

const MADE_UP: usize = 1_000;

/// A path nothing serves: half under a real service, half under no service.
fn made_up(i: usize) -> String {
    if i.is_multiple_of(2) {
        format!("/helloworld.v1.Greeter/MadeUp{i}")
    } else {
        format!("/made.up.v{i}.Service/Call")
    }
}

async fn metrics(service: &Service) -> String {
    reqwest::get(format!("http://{}/metrics", service.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

fn request_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|line| line.starts_with("server_requests_total{"))
        .collect()
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn made_up_grpc_methods_add_no_series() {
    let (service, scratch) = start_built(Variant::SQLITE, &[]);
    let mut channel = grpc::connect(service.grpc).await.expect("connect");
    grpc::say_hello_on(channel.clone(), "labels")
        .await
        .expect("SayHello");
    for i in 0..2 {
        let reply = grpc::raw_call(&mut channel, &made_up(i), vec![0; 5])
            .await
            .expect("reply");
        assert_eq!(reply.grpc_status, Some(12), "{}: {reply:?}", made_up(i));
    }
    // The first scrape counts itself only once it has answered.
    metrics(&service).await;
    let before = metrics(&service).await;

    for i in 2..MADE_UP {
        grpc::raw_call(&mut channel, &made_up(i), vec![0; 5])
            .await
            .expect("reply");
    }
    let after = metrics(&service).await;

    assert_eq!(
        request_series(&before).len(),
        request_series(&after).len(),
        "{after}"
    );
    let unmatched = format!(
        r#"server_requests_total{{transport="grpc",operation="unmatched",code="501",reason="UNIMPLEMENTED"}} {MADE_UP}"#
    );
    assert!(
        after.contains(&unmatched),
        "missing {unmatched} in:\n{after}"
    );
    assert!(!after.contains("MadeUp") && !after.contains("made.up"));
    eprintln!(
        "/metrics: {} bytes before, {} bytes after {MADE_UP} made-up methods",
        before.len(),
        after.len()
    );

    let (_, output) = service.terminate();
    let logs = read_logs(&scratch.path().join("logs")) + &output;
    assert!(
        logs.contains(r#""operation":"unmatched""#) || logs.contains("operation=unmatched"),
        "no unmatched access line:\n{logs}"
    );
    assert!(
        !logs.contains("MadeUp") && !logs.contains("made.up"),
        "a made-up path reached the logs:\n{}",
        logs.lines()
            .filter(|line| line.contains("MadeUp") || line.contains("made.up"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The gRPC spec's code for a message over the limit, where tonic says
/// OUT_OF_RANGE: what `configs/config.yaml` promises.
#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn an_oversized_grpc_message_is_resource_exhausted() {
    let (service, _scratch) = start_built(
        Variant::SQLITE,
        &[("SERVER__GRPC__MAX_MESSAGE_BYTES", "1024")],
    );
    let mut channel = grpc::connect(service.grpc).await.expect("connect");
    // Field 1 (name), a 2,000-byte string.
    let mut message = vec![0x0a, 0xd0, 0x0f];
    message.extend([b'x'; 2000]);

    let reply = grpc::raw_call(
        &mut channel,
        "/helloworld.v1.Greeter/SayHello",
        strata_tests::malformed::frame(&message),
    )
    .await
    .expect("reply");

    assert_eq!(reply.grpc_status, Some(8), "{reply:?}");
    // grpc-message is percent-encoded.
    assert!(reply.grpc_message.contains("too%20large"), "{reply:?}");
}
