//! Slow tier: 60 s of mixed load on both transports (greetings, refused names,
//! unknown routes, probes, metrics scrapes) gets only the expected answers, and
//! the service's memory (RSS) grows by less than 10% after a warm-up.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use strata_tests::{Variant, grpc, start_built};
use tokio::task::JoinSet;

const WARM_UP: Duration = Duration::from_secs(10);
const SOAK: Duration = Duration::from_secs(60);
const HTTP_WORKERS: usize = 8;
const GRPC_WORKERS: usize = 4;

/// One HTTP call of the mix: what is asked and what must come back.
async fn http_call(client: &reqwest::Client, base: &str, call: usize) -> Result<(), String> {
    let name = format!("soak{}", call % 1000);
    let (path, status, needle) = match call % 5 {
        0 | 1 => (format!("/helloworld/{name}"), 200, format!("Hello {name}")),
        2 => (
            format!("/helloworld/{}", "x".repeat(65)),
            400,
            "INVALID_ARGUMENT".into(),
        ),
        3 => (format!("/no/such/route/{call}"), 404, "NOT_FOUND".into()),
        // build_info is there from the start; request counters only appear
        // once a request has finished, and this may be the very first call.
        _ if call % 50 == 4 => ("/metrics".into(), 200, "build_info".into()),
        _ => ("/healthz".into(), 200, "SERVING".into()),
    };
    let response = client
        .get(format!("{base}{path}"))
        .send()
        .await
        .map_err(|err| format!("GET {path}: {err}"))?;
    let got = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|err| format!("GET {path}: {err}"))?;
    if got == status && body.contains(&needle) {
        Ok(())
    } else {
        Err(format!(
            "GET {path}: expected {status} with {needle:?}, got {got} {body}"
        ))
    }
}

/// One gRPC call of the mix.
async fn grpc_call(channel: &tonic::transport::Channel, call: usize) -> Result<(), String> {
    let name = if call % 4 == 3 {
        String::new()
    } else {
        format!("soak{}", call % 1000)
    };
    match grpc::say_hello_on(channel.clone(), &name).await {
        Ok(message) if message == format!("Hello {name}") => Ok(()),
        Err(status) if name.is_empty() && status.code() == tonic::Code::InvalidArgument => Ok(()),
        other => Err(format!("SayHello {name:?}: {other:?}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "slow tier: builds and runs a generated service for over a minute (make test)"]
async fn soaks_mixed_load_without_errors_or_growth() {
    let (mut service, _scratch) = start_built(Variant::SQLITE, &[]);
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for worker in 0..HTTP_WORKERS {
        let (stop, calls, base) = (
            stop.clone(),
            calls.clone(),
            format!("http://{}", service.http),
        );
        workers.spawn(async move {
            let client = reqwest::Client::new();
            let mut errors = Vec::new();
            for call in (worker..).step_by(HTTP_WORKERS) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                errors.extend(http_call(&client, &base, call).await.err());
                calls.fetch_add(1, Ordering::Relaxed);
            }
            errors
        });
    }
    let grpc_addr: SocketAddr = service.grpc;
    for worker in 0..GRPC_WORKERS {
        let (stop, calls) = (stop.clone(), calls.clone());
        workers.spawn(async move {
            let channel = grpc::connect(grpc_addr).await.expect("gRPC connection");
            let mut errors = Vec::new();
            for call in (worker..).step_by(GRPC_WORKERS) {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                errors.extend(grpc_call(&channel, call).await.err());
                calls.fetch_add(1, Ordering::Relaxed);
            }
            errors
        });
    }

    tokio::time::sleep(WARM_UP).await;
    let warm = service.rss_kib();
    let mut samples = vec![warm];
    let mut elapsed = Duration::ZERO;
    while elapsed < SOAK {
        tokio::time::sleep(Duration::from_secs(10)).await;
        elapsed += Duration::from_secs(10);
        assert!(
            service.is_running(),
            "the service died:\n{}",
            service.output()
        );
        samples.push(service.rss_kib());
    }
    stop.store(true, Ordering::Relaxed);
    let mut errors = Vec::new();
    while let Some(worker) = workers.join_next().await {
        errors.extend(worker.expect("worker task"));
    }

    let after = service.rss_kib();
    let calls = calls.load(Ordering::Relaxed);
    eprintln!(
        "{calls} calls; RSS every 10 s from the end of the warm-up (KiB): {samples:?}, {after} at the end"
    );
    let shown: Vec<&String> = errors.iter().take(20).collect();
    assert!(
        errors.is_empty(),
        "{} of {calls} calls went wrong; the first: {shown:#?}",
        errors.len()
    );
    assert!(
        after * 10 < warm * 11,
        "RSS grew from {warm} KiB to {after} KiB (samples {samples:?})"
    );
    let (exit, output) = service.terminate();
    assert!(exit.success(), "exit status {exit}:\n{output}");
}
