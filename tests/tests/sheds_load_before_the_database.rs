//! Slow tier: with the default `server.middleware.concurrency_limit`, a burst of
//! 2,000 concurrent SayHello calls against the one-connection SQLite pool is shed
//! with RESOURCE_EXHAUSTED (reason RATELIMIT) before any call waits out the pool's
//! `acquire_timeout`: no call gets UNAVAILABLE "database is unavailable", and the
//! calls admitted succeed.

use std::time::Duration;

use strata_tests::{Variant, grpc, start_built};
use tonic::Code;

/// Calls in the burst, spread over enough connections that each stays within
/// the gRPC port's 200 concurrent streams.
const CALLS: usize = 2_000;
const CONNECTIONS: usize = 20;

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn sheds_a_burst_with_429_before_the_database_pool_runs_dry() {
    let (service, _scratch) = start_built(Variant::SQLITE, &[]);
    let mut channels = Vec::new();
    for _ in 0..CONNECTIONS {
        channels.push(grpc::connect(service.grpc).await.expect("channel"));
    }
    let calls: Vec<_> = (0..CALLS)
        .map(|call| {
            let channel = channels[call % CONNECTIONS].clone();
            tokio::spawn(async move {
                let name = format!("burst{call}");
                let answer = grpc::say_hello_on(channel, &name).await;
                (name, answer)
            })
        })
        .collect();

    let (mut greeted, mut shed) = (0, 0);
    for call in calls {
        let (name, answer) = tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .expect("every call answered within 60 s")
            .expect("call task");
        match answer {
            Ok(message) => {
                assert_eq!(message, format!("Hello {name}"));
                greeted += 1;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                // The standard error: an ErrorInfo with reason RATELIMIT.
                let details = status.details();
                assert!(
                    details.windows(9).any(|window| window == b"RATELIMIT"),
                    "shed without the standard details: {status:?}"
                );
                shed += 1;
            }
            Err(status) => panic!("{name}: neither greeted nor shed: {status:?}"),
        }
    }
    eprintln!("{greeted} greeted, {shed} shed");
    assert!(shed > 0, "nothing was shed: {greeted} greeted");
    assert!(greeted > 0, "nothing was greeted: {shed} shed");
}
