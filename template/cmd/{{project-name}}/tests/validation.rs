//! The `buf.validate` rules of the protos, enforced before the handler: every
//! sample rule refuses the same request on both transports with 400 /
//! INVALID_ARGUMENT, the HTTP body names the first field in `metadata.field`
//! and lists every broken rule, and a gRPC client reads one
//! `google.rpc.BadRequest` field violation per broken rule beside the ErrorInfo.

mod support;

use std::net::SocketAddr;

use api::helloworld::v1::HelloRequest;
use api::notes::v1::notes_client::NotesClient;
use api::notes::v1::{CreateNoteRequest, ListNotesRequest, Note, UpdateNoteRequest};
use serde_json::{Value, json};
use support::{channel, grpc_client, http_get, http_json, start};
use tonic::Code;
use tonic_types::StatusExt;

/// (field, rule) of each broken rule.
type Broken = Vec<(String, String)>;

fn broken(expected: &[(&str, &str)]) -> Broken {
    expected
        .iter()
        .map(|(field, rule)| ((*field).to_owned(), (*rule).to_owned()))
        .collect()
}

/// What a gRPC client reads from `grpc-status-details-bin`: the ErrorInfo's
/// reason and `field`, and the BadRequest's violations.
fn grpc_refusal(status: &tonic::Status) -> (String, String, Broken) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let info = details.error_info().expect("an ErrorInfo detail");
    let violations = details
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations
        .iter()
        .map(|v| {
            assert!(!v.description.is_empty(), "{v:?}");
            (v.field.clone(), v.reason.clone())
        })
        .collect();
    let field = info.metadata.get("field").cloned().unwrap_or_default();
    (info.reason.clone(), field, violations)
}

/// The same from the HTTP error body.
fn http_refusal(status: u16, body: &Value) -> (String, String, Broken) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], 400, "{body}");
    let violations = body["violations"]
        .as_array()
        .expect("a violations list")
        .iter()
        .map(|v| {
            assert!(
                v["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{v}"
            );
            (
                v["field"].as_str().unwrap_or_default().to_owned(),
                v["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&body["reason"]),
        text(&body["metadata"]["field"]),
        violations,
    )
}

fn refused(first_field: &str, rules: &[(&str, &str)]) -> (String, String, Broken) {
    (
        "INVALID_ARGUMENT".to_owned(),
        first_field.to_owned(),
        broken(rules),
    )
}

async fn notes(addr: SocketAddr) -> NotesClient<tonic::transport::Channel> {
    NotesClient::new(channel(addr).await)
}

#[tokio::test]
async fn a_greeting_name_is_1_to_64_characters_and_not_blank() {
    let service = start().await;
    let too_long = "a".repeat(65);
    let cases = [
        (
            "",
            vec![("name", "string.min_len"), ("name", "string.pattern")],
        ),
        ("   ", vec![("name", "string.pattern")]),
        (too_long.as_str(), vec![("name", "string.max_len")]),
    ];
    for (name, rules) in cases {
        let status = grpc_client(service.grpc)
            .await
            .say_hello(HelloRequest {
                name: name.to_owned(),
            })
            .await
            .expect_err("refused");
        assert_eq!(grpc_refusal(&status), refused("name", &rules), "{name:?}");

        // An empty path segment matches no route: HTTP cannot send an empty name.
        if !name.is_empty() {
            let path = format!("/helloworld/{}", name.replace(' ', "%20"));
            let (code, body) = http_get(service.http, &path).await;
            assert_eq!(
                http_refusal(code, &body),
                refused("name", &rules),
                "{name:?}"
            );
        }
    }

    let longest = "é".repeat(64);
    let (code, _) = http_get(service.http, &format!("/helloworld/{longest}")).await;
    assert_eq!(code, 200, "64 characters (128 bytes) pass");
}

#[tokio::test]
async fn a_new_note_has_a_title_of_1_to_200_characters_and_a_body_up_to_10000() {
    let service = start().await;
    let cases = [
        (
            String::new(),
            String::new(),
            vec![("title", "string.min_len"), ("title", "string.pattern")],
        ),
        (
            "a".repeat(201),
            String::new(),
            vec![("title", "string.max_len")],
        ),
        (
            "t".to_owned(),
            "b".repeat(10_001),
            vec![("body", "string.max_len")],
        ),
        (
            " ".to_owned(),
            "b".repeat(10_001),
            vec![("title", "string.pattern"), ("body", "string.max_len")],
        ),
    ];
    for (title, body, rules) in cases {
        let (code, reply) = http_json(
            service.http,
            "POST",
            "/v1/notes",
            json!({ "title": title, "body": body }),
        )
        .await;
        let first = rules[0].0;
        assert_eq!(http_refusal(code, &reply), refused(first, &rules));

        let status = notes(service.grpc)
            .await
            .create_note(CreateNoteRequest { title, body })
            .await
            .expect_err("refused");
        assert_eq!(grpc_refusal(&status), refused(first, &rules));
    }

    let (code, reply) = http_json(
        service.http,
        "POST",
        "/v1/notes",
        json!({ "title": "é".repeat(200), "body": "b".repeat(10_000) }),
    )
    .await;
    assert_eq!(code, 200, "the longest title and body pass: {reply}");
}

#[tokio::test]
async fn page_size_is_0_to_100() {
    let service = start().await;
    for (size, rule) in [(-1, "int32.gte"), (101, "int32.lte")] {
        let (code, body) = http_get(service.http, &format!("/v1/notes?page_size={size}")).await;
        let expected = refused("page_size", &[("page_size", rule)]);
        assert_eq!(http_refusal(code, &body), expected);

        let status = notes(service.grpc)
            .await
            .list_notes(ListNotesRequest {
                page_size: size,
                page_token: String::new(),
            })
            .await
            .expect_err("refused");
        assert_eq!(grpc_refusal(&status), expected);
    }
    for size in [0, 100] {
        let (code, body) = http_get(service.http, &format!("/v1/notes?page_size={size}")).await;
        assert_eq!(code, 200, "{size}: {body}");
    }
}

#[tokio::test]
async fn an_update_checks_the_nested_note_and_requires_it() {
    let service = start().await;
    let (code, created) =
        http_json(service.http, "POST", "/v1/notes", json!({ "title": "t" })).await;
    assert_eq!(code, 200, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();

    let long = "a".repeat(201);
    let (code, body) = http_json(
        service.http,
        "PATCH",
        &format!("/v1/notes/{id}"),
        json!({ "title": long }),
    )
    .await;
    let expected = refused("note.title", &[("note.title", "string.max_len")]);
    assert_eq!(http_refusal(code, &body), expected);

    let mut client = notes(service.grpc).await;
    let status = client
        .update_note(UpdateNoteRequest {
            note: Some(Note {
                id: id.clone(),
                title: long,
                ..Note::default()
            }),
            update_mask: None,
        })
        .await
        .expect_err("refused");
    assert_eq!(grpc_refusal(&status), expected);

    // HTTP always sets the note (its id is in the path); gRPC can leave it out.
    let status = client
        .update_note(UpdateNoteRequest::default())
        .await
        .expect_err("refused");
    assert_eq!(
        grpc_refusal(&status),
        refused("note", &[("note", "required")])
    );
}

#[tokio::test]
async fn the_openapi_document_carries_the_rules() {
    let service = start().await;
    let (code, doc) = http_get(service.http, "/openapi.json").await;
    assert_eq!(code, 200);
    let schemas = &doc["components"]["schemas"];

    let title = &schemas["notes.v1.CreateNoteRequest"]["properties"]["title"];
    assert_eq!(
        (&title["minLength"], &title["maxLength"]),
        (&json!(1), &json!(200))
    );
    assert_eq!(title["pattern"], "\\S");
    let note = &schemas["notes.v1.Note"]["properties"];
    assert_eq!(
        (&note["title"]["maxLength"], &note["body"]["maxLength"]),
        (&json!(200), &json!(10_000))
    );
    let page_size = doc["paths"]["/v1/notes"]["get"]["parameters"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == "page_size"))
        .expect("page_size parameter");
    assert_eq!(
        (
            &page_size["schema"]["minimum"],
            &page_size["schema"]["maximum"]
        ),
        (&json!(0), &json!(100))
    );
    let name = &doc["paths"]["/helloworld/{name}"]["get"]["parameters"][0]["schema"];
    assert_eq!(
        (&name["minLength"], &name["maxLength"]),
        (&json!(1), &json!(64))
    );
}
