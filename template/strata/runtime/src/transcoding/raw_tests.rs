//! `google.api.HttpBody` over HTTP: the request's bytes and Content-Type reach
//! the rpc untouched, a reply's bytes go out with its content type, and a
//! stream of them is one download written chunk by chunk.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body as HttpBody, to_bytes};
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use prost::Message;
use prost_reflect::DescriptorPool;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Binding, Body, HttpRoutes, PathParam, Segment};

/// google/api/httpbody.proto as googleapis has it (comments aside).
const HTTP_BODY_PROTO: &str = r#"
syntax = "proto3";
package google.api;
import "google/protobuf/any.proto";
message HttpBody {
  string content_type = 1;
  bytes data = 2;
  repeated google.protobuf.Any extensions = 3;
}
"#;

const FIXTURE: &str = r#"
syntax = "proto3";
package raw.v1;
import "google/api/httpbody.proto";
message Upload { string name = 1; google.api.HttpBody file = 2; }
message Saved { string name = 1; string content_type = 2; int64 size = 3; google.api.HttpBody file = 4; }
"#;

/// `google.api.HttpBody` as prost generates it (extensions left out: the
/// transcoder never reads them).
#[derive(Clone, PartialEq, Message)]
struct Raw {
    #[prost(string, tag = "1")]
    content_type: String,
    #[prost(bytes = "vec", tag = "2")]
    data: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
struct Upload {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    file: Option<Raw>,
}

#[derive(Clone, PartialEq, Message)]
struct Saved {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    content_type: String,
    #[prost(int64, tag = "3")]
    size: i64,
    #[prost(message, optional, tag = "4")]
    file: Option<Raw>,
}

static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
    let mut files = protox::file::ChainFileResolver::new();
    files.add(Fixture);
    files.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(files);
    compiler.open_file("raw.proto").expect("fixture compiles");
    compiler.descriptor_pool()
});

struct Fixture;

impl protox::file::FileResolver for Fixture {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        match name {
            "raw.proto" => protox::file::File::from_source(name, FIXTURE),
            "google/api/httpbody.proto" => protox::file::File::from_source(name, HTTP_BODY_PROTO),
            _ => Err(protox::Error::file_not_found(name)),
        }
    }
}

use Segment::{Literal, One};

/// `post: "/v1/blobs" body: "*"` with an HttpBody request.
const UPLOAD: Binding = Binding {
    operation: "/raw.v1.Raw/Upload",
    method: "POST",
    path: "/v1/blobs",
    segments: &[Literal("v1"), Literal("blobs")],
    verb: None,
    input: "google.api.HttpBody",
    output: "raw.v1.Saved",
    params: &[],
    body: Body::All,
    response_body: None,
};
/// `post: "/v1/{name}/files" body: "file"`: the file raw, the name from the path.
const ATTACH: Binding = Binding {
    operation: "/raw.v1.Raw/Attach",
    method: "POST",
    path: "/v1/{name}/files",
    segments: &[Literal("v1"), One, Literal("files")],
    params: &[PathParam {
        field: "name",
        first: 1,
        end: 2,
    }],
    input: "raw.v1.Upload",
    body: Body::Field("file"),
    ..UPLOAD
};
/// `get: "/v1/blobs/{name}"` with an HttpBody reply.
const DOWNLOAD: Binding = Binding {
    operation: "/raw.v1.Raw/Download",
    method: "GET",
    path: "/v1/blobs/{name}",
    segments: &[Literal("v1"), Literal("blobs"), One],
    params: &[PathParam {
        field: "name",
        first: 2,
        end: 3,
    }],
    input: "raw.v1.Upload",
    output: "google.api.HttpBody",
    body: Body::None,
    ..UPLOAD
};
/// `get: "/v1/saved/{name}" response_body: "file"`: an HttpBody field as the reply.
const SAVED_FILE: Binding = Binding {
    operation: "/raw.v1.Raw/SavedFile",
    path: "/v1/saved/{name}",
    segments: &[Literal("v1"), Literal("saved"), One],
    output: "raw.v1.Saved",
    response_body: Some("file"),
    ..DOWNLOAD
};
/// `get: "/v1/blobs/{name}:export"`, a server stream of HttpBody.
const EXPORT: Binding = Binding {
    operation: "/raw.v1.Raw/Export",
    path: "/v1/blobs/{name}:export",
    verb: Some("export"),
    ..DOWNLOAD
};

fn raw(content_type: &str, data: &[u8]) -> Raw {
    Raw {
        content_type: content_type.into(),
        data: data.to_vec(),
    }
}

/// Uploads answer what they received; downloads send `name` back as
/// text/plain (no content type for `untyped`), with an `x-file` header.
fn app() -> Router {
    let service = Arc::new(());
    let upload = |_: Arc<()>, request: tonic::Request<Raw>| async move {
        let file = request.into_inner();
        Ok(tonic::Response::new(Saved {
            name: String::new(),
            content_type: file.content_type,
            size: i64::try_from(file.data.len()).unwrap_or(i64::MAX),
            file: None,
        }))
    };
    let attach = |_: Arc<()>, request: tonic::Request<Upload>| async move {
        let Upload { name, file } = request.into_inner();
        let file = file.unwrap_or_default();
        Ok(tonic::Response::new(Saved {
            name,
            content_type: file.content_type,
            size: i64::try_from(file.data.len()).unwrap_or(i64::MAX),
            file: None,
        }))
    };
    let download = |_: Arc<()>, request: tonic::Request<Upload>| async move {
        let name = request.into_inner().name;
        let content_type = if name == "untyped" { "" } else { "text/plain" };
        let mut response = tonic::Response::new(raw(content_type, name.as_bytes()));
        response
            .metadata_mut()
            .insert("x-file", "yes".parse().expect("ascii"));
        Ok(response)
    };
    let saved_file = |_: Arc<()>, request: tonic::Request<Upload>| async move {
        let name = request.into_inner().name;
        Ok(tonic::Response::new(Saved {
            name: "ignored".into(),
            file: Some(raw("text/markdown", name.as_bytes())),
            ..Saved::default()
        }))
    };
    Router::from(
        HttpRoutes::new()
            .unary(&POOL, &UPLOAD, service.clone(), upload)
            .unary(&POOL, &ATTACH, service.clone(), attach)
            .unary(&POOL, &DOWNLOAD, service.clone(), download)
            .unary(&POOL, &SAVED_FILE, service.clone(), saved_file)
            .server_stream(&POOL, &EXPORT, service, export),
    )
}

type Chunks =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<Raw, tonic::Status>> + Send>>;

/// Three chunks of CSV; `gone` fails before the first, `broken` after it.
async fn export(
    _: Arc<()>,
    request: tonic::Request<Upload>,
) -> Result<tonic::Response<Chunks>, tonic::Status> {
    let name = request.into_inner().name;
    let failure = || crate::Error::new(404, "BLOB_NOT_FOUND", "no such blob").to_status();
    let items: Vec<Result<Raw, tonic::Status>> = match name.as_str() {
        "gone" => vec![Err(failure())],
        "broken" => vec![Ok(raw("text/csv", b"id,title\n")), Err(failure())],
        _ => vec![
            Ok(raw("text/csv", b"id,title\n")),
            Ok(raw("", b"1,a\n")),
            Ok(raw("text/ignored", b"2,b\n")),
        ],
    };
    Ok(tonic::Response::new(Box::pin(tokio_stream::iter(items))))
}

fn post(uri: &str, content_type: Option<&str>, body: &'static [u8]) -> Request<HttpBody> {
    let mut request = Request::post(uri);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.body(HttpBody::from(body)).expect("request")
}

fn get(uri: &str) -> Request<HttpBody> {
    Request::get(uri).body(HttpBody::empty()).expect("request")
}

async fn call(request: Request<HttpBody>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.expect("body");
    (parts.status, parts.headers, bytes.to_vec())
}

fn header<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

fn json(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn an_http_body_request_gets_the_raw_bytes_and_their_content_type() {
    let (status, _, body) = call(post(
        "/v1/blobs",
        Some("text/csv; charset=utf-8"),
        b"id,title\n1,{\"not json\"\n",
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let saved = json(&body);
    assert_eq!(
        (&saved["contentType"], &saved["size"]),
        (&json!("text/csv; charset=utf-8"), &json!("23"))
    );
}

#[tokio::test]
async fn an_http_body_field_takes_the_bytes_and_the_path_the_rest() {
    let (status, _, body) = call(post(
        "/v1/report/files",
        Some("image/png"),
        &[0x89, b'P', b'N', b'G', 0xff, 0x00],
    ))
    .await;

    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let saved = json(&body);
    assert_eq!(
        (&saved["name"], &saved["contentType"], &saved["size"]),
        (&json!("report"), &json!("image/png"), &json!("6")),
        "bytes that are not UTF-8 arrive whole"
    );
}

#[tokio::test]
async fn a_raw_body_without_content_type_is_415_saying_what_to_send() {
    let (status, _, body) = call(post("/v1/blobs", None, b"some bytes")).await;

    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let error = json(&body);
    assert_eq!(error["reason"], "UNSUPPORTED_MEDIA_TYPE");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("send the media type of the bytes")),
        "{error}"
    );
}

#[tokio::test]
async fn an_http_body_reply_is_its_bytes_with_its_content_type() {
    let (status, headers, body) = call(get("/v1/blobs/notes.txt")).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/plain");
    assert_eq!(
        header(&headers, "x-file"),
        "yes",
        "metadata still becomes headers"
    );
    assert_eq!(body, b"notes.txt");
}

#[tokio::test]
async fn an_http_body_reply_ignores_accept() {
    let request = Request::get("/v1/blobs/a")
        .header("accept", "application/x-protobuf")
        .body(HttpBody::empty())
        .expect("request");
    let (status, headers, body) = call(request).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/plain");
    assert_eq!(body, b"a");
}

#[tokio::test]
async fn an_http_body_without_content_type_is_sent_as_octet_stream() {
    let (_, headers, body) = call(get("/v1/blobs/untyped")).await;

    assert_eq!(header(&headers, "content-type"), "application/octet-stream");
    assert_eq!(body, b"untyped");
}

#[tokio::test]
async fn a_response_body_field_of_http_body_is_sent_raw() {
    let (status, headers, body) = call(get("/v1/saved/readme")).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "text/markdown");
    assert_eq!(body, b"readme");
}

#[tokio::test]
async fn a_stream_of_http_body_is_one_download_written_chunk_by_chunk() {
    let response = app()
        .oneshot(get("/v1/blobs/all:export"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(response.headers(), "content-type"),
        "text/csv",
        "the first message's content type"
    );

    let mut body = response.into_body();
    let mut chunks = Vec::new();
    while let Some(frame) = body.frame().await {
        let data = frame.expect("a frame").into_data().expect("data");
        chunks.push(String::from_utf8_lossy(&data).into_owned());
    }
    assert_eq!(chunks, ["id,title\n", "1,a\n", "2,b\n"]);
}

#[tokio::test]
async fn a_download_that_fails_before_its_first_chunk_is_an_error_reply() {
    let (status, headers, body) = call(get("/v1/blobs/gone:export")).await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(json(&body)["reason"], "BLOB_NOT_FOUND");
}

#[tokio::test]
async fn a_download_that_fails_midway_is_cut_short() {
    let response = app()
        .oneshot(get("/v1/blobs/broken:export"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);

    let mut body = response.into_body();
    let first = body
        .frame()
        .await
        .expect("a frame")
        .expect("the header row");
    assert_eq!(first.into_data().expect("data"), "id,title\n");
    let cut = body.frame().await.expect("the failure");
    assert!(
        cut.is_err(),
        "the body errors, so the client sees an incomplete download"
    );
}
