//! Slow tier: SIGTERM while 64 HTTP and 16 gRPC clients call SayHello in a loop.
//! Every response a client got is the right one; every request the service
//! handled (its access log) reached its client, so none was lost; the clients end
//! refused at connect; the process exits 0 without running out of grace.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use strata_tests::{Variant, grpc, start_built};
use tokio::task::JoinSet;

const HTTP_CLIENTS: usize = 64;
const GRPC_CLIENTS: usize = 16;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// What one client saw.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    /// Responses, right or wrong.
    answered: usize,
    /// Responses that were not the right one: what was asked, what came back.
    wrong: Vec<String>,
    /// Attempts whose connection the server refused.
    refused: usize,
    /// Attempts that got no response on an established connection.
    unanswered: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.wrong.extend(other.wrong);
        self.refused += other.refused;
        self.unanswered.extend(other.unanswered);
    }
}

/// Calls GET /helloworld/{name} on one keep-alive connection until the server
/// refuses a connection.
async fn http_client(id: usize, base: String, answers: Arc<AtomicUsize>) -> Tally {
    let client = reqwest::Client::new();
    let mut tally = Tally::default();
    for call in 0.. {
        let name = format!("h{id}c{call}");
        tally.sent += 1;
        match client.get(format!("{base}/helloworld/{name}")).send().await {
            Ok(response) => {
                tally.answered += 1;
                answers.fetch_add(1, Ordering::Relaxed);
                let status = response.status().as_u16();
                let body: Result<Value, _> = response.json().await;
                let expected = json!({ "message": format!("Hello {name}") });
                if status != 200 || body.as_ref().ok() != Some(&expected) {
                    tally.wrong.push(format!("HTTP {name}: {status} {body:?}"));
                }
            }
            Err(err) if err.is_connect() => {
                tally.refused += 1;
                break;
            }
            Err(err) => tally.unanswered.push(format!("HTTP {name}: {err:?}")),
        }
    }
    tally
}

/// Calls SayHello on one channel until the server refuses a connection.
async fn grpc_client(id: usize, addr: std::net::SocketAddr, answers: Arc<AtomicUsize>) -> Tally {
    let channel = grpc::connect(addr).await.expect("gRPC connection");
    let mut tally = Tally::default();
    for call in 0.. {
        let name = format!("g{id}c{call}");
        tally.sent += 1;
        match grpc::say_hello_on(channel.clone(), &name).await {
            Ok(message) => {
                tally.answered += 1;
                answers.fetch_add(1, Ordering::Relaxed);
                if message != format!("Hello {name}") {
                    tally.wrong.push(format!("gRPC {name}: {message:?}"));
                }
            }
            Err(status) if format!("{status:?}").contains("Connection refused") => {
                tally.refused += 1;
                break;
            }
            Err(status) => tally.unanswered.push(format!("gRPC {name}: {status:?}")),
        }
    }
    tally
}

/// Access log lines of SayHello on `transport`: the requests the service handled.
fn handled(logs: &str, transport: &str) -> usize {
    let transport = format!(r#""transport":"{transport}""#);
    logs.lines()
        .filter(|line| {
            line.contains(r#""message":"access""#)
                && line.contains(r#""operation":"/helloworld.v1.Greeter/SayHello""#)
                && line.contains(&transport)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn drains_in_flight_requests_on_sigterm_under_load() {
    let grace = format!("{}s", SHUTDOWN_GRACE.as_secs());
    let (service, scratch) = start_built(Variant::SQLITE, &[("SERVER__SHUTDOWN_GRACE", &grace)]);
    let answers = Arc::new(AtomicUsize::new(0));
    let mut http = JoinSet::new();
    for id in 0..HTTP_CLIENTS {
        http.spawn(http_client(
            id,
            format!("http://{}", service.http),
            answers.clone(),
        ));
    }
    let mut grpc = JoinSet::new();
    for id in 0..GRPC_CLIENTS {
        grpc.spawn(grpc_client(id, service.grpc, answers.clone()));
    }

    // Under load: every client has been answered a few times.
    while answers.load(Ordering::Relaxed) < 10 * (HTTP_CLIENTS + GRPC_CLIENTS) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.send_sigterm();
    let (exit, output) = tokio::task::spawn_blocking(move || {
        service.wait_for_exit(SHUTDOWN_GRACE + Duration::from_secs(10))
    })
    .await
    .expect("joined");

    let (mut http_tally, mut grpc_tally) = (Tally::default(), Tally::default());
    for (clients, tally) in [(&mut http, &mut http_tally), (&mut grpc, &mut grpc_tally)] {
        while let Some(client) = clients.join_next().await {
            tally.add(client.expect("client task"));
        }
    }
    let logs = strata_tests::process::read_logs(&scratch.path().join("logs"));
    let (http_handled, grpc_handled) = (handled(&logs, "http"), handled(&logs, "grpc"));
    let summary = format!(
        "HTTP: sent {} answered {} refused {} unanswered {} handled {http_handled}; \
         gRPC: sent {} answered {} refused {} unanswered {} handled {grpc_handled}",
        http_tally.sent,
        http_tally.answered,
        http_tally.refused,
        http_tally.unanswered.len(),
        grpc_tally.sent,
        grpc_tally.answered,
        grpc_tally.refused,
        grpc_tally.unanswered.len(),
    );
    eprintln!("{summary}");

    assert!(
        exit.success(),
        "exit status {exit} after SIGTERM ({summary}):\n{output}"
    );
    assert!(
        !output.contains("grace period over"),
        "in-flight requests were dropped ({summary}):\n{output}"
    );
    for tally in [&http_tally, &grpc_tally] {
        assert!(
            tally.wrong.is_empty(),
            "wrong answers ({summary}): {:#?}",
            tally.wrong
        );
    }
    // A request the service handled but whose response never arrived was lost.
    // Attempts on a connection the server was closing, which it never read, are
    // the client's to retry, as HTTP and gRPC allow.
    assert_eq!(
        (http_handled, grpc_handled),
        (http_tally.answered, grpc_tally.answered),
        "handled by the service vs answered to the clients ({summary}); unanswered: {:#?} {:#?}",
        http_tally.unanswered,
        grpc_tally.unanswered
    );
    assert_eq!(
        (http_tally.refused, grpc_tally.refused),
        (HTTP_CLIENTS, GRPC_CLIENTS),
        "every client ends refused at connect ({summary})"
    );
}
