//! `WatchNotes`, a server stream, end to end: over gRPC, over HTTP as
//! Server-Sent Events and as NDJSON (`watch_ends.rs`: its end when the caller
//! goes away).

mod support;

use api::notes::v1::WatchNotesRequest;
use api::notes::v1::notes_client::NotesClient;
use serde_json::Value;
use support::watch::{PATIENCE, create, read_until, watch_over_http};
use support::{channel, start};

/// One Server-Sent Event: its `event:` name (empty for a message) and its data.
fn parse_event(event: &str) -> (String, String) {
    let (mut name, mut data) = (String::new(), Vec::new());
    for line in event.lines() {
        match line.split_once(':') {
            Some(("event", value)) => name = value.trim_start().to_owned(),
            Some(("data", value)) => data.push(value.strip_prefix(' ').unwrap_or(value)),
            _ => {}
        }
    }
    (name, data.join("\n"))
}

#[tokio::test]
async fn created_notes_arrive_as_server_sent_events() {
    let service = start().await;
    let mut events = watch_over_http(service.http, None).await;
    assert_eq!(
        events.headers()["content-type"].to_str().expect("ASCII"),
        "text/event-stream"
    );

    let first = create(service.http, "first").await;
    let second = create(service.http, "second").await;

    let mut text = String::new();
    for created in [first, second] {
        let (name, data) = parse_event(&read_until(&mut events, &mut text, "\n\n").await);
        assert_eq!(name, "", "a message, not an error");
        let note: Value = serde_json::from_str(&data).expect("proto3 JSON");
        assert_eq!(note, created);
    }
}

#[tokio::test]
async fn created_notes_arrive_as_ndjson_when_asked() {
    let service = start().await;
    let mut lines = watch_over_http(service.http, Some("application/x-ndjson")).await;
    assert_eq!(
        lines.headers()["content-type"].to_str().expect("ASCII"),
        "application/x-ndjson"
    );

    let created = create(service.http, "as a line").await;

    let mut text = String::new();
    let line = read_until(&mut lines, &mut text, "\n").await;
    let note: Value = serde_json::from_str(&line).expect("one JSON object per line");
    assert_eq!(note, created);
}

#[tokio::test]
async fn created_notes_arrive_over_grpc() {
    let service = start().await;
    let mut client = NotesClient::new(channel(service.grpc).await);
    let mut stream = client
        .watch_notes(WatchNotesRequest {})
        .await
        .expect("watching")
        .into_inner();

    let created = create(service.http, "over gRPC").await;

    let note = tokio::time::timeout(PATIENCE, stream.message())
        .await
        .expect("within the patience")
        .expect("a message")
        .expect("not the end");
    assert_eq!(note.id, created["id"].as_str().expect("id"));
    assert_eq!(note.title, "over gRPC");
}
