//! What the `WatchNotes` tests share: create a note, open a watch over HTTP and
//! read its body up to a marker, every wait bounded.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

/// Bounds every wait of these tests.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub async fn create(addr: SocketAddr, title: &str) -> Value {
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
pub async fn watch_over_http(addr: SocketAddr, accept: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("http://{addr}/v1/notes:watch"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("HTTP response");
    assert_eq!(response.status(), 200);
    response
}

/// Reads `response` until `text` holds `end`; what came before it.
pub async fn read_until(response: &mut reqwest::Response, text: &mut String, end: &str) -> String {
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
