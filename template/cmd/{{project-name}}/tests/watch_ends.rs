//! `WatchNotes` ends on the server when the caller goes away: the service logs
//! "a note watcher left" once its stream is dropped. A file of its own: the log
//! subscriber is global to the test binary, so no other test may log into it.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use {{crate_name}} as app;
use serde_json::{Value, json};
use support::{read_logs, start_with, test_conf};

/// Bounds every wait of these tests.
const PATIENCE: Duration = Duration::from_secs(10);

async fn create(addr: SocketAddr, title: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/v1/notes"))
        .json(&json!({ "title": title }))
        .send()
        .await
        .expect("HTTP response");
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON note")
}

/// `GET /v1/notes:watch`, its headers received (the watch is subscribed).
async fn watch_over_http(addr: SocketAddr, accept: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/v1/notes:watch"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("HTTP response");
    assert_eq!(response.status(), 200);
    response
}

/// Reads `response` until `text` holds `end`; what came before it.
async fn read_until(response: &mut reqwest::Response, text: &mut String, end: &str) -> String {
    tokio::time::timeout(PATIENCE, async {
        while !text.contains(end) {
            let chunk = response.chunk().await.expect("body").expect("more body");
            text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    })
    .await
    .expect("within the patience");
    let at = text.find(end).unwrap_or_default();
    let head = text[..at].to_owned();
    text.replace_range(..at + end.len(), "");
    head
}

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
