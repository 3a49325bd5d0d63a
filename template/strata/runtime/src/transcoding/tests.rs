//! Transcoding against a fixture proto: each rule kind, the JSON mapping both
//! ways, content negotiation, metadata and every malformed-input refusal.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body as HttpBody, to_bytes};
use axum::http::{Request, StatusCode};
use prost::Message;
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Binding, Body, HttpRoutes, PathParam, Segment};

const FIXTURE: &str = r#"
syntax = "proto3";
package test.v1;
import "google/protobuf/duration.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

enum Color { COLOR_UNSPECIFIED = 0; RED = 1; BLUE = 2; }
message Inner { int32 depth = 1; string label = 2; }
message Shelf { string name = 1; Inner inner = 2; }
message Request {
  string name = 1;
  int64 count = 2;
  bool flag = 3;
  Color color = 4;
  repeated string tags = 5;
  Inner inner = 6;
  google.protobuf.Timestamp at = 7;
  google.protobuf.Duration wait = 8;
  google.protobuf.FieldMask mask = 9;
  google.protobuf.Int32Value limit = 10;
  map<string, string> labels = 11;
  string display_name = 12;
  Shelf shelf = 14;
}
// Numbers out of declaration order: the JSON follows the serializer's order.
message Names { string z = 5; string first = 1; string display_name = 2; }
message Maybe { optional string note = 1; }
"#;

/// `test.v1.Request`, by hand, as prost would generate it.
#[derive(Clone, PartialEq, Message)]
struct Req {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "2")]
    count: i64,
    #[prost(bool, tag = "3")]
    flag: bool,
    #[prost(int32, tag = "4")]
    color: i32,
    #[prost(string, repeated, tag = "5")]
    tags: Vec<String>,
    #[prost(message, optional, tag = "6")]
    inner: Option<Inner>,
    #[prost(message, optional, tag = "7")]
    at: Option<Seconds>,
    #[prost(message, optional, tag = "8")]
    wait: Option<Seconds>,
    #[prost(message, optional, tag = "9")]
    mask: Option<Mask>,
    #[prost(message, optional, tag = "10")]
    limit: Option<Int32Value>,
    #[prost(map = "string, string", tag = "11")]
    labels: HashMap<String, String>,
    #[prost(string, tag = "12")]
    display_name: String,
    #[prost(message, optional, tag = "14")]
    shelf: Option<Shelf>,
}

#[derive(Clone, PartialEq, Message)]
struct Inner {
    #[prost(int32, tag = "1")]
    depth: i32,
    #[prost(string, tag = "2")]
    label: String,
}

#[derive(Clone, PartialEq, Message)]
struct Shelf {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    inner: Option<Inner>,
}

/// Timestamp and Duration share this shape.
#[derive(Clone, PartialEq, Message)]
struct Seconds {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

#[derive(Clone, PartialEq, Message)]
struct Mask {
    #[prost(string, repeated, tag = "1")]
    paths: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct Int32Value {
    #[prost(int32, tag = "1")]
    value: i32,
}

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut files = protox::file::ChainFileResolver::new();
    files.add(Fixture);
    files.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(files);
    compiler.open_file("test.proto").expect("fixture compiles");
    compiler.descriptor_pool()
});

struct Fixture;

impl protox::file::FileResolver for Fixture {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == "test.proto" {
            protox::file::File::from_source(name, FIXTURE)
        } else {
            Err(protox::Error::file_not_found(name))
        }
    }
}

const fn binding(
    method: &'static str,
    path: &'static str,
    segments: &'static [Segment],
    params: &'static [PathParam],
    body: Body,
) -> Binding {
    Binding {
        operation: "/test.v1.Test/Echo",
        method,
        path,
        segments,
        verb: None,
        input: "test.v1.Request",
        output: "test.v1.Request",
        params,
        body,
        response_body: None,
    }
}

const fn param(field: &'static str, first: usize, end: usize) -> PathParam {
    PathParam { field, first, end }
}

use Segment::{Literal, One, Rest};

/// `get: "/v1/items/{name}"`
const GET: Binding = binding(
    "GET",
    "/v1/items/{name}",
    &[Literal("v1"), Literal("items"), One],
    &[param("name", 2, 3)],
    Body::None,
);
const POST: Binding = binding(
    "POST",
    "/v1/items",
    &[Literal("v1"), Literal("items")],
    &[],
    Body::All,
);
/// `patch: "/v1/shelves/{shelf.name}" body: "shelf"`
const PATCH: Binding = binding(
    "PATCH",
    "/v1/shelves/{name}",
    &[Literal("v1"), Literal("shelves"), One],
    &[param("shelf.name", 2, 3)],
    Body::Field("shelf"),
);
/// `get: "/v1/{name=shelves/*/books/*}"`
const NESTED: Binding = binding(
    "GET",
    "/v1/shelves/{name_1}/books/{name_3}",
    &[
        Literal("v1"),
        Literal("shelves"),
        One,
        Literal("books"),
        One,
    ],
    &[param("name", 1, 5)],
    Body::None,
);
/// `post: "/v1/{name=shelves/*/books/*}:move" body: "*"`: a verb after a variable.
const MOVE: Binding = Binding {
    verb: Some("move"),
    ..binding(
        "POST",
        "/v1/shelves/{name_1}/books/{name_3}:move",
        &[
            Literal("v1"),
            Literal("shelves"),
            One,
            Literal("books"),
            One,
        ],
        &[param("name", 1, 5)],
        Body::All,
    )
};
/// `post: "/v1/{name=shelves/*}:merge" body: "*"`
const MERGE: Binding = Binding {
    verb: Some("merge"),
    ..binding(
        "POST",
        "/v1/shelves/{name_1}:merge",
        &[Literal("v1"), Literal("shelves"), One],
        &[param("name", 1, 3)],
        Body::All,
    )
};
/// `post: "/v1/items:batchGet" body: "*"`: a verb on a collection.
const BATCH: Binding = Binding {
    verb: Some("batchGet"),
    ..binding(
        "POST",
        "/v1/items:batchGet",
        &[Literal("v1"), Literal("items")],
        &[],
        Body::All,
    )
};
/// `get: "/v1/{name=files/**}:download"`: a verb after a catch-all.
const DOWNLOAD: Binding = Binding {
    verb: Some("download"),
    ..binding(
        "GET",
        "/v1/files/{name_1}:download",
        &[Literal("v1"), Literal("files"), Rest],
        &[param("name", 1, 3)],
        Body::None,
    )
};
/// `get: "/v1/{display_name=*}/labels"`: overlaps `/v1/items/{name}` and
/// `/v1/shelves/{shelf.name}` (axum's router would not backtrack to it).
const LABELS: Binding = binding(
    "GET",
    "/v1/{display_name}/labels",
    &[Literal("v1"), One, Literal("labels")],
    &[param("display_name", 1, 2)],
    Body::None,
);
const TAGS_ONLY: Binding = Binding {
    response_body: Some("tags"),
    ..binding(
        "GET",
        "/v1/tags",
        &[Literal("v1"), Literal("tags")],
        &[],
        Body::None,
    )
};
const SEARCH: Binding = binding(
    "SEARCH",
    "/v1/search",
    &[Literal("v1"), Literal("search")],
    &[],
    Body::All,
);
const FAILS: Binding = binding(
    "GET",
    "/v1/fails",
    &[Literal("v1"), Literal("fails")],
    &[],
    Body::None,
);

/// Echoes the request; copies header `x-tenant` to response metadata `x-echo`.
fn app() -> Router {
    let echo = |_: Arc<()>, request: tonic::Request<Req>| async move {
        let tenant = request.metadata().get("x-tenant").cloned();
        let mut response = tonic::Response::new(request.into_inner());
        if let Some(tenant) = tenant {
            response.metadata_mut().insert("x-echo", tenant);
        }
        Ok(response)
    };
    let fails = |_: Arc<()>, _: tonic::Request<Req>| async move {
        Err::<tonic::Response<Req>, _>(
            crate::Error::new(404, "ITEM_NOT_FOUND", "no such item")
                .with_metadata("id", "7")
                .to_status(),
        )
    };
    let service = Arc::new(());
    let mut routes = HttpRoutes::new();
    for binding in [
        &GET, &POST, &PATCH, &NESTED, &MOVE, &MERGE, &BATCH, &DOWNLOAD, &LABELS, &TAGS_ONLY,
        &SEARCH,
    ] {
        routes = routes.unary(&POOL, binding, service.clone(), echo);
    }
    let failing = HttpRoutes::new().unary(&POOL, &FAILS, service, fails);
    Router::from(routes.merge(failing))
}

async fn call(request: Request<HttpBody>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

async fn json_call(request: Request<HttpBody>) -> (StatusCode, Value) {
    let (status, _, body) = call(request).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&body)));
    (status, value)
}

fn get(uri: &str) -> Request<HttpBody> {
    Request::get(uri).body(HttpBody::empty()).expect("request")
}

fn with_json(method: &str, uri: &str, body: &str) -> Request<HttpBody> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(HttpBody::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn path_and_query_fill_the_request_and_the_reply_is_proto3_json() {
    let (status, body) = json_call(get(
        "/v1/items/box%201?count=9007199254740993&flag=true&color=BLUE&tags=a&tags=b\
         &inner.depth=3&inner.label=x&at=2026-01-02T03:04:05Z&wait=1.5s&mask=title,displayName\
         &limit=7&displayName=shown",
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "box 1");
    assert_eq!(
        body["count"], "9007199254740993",
        "int64 travels as a string"
    );
    assert_eq!(body["flag"], true);
    assert_eq!(body["color"], "BLUE");
    assert_eq!(body["tags"], json!(["a", "b"]));
    assert_eq!(body["inner"], json!({"depth": 3, "label": "x"}));
    assert_eq!(body["at"], "2026-01-02T03:04:05Z");
    assert_eq!(body["wait"], "1.500s");
    assert_eq!(body["mask"], "title,displayName");
    assert_eq!(body["limit"], 7);
    assert_eq!(body["displayName"], "shown", "lowerCamelCase out");
    assert_eq!(body["labels"], json!({}), "unset fields are present");
}

#[tokio::test]
async fn string_fields_from_the_path_and_query_alone_are_set_as_sent() {
    // Only singular strings: set without the JSON decoder (decode.rs), to the
    // same message it would give.
    let (status, body) = json_call(get("/v1/items/caf%C3%A9?display_name=%20&tags=x")).await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "café");
    assert_eq!(body["displayName"], " ");
    assert_eq!(
        body["tags"],
        json!(["x"]),
        "a repeated string takes the JSON path"
    );

    // A value over 127 bytes: its length takes two bytes on the wire.
    let long = "é".repeat(100);
    let (status, body) = json_call(get(&format!(
        "/v1/items/plain?display_name={}",
        "%C3%A9".repeat(100)
    )))
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["name"], &body["displayName"]),
        (&json!("plain"), &json!(long))
    );
    assert_eq!(body["count"], "0", "unset fields keep their defaults");
}

#[tokio::test]
async fn a_nested_query_name_in_either_spelling_reaches_the_field() {
    let (_, body) = json_call(get("/v1/items/x?inner.label=a&shelf.inner.depth=2")).await;

    assert_eq!(body["inner"]["label"], "a");
    assert_eq!(body["shelf"]["inner"]["depth"], 2);
}

#[tokio::test]
async fn a_body_star_takes_original_and_camel_case_names() {
    let (status, body) = json_call(with_json(
        "POST",
        "/v1/items",
        r#"{"name":"n","display_name":"proto name","color":2,"labels":{"k":"v"},"count":"5"}"#,
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "proto name");
    assert_eq!(
        body["color"], "BLUE",
        "enum numbers are accepted, names sent"
    );
    assert_eq!(body["labels"], json!({"k": "v"}));
    assert_eq!(body["count"], "5");
}

#[tokio::test]
async fn a_body_field_takes_the_rest_from_the_query_and_the_path_wins() {
    let (status, body) = json_call(with_json(
        "PATCH",
        "/v1/shelves/from-path?display_name=q",
        r#"{"name":"from-body","inner":{"depth":4}}"#,
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["shelf"]["name"], "from-path");
    assert_eq!(body["shelf"]["inner"]["depth"], 4);
    assert_eq!(body["displayName"], "q");
}

#[tokio::test]
async fn a_multi_segment_variable_is_the_whole_matched_path() {
    let (_, body) = json_call(get("/v1/shelves/s1/books/b2")).await;

    assert_eq!(body["name"], "shelves/s1/books/b2");
}

#[tokio::test]
async fn response_body_sends_only_that_field() {
    let (_, body) = json_call(get("/v1/tags?tags=x&tags=y")).await;

    assert_eq!(body, json!(["x", "y"]));
}

#[tokio::test]
async fn a_custom_method_is_served_and_other_methods_are_not() {
    let (status, body) = json_call(with_json("SEARCH", "/v1/search", r#"{"name":"q"}"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "q");

    let (status, body) = json_call(with_json("PUT", "/v1/search", "{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["reason"], "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn protobuf_in_and_out_by_content_type_and_accept() {
    let sent = Req {
        name: "bin".into(),
        count: 3,
        ..Req::default()
    };
    let request = Request::post("/v1/items")
        .header("content-type", "application/x-protobuf")
        .body(HttpBody::from(sent.encode_to_vec()))
        .expect("request");

    let (status, headers, body) = call(request).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(Req::decode(body.as_slice()).expect("protobuf reply"), sent);

    let request = Request::get("/v1/items/x").header("accept", "application/x-protobuf");
    let (_, headers, body) = call(request.body(HttpBody::empty()).expect("request")).await;
    assert_eq!(headers["content-type"], "application/x-protobuf");
    assert_eq!(Req::decode(body.as_slice()).expect("protobuf").name, "x");
}

#[tokio::test]
async fn headers_become_metadata_and_metadata_becomes_headers() {
    let request = Request::get("/v1/items/x").header("x-tenant", "acme");

    let (_, headers, _) = call(request.body(HttpBody::empty()).expect("request")).await;

    assert_eq!(headers["x-echo"], "acme");
}

#[tokio::test]
async fn a_status_is_the_standard_error_body() {
    let (status, body) = json_call(get("/v1/fails")).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"code": 404, "reason": "ITEM_NOT_FOUND", "message": "no such item", "metadata": {"id": "7"}})
    );
}

#[tokio::test]
async fn an_unsupported_content_type_is_415() {
    let request = Request::post("/v1/items").header("content-type", "text/plain");

    let (status, body) = json_call(request.body(HttpBody::from("name=x")).expect("request")).await;

    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["reason"], "UNSUPPORTED_MEDIA_TYPE");
}

/// No guessing: a body without Content-Type could come from a page on another
/// site (a CORS simple request), so it is refused with what to send.
#[tokio::test]
async fn a_body_without_content_type_is_415_saying_what_to_send() {
    let request = Request::post("/v1/items").body(HttpBody::from(r#"{"name":"x"}"#));

    let (status, body) = json_call(request.expect("request")).await;

    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], 415);
    assert_eq!(body["reason"], "UNSUPPORTED_MEDIA_TYPE");
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.contains("Content-Type: application/json"),
        "{message}"
    );
    assert!(body["metadata"].is_object(), "{body}");
}

/// curl's `-d` default is a form; the 415 names the header to send instead.
#[tokio::test]
async fn a_form_body_is_415_saying_what_to_send() {
    let request = Request::post("/v1/items")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(HttpBody::from(r#"{"name":"x"}"#));

    let (status, body) = json_call(request.expect("request")).await;

    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.contains("Content-Type: application/json"),
        "{message}"
    );
}

/// An empty body needs no Content-Type: the request is what the path and query say.
#[tokio::test]
async fn an_empty_body_without_content_type_is_accepted() {
    let (status, body) = json_call(
        Request::post("/v1/items")
            .body(HttpBody::empty())
            .expect("request"),
    )
    .await;

    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A chunked body (no Content-Length for the limit layer to refuse up front) is
/// cut off at the limit while the transcoder reads it: a 413, not a 400.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413() {
    let chunks = (0..8).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64]));
    let request = Request::post("/v1/items")
        .header("content-type", "application/json")
        .body(HttpBody::from_stream(tokio_stream::iter(chunks)))
        .expect("request");
    let app = app().layer(crate::middleware::body_limit::BodyLimitLayer::new(100));

    let response = app.oneshot(request).await.expect("infallible");

    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let body: Value = serde_json::from_slice(&body).expect("the error body");
    assert_eq!(body["reason"], "PAYLOAD_TOO_LARGE");
}

/// Every malformed input is a 400 whose message (and `field`, when there is one)
/// says what to fix.
#[tokio::test]
async fn malformed_input_is_a_400_naming_the_field() {
    let cases = [
        (
            with_json("POST", "/v1/items", r#"{"name": "#),
            None,
            "malformed JSON",
        ),
        (
            with_json("POST", "/v1/items", "[1, 2]"),
            None,
            "must be a JSON object",
        ),
        (
            with_json("POST", "/v1/items", r#"{"count": true}"#),
            Some("count"),
            "invalid value for count",
        ),
        (
            with_json("POST", "/v1/items", r#"{"color": "PURPLE"}"#),
            Some("color"),
            "PURPLE",
        ),
        (
            with_json("POST", "/v1/items", r#"{"inner": {"depth": "deep"}}"#),
            Some("inner.depth"),
            "inner.depth",
        ),
        (
            with_json("POST", "/v1/items", r#"{"count": 1e999}"#),
            None,
            "malformed JSON",
        ),
        (
            with_json("POST", "/v1/items", r#"{"nope": 1}"#),
            None,
            "nope",
        ),
        (
            get("/v1/items/x?flag=yes"),
            Some("flag"),
            "expected true or false",
        ),
        (get("/v1/items/x?color=PURPLE"), Some("color"), "PURPLE"),
        (
            get("/v1/items/x?nope=1"),
            Some("nope"),
            "unknown query parameter nope",
        ),
        (
            get("/v1/items/x?name=other"),
            Some("name"),
            "sets a field the path",
        ),
        (get("/v1/items/x?labels=a"), Some("labels"), "a map"),
        (get("/v1/items/x?at=yesterday"), Some("at"), "at"),
        (get("/v1/items/x?count=12abc"), Some("count"), "count"),
    ];
    for (request, field, says) in cases {
        let uri = request.uri().clone();
        let (status, body) = json_call(request).await;

        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["reason"], "INVALID_ARGUMENT", "{uri}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(says),
            "{uri}: {message:?} should say {says:?}"
        );
        if let Some(field) = field {
            assert_eq!(body["metadata"]["field"], field, "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn a_verb_after_a_variable_is_its_own_route() {
    let (status, body) = json_call(with_json(
        "POST",
        "/v1/shelves/s1/books/b%3A2:move",
        r#"{"flag":true}"#,
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "shelves/s1/books/b:2");
    assert_eq!(body["flag"], true, "the body of :move");

    let (status, body) = json_call(with_json("POST", "/v1/shelves/s1:merge", "{}")).await;
    assert_eq!(
        (status, &body["name"]),
        (StatusCode::OK, &json!("shelves/s1"))
    );

    // Without the verb the same path is the PATCH route's, which POST is not.
    let (status, body) = json_call(with_json("POST", "/v1/shelves/s1", "{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    assert_eq!(body["reason"], "METHOD_NOT_ALLOWED");
    let (status, body) = json_call(with_json("PATCH", "/v1/shelves/s1", "{}")).await;
    assert_eq!(
        (status, &body["shelf"]["name"]),
        (StatusCode::OK, &json!("s1"))
    );
    // An unknown verb is not a route of its own.
    let (status, _) = json_call(with_json("POST", "/v1/shelves/s1:split", "{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_verb_on_a_collection_wins_over_a_variable() {
    let (status, body) =
        json_call(with_json("POST", "/v1/items:batchGet", r#"{"tags":["a"]}"#)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tags"], json!(["a"]));
    assert_eq!(
        body["name"], "",
        "not the name variable of GET /v1/items/..."
    );

    // GET /v1/items/{name} still takes a name with a colon in it.
    let (status, body) = json_call(get("/v1/items/a:b")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("a:b")));
}

#[tokio::test]
async fn a_verb_after_a_catch_all_keeps_the_rest_of_the_path() {
    let (status, body) = json_call(get("/v1/files/a/b%2Fc/d.txt:download")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["name"], "files/a/b%2Fc/d.txt",
        "a multi-segment variable keeps %2F"
    );
    let (status, _) = json_call(get("/v1/files/a/b")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no verb, no route");
}

#[tokio::test]
async fn overlapping_templates_are_tried_most_literal_first() {
    // Both GET /v1/items/{name} and GET /v1/{display_name}/labels match: the
    // literal `items` wins over a variable.
    let (status, body) = json_call(get("/v1/items/labels")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("labels")));
    // PATCH /v1/shelves/{shelf.name} matches the path but not the method: the
    // next template that fits serves it (axum's router would answer 405).
    let (status, body) = json_call(get("/v1/shelves/labels")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "shelves");
    let (status, body) = json_call(get("/v1/items%2Fx/labels")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["displayName"], "items/x", "one segment: %2F decoded");
}

#[tokio::test]
async fn unknown_paths_are_404_with_the_standard_body() {
    for uri in ["/v1/nowhere", "/v1/items/", "/v1//labels", "/v1/items/a/b"] {
        let (status, body) = json_call(get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}: {body}");
        assert_eq!(body["reason"], "NOT_FOUND", "{uri}");
    }
    let (status, body) = json_call(get("/v1/items/%FF")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["metadata"]["field"], "name");
}

/// `get: "/v1/items:watch"`: a server stream.
const WATCH: Binding = Binding {
    verb: Some("watch"),
    ..binding(
        "GET",
        "/v1/items:watch",
        &[Literal("v1"), Literal("items")],
        &[],
        Body::None,
    )
};

/// Counts how many of the service's streams were dropped.
struct Dropped(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Streams the request twice with `count` 1 and 2, then fails when `flag` is
/// set, or stays open when `name` is `forever`.
fn stream_app(dropped: Arc<std::sync::atomic::AtomicUsize>) -> Router {
    use tokio_stream::StreamExt;
    let watch = move |_: Arc<()>, request: tonic::Request<Req>| {
        let guard = Dropped(dropped.clone());
        async move {
            let request = request.into_inner();
            let mut items: Vec<Result<Req, tonic::Status>> = (1..=2)
                .map(|count| {
                    Ok(Req {
                        count,
                        ..request.clone()
                    })
                })
                .collect();
            if request.flag {
                items.push(Err(crate::Error::new(
                    409,
                    "ITEM_GONE",
                    "the item went away",
                )
                .to_status()));
                items.push(Ok(request.clone()));
            }
            let forever = request.name == "forever";
            let stream = tokio_stream::iter(items)
                .chain(tokio_stream::pending().take(usize::from(forever)))
                .map(move |item| {
                    let _ = &guard;
                    item
                });
            Ok(tonic::Response::new(Box::pin(stream)
                as std::pin::Pin<
                    Box<dyn tokio_stream::Stream<Item = Result<Req, tonic::Status>> + Send>,
                >))
        }
    };
    Router::from(HttpRoutes::new().server_stream(&POOL, &WATCH, Arc::new(()), watch))
}

async fn stream_call(uri: &str, accept: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(uri);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = stream_app(Arc::default())
        .oneshot(request.body(HttpBody::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn a_server_stream_is_server_sent_events_one_message_each() {
    let (status, content_type, body) = stream_call("/v1/items:watch?name=a", None).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/event-stream");
    assert_eq!(
        body,
        "data: {\"name\":\"a\",\"count\":\"1\",\"flag\":false,\"color\":\"COLOR_UNSPECIFIED\",\"tags\":[],\"labels\":{},\"displayName\":\"\"}\n\n\
         data: {\"name\":\"a\",\"count\":\"2\",\"flag\":false,\"color\":\"COLOR_UNSPECIFIED\",\"tags\":[],\"labels\":{},\"displayName\":\"\"}\n\n"
    );
}

#[tokio::test]
async fn a_failing_stream_ends_with_an_error_event_holding_the_error_body() {
    let (status, _, body) = stream_call("/v1/items:watch?name=a&flag=true", None).await;

    assert_eq!(
        status,
        StatusCode::OK,
        "the status line went out with the first event"
    );
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(
        events.len(),
        3,
        "two messages, the error, nothing after: {body}"
    );
    let error = events[2]
        .strip_prefix("event: error\ndata: ")
        .unwrap_or_else(|| panic!("{body}"));
    let error: Value = serde_json::from_str(error).expect("the error body");
    assert_eq!(
        error,
        json!({"code": 409, "reason": "ITEM_GONE", "message": "the item went away", "metadata": {}})
    );
}

#[tokio::test]
async fn ndjson_when_the_client_accepts_it() {
    let (status, content_type, body) = stream_call(
        "/v1/items:watch?name=a&flag=true",
        Some("application/x-ndjson"),
    )
    .await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/x-ndjson");
    let lines: Vec<Value> = body
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON value per line"))
        .collect();
    assert_eq!(lines.len(), 3, "{body}");
    assert_eq!(
        (&lines[0]["count"], &lines[1]["count"]),
        (&json!("1"), &json!("2"))
    );
    assert_eq!(lines[2]["error"]["reason"], "ITEM_GONE");
}

#[tokio::test]
async fn a_bad_request_to_a_stream_is_an_ordinary_error_reply() {
    let (status, content_type, body) = stream_call("/v1/items:watch?count=x", None).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(content_type, "application/json");
}

#[tokio::test]
async fn the_client_going_away_drops_the_service_stream() {
    use http_body_util::BodyExt;
    let dropped = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let response = stream_app(dropped.clone())
        .oneshot(get("/v1/items:watch?name=forever"))
        .await
        .expect("infallible");
    let mut body = response.into_body();

    let first = body.frame().await.expect("a frame").expect("data");
    let first = first.into_data().expect("data");
    assert!(first.starts_with(b"data: "), "{first:?}");
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "still streaming"
    );

    drop(body);
    assert_eq!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the service's stream ended with the connection"
    );
}

/// `test.v1.Names`, by hand.
#[derive(Clone, PartialEq, Message)]
struct Names {
    #[prost(string, tag = "5")]
    z: String,
    #[prost(string, tag = "1")]
    first: String,
    #[prost(string, tag = "2")]
    display_name: String,
}

/// The JSON `StringsReply` writes is the reflection serializer's, byte for
/// byte: field order, camelCase keys, empty fields present, every escape.
#[test]
fn a_reply_of_strings_is_the_json_the_reflection_message_writes() {
    let descriptor = POOL.get_message_by_name("test.v1.Names").expect("Names");
    let reply = super::encode::StringsReply::of(&descriptor).expect("all strings");
    let options = prost_reflect::SerializeOptions::new().skip_default_fields(false);
    let texts = [
        "",
        "bench",
        "Hello bench",
        "quote \" backslash \\ slash / tab \t newline \n",
        "control \u{1} \u{1f} delete \u{7f}",
        "</script> & <b>",
        "unicode é ü 日本 🦀 \u{2028} \u{2029}",
        &"x".repeat(300),
    ];
    for first in texts {
        for z in ["", "last", "\"z\""] {
            let message = Names {
                z: z.to_owned(),
                first: first.to_owned(),
                display_name: format!("{first}{z}"),
            };
            let bytes = message.encode_to_vec();
            let dynamic =
                prost_reflect::DynamicMessage::decode(descriptor.clone(), bytes.as_slice())
                    .expect("decodes");
            let mut expected = Vec::new();
            dynamic
                .serialize_with_options(&mut serde_json::Serializer::new(&mut expected), &options)
                .expect("serializes");
            let written = reply.json(&bytes).expect("strings only");
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&expected)
            );
        }
    }
    // The last of repeated values wins, as in a decoder; an unknown field is
    // left out.
    let mut bytes = Names {
        z: String::new(),
        first: "old".to_owned(),
        display_name: String::new(),
    }
    .encode_to_vec();
    prost::encoding::string::encode(1, &"new".to_owned(), &mut bytes);
    prost::encoding::string::encode(9, &"unknown".to_owned(), &mut bytes);
    assert_eq!(
        reply.json(&bytes).expect("strings only"),
        br#"{"first":"new","displayName":"","z":""}"#
    );
    // Anything but strings (a stale api build) goes the reflection way.
    let mut bytes = Vec::new();
    prost::encoding::int32::encode(1, &7, &mut bytes);
    assert_eq!(reply.json(&bytes), None);
    assert_eq!(reply.json(&[0x0a, 0x05, b'a']), None, "truncated");
    assert_eq!(reply.json(&[0x0a, 0x01, 0xff]), None, "not UTF-8");
}

#[test]
fn only_messages_of_plain_strings_take_the_strings_reply() {
    for name in [
        "test.v1.Request",
        "test.v1.Inner",
        "test.v1.Maybe",
        "google.protobuf.StringValue",
    ] {
        let descriptor = POOL.get_message_by_name(name).expect(name);
        assert!(
            super::encode::StringsReply::of(&descriptor).is_none(),
            "{name}"
        );
    }
}

const NAMES: Binding = Binding {
    output: "test.v1.Names",
    ..binding(
        "GET",
        "/v1/names/{name}",
        &[Literal("v1"), Literal("names"), One],
        &[param("name", 2, 3)],
        Body::None,
    )
};

#[tokio::test]
async fn a_reply_of_strings_goes_out_as_before() {
    let names = |_: Arc<()>, request: tonic::Request<Req>| async move {
        let name = request.into_inner().name;
        Ok(tonic::Response::new(Names {
            z: String::new(),
            first: format!("<{name}>"),
            display_name: "\"quoted\"".to_owned(),
        }))
    };
    let app = Router::from(HttpRoutes::new().unary(&POOL, &NAMES, Arc::new(()), names));
    let response = app
        .oneshot(get("/v1/names/caf%C3%A9"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    assert_eq!(
        String::from_utf8_lossy(&body),
        r#"{"first":"<café>","displayName":"\"quoted\"","z":""}"#
    );
}

/// Routes whose first segments differ, with and without a literal there: the
/// most specific binding that fits still wins, across the groups dispatch
/// keeps per first segment.
fn grouped_app() -> Router {
    const THING: Binding = binding(
        "GET",
        "/things/{name}",
        &[Literal("things"), One],
        &[param("name", 1, 2)],
        Body::None,
    );
    const CLEAR: Binding = Binding {
        verb: Some("clear"),
        ..binding(
            "POST",
            "/things:clear",
            &[Literal("things")],
            &[],
            Body::None,
        )
    };
    const PAIR: Binding = binding(
        "GET",
        "/{display_name}/{name}",
        &[One, One],
        &[param("display_name", 0, 1), param("name", 1, 2)],
        Body::None,
    );
    const ANY: Binding = binding(
        "GET",
        "/{name=**}",
        &[Rest],
        &[param("name", 0, 1)],
        Body::None,
    );
    let echo = |_: Arc<()>, request: tonic::Request<Req>| async move {
        Ok(tonic::Response::new(request.into_inner()))
    };
    let mut routes = HttpRoutes::new();
    for binding in [&ANY, &PAIR, &CLEAR, &THING] {
        routes = routes.unary(&POOL, binding, Arc::new(()), echo);
    }
    Router::from(routes)
}

async fn grouped_call(request: Request<HttpBody>) -> (StatusCode, Value) {
    let response = grouped_app().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    let body: Value = serde_json::from_slice(&body).expect("JSON");
    (status, body)
}

#[tokio::test]
async fn dispatch_by_first_segment_keeps_the_most_specific_route() {
    let call = grouped_call;
    let (status, body) = call(get("/things/x")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("x")));
    assert_eq!(body["displayName"], "", "the literal wins over the pair");
    let (status, body) = call(get("/other/x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["displayName"], &body["name"]),
        (&json!("other"), &json!("x"))
    );
    let (status, body) = call(with_json("POST", "/things:clear", "{}")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("")));
    // The verb's route does not serve GET: the catch-all does.
    let (status, body) = call(get("/things:clear")).await;
    assert_eq!(
        (status, &body["name"]),
        (StatusCode::OK, &json!("things:clear"))
    );
    let (status, body) = call(get("/things")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("things")));
    let (status, body) = call(get("/a/b/c")).await;
    assert_eq!((status, &body["name"]), (StatusCode::OK, &json!("a/b/c")));
    // Only the catch-all has the path, and not for POST.
    let (status, body) = call(with_json("POST", "/other:clear", "{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (status, body) = call(with_json("POST", "/things/x", "{}")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

#[test]
fn a_route_longer_than_the_stack_matches_as_a_short_one() {
    let mut segments = vec![Literal("a"); 20];
    segments[18] = One;
    let params = [param("name", 18, 19), param("all", 0, 20)];
    let path = format!("/{}/x/a", vec!["a"; 18].join("/"));
    let captures = super::match_path(&segments, None, &params, &path).expect("matches");
    assert_eq!(captures, ["x", &path[1..]]);
    assert_eq!(super::match_path(&segments, None, &params, "/a/a"), None);
    let short = [Literal("a"), One];
    let params = [param("name", 1, 2)];
    assert_eq!(
        super::match_path(&short, Some("go"), &params, "/a/b:go"),
        Some(vec!["b"])
    );
    assert_eq!(super::match_path(&short, None, &params, "/a/"), None);
}
