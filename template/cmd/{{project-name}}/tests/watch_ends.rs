//! `WatchNotes` ends on the server when the caller goes away: the service logs
//! "a note watcher left" once its stream is dropped. A file of its own: the log
//! subscriber is global to the test binary, so no other test may log into it.

mod support;

use support::watch::{PATIENCE, create, read_until, watch_over_http};
use support::{read_logs, start_with, test_conf};

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

#[tokio::test]
async fn the_watch_ends_on_the_server_when_the_caller_goes_away() {
    let (mut conf, scratch) = test_conf();
    let logs = scratch.path().join("logs");
    conf.log.file.enabled = true;
    conf.log.file.dir = logs.clone();
    let _telemetry = app::telemetry(&conf).expect("telemetry");
    let service = start_with(&conf, scratch).await;
    let mut events = watch_over_http(service.http, None).await;
    create(service.http, "seen").await;
    let mut text = String::new();
    read_until(&mut events, &mut text, "\n\n").await;
    assert_eq!(read_logs(&logs).matches("a note watcher left").count(), 0);

    drop(events);

    // Bounded: the log line is written off the request path.
    let mut left = 0;
    for _ in 0..100 {
        left = read_logs(&logs).matches("a note watcher left").count();
        if left > 0 {
            break;
        }
        tokio::time::sleep(PATIENCE / 100).await;
    }
    assert_eq!(left, 1, "one watch ended on the server");
}
