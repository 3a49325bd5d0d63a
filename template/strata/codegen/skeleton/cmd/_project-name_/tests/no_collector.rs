//! With tracing on and no collector listening, the service starts and answers as
//! usual, stops promptly, and logs one warning about it: no error spam.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

#[tokio::test]
async fn an_absent_collector_costs_one_warning_and_nothing_else() {
    // A port nothing listens on: bind one, then let it go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("free port");
    let (mut conf, scratch) = support::test_conf();
    let log_dir = scratch.path().join("logs");
    conf.log.file.enabled = true;
    conf.log.file.dir = log_dir.clone();
    conf.trace.endpoint = format!("http://{closed}");
    let telemetry = app::telemetry(&conf).expect("telemetry");
    let service = support::start_with(&conf, scratch).await;

    for _ in 0..20 {
        let (status, _) = support::http_get(service.http, "/helloworld/world").await;
        assert_eq!(status, 200);
    }
    // Give the reachability check time to give up on the closed port.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    service.stop.send(()).expect("running");
    service.stopped.await.expect("joined").expect("clean stop");
    telemetry.shutdown().await;

    let logs = support::read_logs(&log_dir);
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains(r#""level":"WARN""#) || line.contains(r#""level":"ERROR""#))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("no OTLP collector answers"),
        "{}",
        warnings[0]
    );
}
