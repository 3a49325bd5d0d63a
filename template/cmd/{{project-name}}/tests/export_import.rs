//! `ImportNotes` and `ExportNotes`: raw bytes (`google.api.HttpBody`) up and
//! down, end to end. Over HTTP a CSV file is the request body and the export a
//! text/csv download; over gRPC the same bytes travel in HttpBody messages,
//! the export one page per message.

mod support;

use std::net::SocketAddr;

use api::google::api::HttpBody;
use api::notes::v1::ExportNotesRequest;
use api::notes::v1::notes_client::NotesClient;
use serde_json::Value;
use support::{channel, http_get, start};

const HEADER: &str = "id,title,body,create_time,update_time";

/// Posts `file` to `/v1/notes:import` as `content_type` (none when `None`);
/// the status and the JSON reply.
async fn import_over_http(
    addr: SocketAddr,
    content_type: Option<&str>,
    file: String,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("http://{addr}/v1/notes:import"))
        .body(file);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("HTTP response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// A CSV file of `count` notes titled `<prefix> <n>`.
fn csv_file(prefix: &str, count: usize) -> String {
    let mut file = String::from("title,body\n");
    for n in 0..count {
        file.push_str(&format!("{prefix} {n},body of {n}\n"));
    }
    file
}

/// The ids of an ImportNotes reply, in order.
fn ids(reply: &Value) -> Vec<String> {
    reply["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|note| note["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The ids of an export's rows, in order; the header is checked and skipped.
/// The test titles hold no comma or quote, so a row is a plain line.
fn exported_ids(export: &str) -> Vec<String> {
    let mut lines = export.lines();
    assert_eq!(lines.next(), Some(HEADER), "the header row comes first");
    lines
        .map(|line| line.split(',').next().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_csv_upload_creates_a_note_per_row() {
    let service = start().await;

    let (status, reply) = import_over_http(
        service.http,
        Some("text/csv"),
        "title,body\n\"milk, eggs\",\"two\nlines\"\nplain,\n".to_owned(),
    )
    .await;

    assert_eq!(status, 200, "{reply}");
    let notes = reply["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 2, "{reply}");
    let (status, stored) = http_get(
        service.http,
        &format!("/v1/notes/{}", notes[0]["id"].as_str().expect("id")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&stored["title"], &stored["body"]),
        (&Value::from("milk, eggs"), &Value::from("two\nlines")),
        "quoted CSV fields arrive whole"
    );
    assert_eq!(notes[1]["title"], "plain");
}

#[tokio::test]
async fn an_upload_that_is_not_csv_creates_nothing() {
    let service = start().await;

    let (status, error) =
        import_over_http(service.http, Some("application/pdf"), csv_file("pdf", 1)).await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(
        (&error["reason"], &error["metadata"]["field"]),
        (&Value::from("INVALID_NOTE"), &Value::from("content_type"))
    );

    let (status, error) = import_over_http(service.http, None, csv_file("untyped", 1)).await;
    assert_eq!(status, 415, "bytes without a media type: {error}");
    assert_eq!(error["reason"], "UNSUPPORTED_MEDIA_TYPE");

    let bad_row = "title\nfine\n   \n".to_owned();
    let (status, error) = import_over_http(service.http, Some("text/csv"), bad_row).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("row 2: ")),
        "the blank title's row is named: {error}"
    );
}

#[tokio::test]
async fn the_export_is_a_csv_download_of_every_note() {
    let service = start().await;
    // More than one page (100 notes), so the export spans several chunks.
    let (status, reply) =
        import_over_http(service.http, Some("text/csv"), csv_file("exported", 150)).await;
    assert_eq!(status, 200, "{reply}");
    let imported = ids(&reply);

    let response = reqwest::get(format!("http://{}/v1/notes:export", service.http))
        .await
        .expect("HTTP response");

    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| response.headers()[name].to_str().expect("ASCII").to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"notes.csv\""
    );
    let export = response.text().await.expect("the whole download");
    // Other tests may add notes to a shared database meanwhile: only ours count.
    let ours: Vec<String> = exported_ids(&export)
        .into_iter()
        .filter(|id| imported.contains(id))
        .collect();
    assert_eq!(
        ours, imported,
        "every imported note, oldest first, across pages"
    );
    assert!(
        export.lines().filter(|line| *line == HEADER).count() == 1,
        "one header, however many pages"
    );
}

#[tokio::test]
async fn over_grpc_the_bytes_travel_in_http_body_messages() {
    let service = start().await;
    let mut client = NotesClient::new(channel(service.grpc).await);

    let reply = client
        .import_notes(HttpBody {
            content_type: "text/csv".into(),
            data: csv_file("over gRPC", 120).into_bytes(),
            extensions: Vec::new(),
        })
        .await
        .expect("imported")
        .into_inner();
    assert_eq!(reply.notes.len(), 120);
    assert_eq!(reply.notes[119].title, "over gRPC 119");

    let mut stream = client
        .export_notes(ExportNotesRequest {})
        .await
        .expect("exporting")
        .into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await.expect("a chunk") {
        chunks.push(chunk);
    }
    assert!(chunks.len() >= 2, "one message per page of 100 notes");
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk.content_type == "text/csv; charset=utf-8")
    );
    let export: String = chunks
        .iter()
        .map(|chunk| String::from_utf8_lossy(&chunk.data))
        .collect();
    let exported = exported_ids(&export);
    for note in &reply.notes {
        assert!(exported.contains(&note.id), "{} exported", note.id);
    }
}
