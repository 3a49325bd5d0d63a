//! The Notes API end to end: the same calls over HTTP/JSON and gRPC reach the same
//! implementation and give equal results, errors included.

mod support;

use std::net::SocketAddr;

use api::notes::v1::notes_client::NotesClient;
use api::notes::v1::{
    CreateNoteRequest, DeleteNoteRequest, GetNoteRequest, ListNotesRequest, Note,
    UpdateNoteRequest, is_invalid_note, is_note_not_found,
};
use prost::Message;
use serde_json::{Value, json};
use support::{channel, http_get, http_json, start};
use tonic::transport::Channel;

async fn notes(addr: SocketAddr) -> NotesClient<Channel> {
    NotesClient::new(channel(addr).await)
}

async fn create_over_http(addr: SocketAddr, title: &str) -> Value {
    let (status, note) = http_json(
        addr,
        "POST",
        "/v1/notes",
        json!({ "title": title, "body": "text" }),
    )
    .await;
    assert_eq!(status, 200, "{note}");
    note
}

/// The proto3 JSON HTTP sends for `note`.
fn as_json(note: &Note) -> Value {
    let time = |t: &Option<prost_types::Timestamp>| {
        t.as_ref().map(ToString::to_string).unwrap_or_default()
    };
    json!({
        "id": note.id,
        "title": note.title,
        "body": note.body,
        "author": note.author,
        "createTime": time(&note.create_time),
        "updateTime": time(&note.update_time),
    })
}

#[tokio::test]
async fn a_note_reads_the_same_over_both_transports() {
    let service = start().await;
    let created = create_over_http(service.http, "groceries").await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, over_http) = http_get(service.http, &format!("/v1/notes/{id}")).await;
    let over_grpc = notes(service.grpc)
        .await
        .get_note(GetNoteRequest { id: id.clone() })
        .await
        .expect("GetNote")
        .into_inner();

    assert_eq!(status, 200);
    assert_eq!(over_http, created);
    assert_eq!(over_http, as_json(&over_grpc));
}

/// The ids of a page, over HTTP.
async fn http_page(addr: SocketAddr, query: &str) -> (Vec<String>, String) {
    let (status, page) = http_get(addr, &format!("/v1/notes?{query}")).await;
    assert_eq!(status, 200, "{page}");
    let ids = page["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .map(|note| note["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    (
        ids,
        page["nextPageToken"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

// Other tests may add notes to a shared database meanwhile; ids grow with time,
// so pages after this test's first note hold its others.
#[tokio::test]
async fn pages_are_the_same_over_both_transports() {
    let service = start().await;
    let mut ids = Vec::new();
    for title in ["one", "two", "three", "four"] {
        let note = create_over_http(service.http, title).await;
        ids.push(note["id"].as_str().expect("id").to_owned());
    }

    let (over_http, token) =
        http_page(service.http, &format!("page_size=2&page_token={}", ids[0])).await;
    let over_grpc = notes(service.grpc)
        .await
        .list_notes(ListNotesRequest {
            page_size: 2,
            page_token: ids[0].clone(),
        })
        .await
        .expect("ListNotes")
        .into_inner();

    let grpc_ids: Vec<String> = over_grpc.notes.into_iter().map(|note| note.id).collect();
    assert_eq!(over_http, grpc_ids);
    assert_eq!(over_http.len(), 2);
    assert_eq!(token, over_grpc.next_page_token);
    assert_eq!(
        Some(&token),
        over_http.last(),
        "the token is where the page ended"
    );

    // Page on (camelCase names work too) until this test's notes have all come.
    let (mut seen, mut token) = (over_http, token);
    while !ids[1..].iter().all(|id| seen.contains(id)) {
        assert!(
            !token.is_empty(),
            "the pages ended before {ids:?}: {seen:?}"
        );
        let (page, next) = http_page(service.http, &format!("pageSize=2&pageToken={token}")).await;
        seen.extend(page);
        token = next;
    }
}

#[tokio::test]
async fn an_update_changes_only_the_masked_fields_on_both_transports() {
    let service = start().await;
    let created = create_over_http(service.http, "draft").await;
    let id = created["id"].as_str().expect("id");

    let (status, updated) = http_json(
        service.http,
        "PATCH",
        &format!("/v1/notes/{id}?update_mask=title"),
        json!({ "title": "final", "body": "not applied" }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (&updated["title"], &updated["body"]),
        (&json!("final"), &json!("text"))
    );

    let over_grpc = notes(service.grpc)
        .await
        .update_note(UpdateNoteRequest {
            note: Some(Note {
                id: id.to_owned(),
                body: "rewritten".into(),
                ..Note::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["body".into()],
            }),
        })
        .await
        .expect("UpdateNote")
        .into_inner();
    assert_eq!(
        (over_grpc.title.as_str(), over_grpc.body.as_str()),
        ("final", "rewritten")
    );
}

#[tokio::test]
async fn a_deleted_note_is_note_not_found_on_both_transports() {
    let service = start().await;
    let created = create_over_http(service.http, "temporary").await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, body) = http_json(
        service.http,
        "DELETE",
        &format!("/v1/notes/{id}"),
        json!(null),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));

    let (status, body) = http_get(service.http, &format!("/v1/notes/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["reason"], "NOTE_NOT_FOUND");
    assert_eq!(body["code"], 404);

    let status = notes(service.grpc)
        .await
        .delete_note(DeleteNoteRequest { id })
        .await
        .expect_err("gone");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert!(
        is_note_not_found(&status.into()),
        "a client gets the typed error back"
    );
}

#[tokio::test]
async fn a_blank_title_in_an_update_is_an_invalid_note_on_both_transports() {
    // The proto lets an update carry an empty title (its mask may leave the
    // title alone); biz refuses one the mask names.
    let service = start().await;
    let created = create_over_http(service.http, "groceries").await;
    let id = created["id"].as_str().expect("id").to_owned();

    let (status, body) = http_json(
        service.http,
        "PATCH",
        &format!("/v1/notes/{id}?update_mask=title"),
        json!({ "title": "" }),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "INVALID_NOTE");
    // Named by its path in the request, as the proto's rules name note.title.
    assert_eq!(body["metadata"], json!({ "field": "note.title" }));

    let status = notes(service.grpc)
        .await
        .update_note(UpdateNoteRequest {
            note: Some(Note {
                id,
                ..Note::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .expect_err("blank title");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let error = strata::Error::from(status);
    assert!(is_invalid_note(&error), "{error}");
    assert_eq!(error.metadata()["field"], "note.title");
    assert_eq!(error.message(), body["message"].as_str().expect("message"));
}

#[tokio::test]
async fn malformed_requests_are_400s_that_name_the_field() {
    let service = start().await;
    let cases = [
        ("POST", "/v1/notes", json!({ "title": 5 }), "title"),
        (
            "POST",
            "/v1/notes",
            json!({ "title": "t", "colour": "red" }),
            "",
        ),
        ("GET", "/v1/notes?page_size=many", json!(null), "page_size"),
        ("GET", "/v1/notes?page_size=-1", json!(null), "page_size"),
        (
            "GET",
            "/v1/notes?page_token=not-a-token",
            json!(null),
            "page_token",
        ),
        (
            "PATCH",
            "/v1/notes/x?update_mask=id",
            json!({}),
            "update_mask",
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, reply) = http_json(service.http, method, path, body).await;

        assert_eq!(status, 400, "{method} {path}: {reply}");
        if !field.is_empty() {
            assert_eq!(
                reply["metadata"]["field"], field,
                "{method} {path}: {reply}"
            );
        }
    }
}

#[tokio::test]
async fn protobuf_goes_both_ways_and_other_content_types_are_415() {
    let service = start().await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/notes", service.http);

    let response = client
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(
            CreateNoteRequest {
                title: "binary".into(),
                body: String::new(),
            }
            .encode_to_vec(),
        )
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let note = Note::decode(response.bytes().await.expect("body")).expect("a Note");
    assert_eq!(note.title, "binary");

    let response = client
        .post(&url)
        .header("content-type", "text/plain")
        .body("title=plain")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status(), 415);
    let body: Value = response.json().await.expect("JSON error");
    assert_eq!(body["reason"], "UNSUPPORTED_MEDIA_TYPE");
}

/// JSON is never guessed: without Content-Type (what a page on another site can
/// send without a CORS preflight) or as curl's default form, a body is a 415 whose
/// message says what to send.
#[tokio::test]
async fn a_body_without_json_content_type_is_415_saying_what_to_send() {
    let service = start().await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/v1/notes", service.http);

    for content_type in [None, Some("application/x-www-form-urlencoded")] {
        let mut request = client.post(&url).body(r#"{"title":"guessed"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("response");

        assert_eq!(response.status(), 415, "{content_type:?}");
        let body: Value = response.json().await.expect("JSON error");
        assert_eq!(body["code"], 415);
        assert_eq!(body["reason"], "UNSUPPORTED_MEDIA_TYPE");
        assert!(body["metadata"].is_object(), "{body}");
        let message = body["message"].as_str().expect("a message");
        assert!(
            message.contains("Content-Type: application/json"),
            "{content_type:?}: {message}"
        );
    }
    let (_, list) = http_get(service.http, "/v1/notes").await;
    assert!(!list.to_string().contains("guessed"), "{list}");
}

/// Browsers must not sniff an API reply into something else, and shared caches
/// must not keep one: on answers and refusals alike.
#[tokio::test]
async fn api_replies_are_nosniff_and_no_store() {
    let service = start().await;

    for path in ["/v1/notes", "/v1/notes/999999", "/no-such-route"] {
        let response = reqwest::get(format!("http://{}{path}", service.http))
            .await
            .expect("response");

        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn serves_the_openapi_document() {
    let service = start().await;

    let (status, document) = http_get(service.http, "/openapi.json").await;

    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.0.3");
    let get = &document["paths"]["/v1/notes/{id}"]["get"];
    assert_eq!(get["operationId"], "Notes_GetNote");
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/notes.v1.Note"
    );
}
