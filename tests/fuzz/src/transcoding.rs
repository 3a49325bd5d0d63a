//! The HTTP/JSON routes of the fixture, as `api` generates them from
//! `google.api.http` options, each echoing the request message it decoded.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body as HttpBody, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use strata::transcoding::Segment::{Literal, One, Rest};
use strata::transcoding::{Binding, Body, HttpRoutes, PathParam, Segment};
use tower::ServiceExt;

use crate::fixture::{POOL, Request as Message};

const fn binding(
    method: &'static str,
    path: &'static str,
    segments: &'static [Segment<'static>],
    params: &'static [PathParam],
    body: Body,
) -> Binding {
    Binding {
        operation: "/fuzz.v1.Fuzz/Echo",
        method,
        path,
        segments,
        verb: None,
        input: "fuzz.v1.Request",
        output: "fuzz.v1.Request",
        params,
        body,
        response_body: None,
    }
}

const fn param(field: &'static str, first: usize, end: usize) -> PathParam {
    PathParam { field, first, end }
}

/// `get: "/v1/items/{name}"`
const ITEM: Binding = binding(
    "GET",
    "/v1/items/{name}",
    &[Literal("v1"), Literal("items"), One],
    &[param("name", 2, 3)],
    Body::None,
);
/// `get: "/v1/{name=shelves/*/books/*}"`
const BOOK: Binding = binding(
    "GET",
    "/v1/shelves/{name_1}/books/{name_3}",
    &[Literal("v1"), Literal("shelves"), One, Literal("books"), One],
    &[param("name", 1, 5)],
    Body::None,
);
/// `get: "/v1/{name=shelves/*/books/*}:move"`: a verb after a variable.
const MOVE: Binding = Binding {
    verb: Some("move"),
    ..BOOK
};
/// `get: "/v1/{name=files/**}"`
const FILE: Binding = binding(
    "GET",
    "/v1/files/{name_1}",
    &[Literal("v1"), Literal("files"), Rest],
    &[param("name", 1, 3)],
    Body::None,
);
/// `get: "/v1/{name=files/**}:download"`: a verb after a catch-all.
const DOWNLOAD: Binding = Binding {
    verb: Some("download"),
    ..FILE
};
/// `get: "/v1/users/{inner.label}/counts/{count}"`: a nested field and an int64.
const COUNT: Binding = binding(
    "GET",
    "/v1/users/{label}/counts/{count}",
    &[Literal("v1"), Literal("users"), One, Literal("counts"), One],
    &[param("inner.label", 2, 3), param("count", 4, 5)],
    Body::None,
);
/// `get: "/v1/tags" response_body: "tags"`
const TAGS: Binding = Binding {
    response_body: Some("tags"),
    ..binding(
        "GET",
        "/v1/tags",
        &[Literal("v1"), Literal("tags")],
        &[],
        Body::None,
    )
};
/// `get: "/v1/tags:batchGet"`: a verb on a collection.
const BATCH: Binding = Binding {
    verb: Some("batchGet"),
    ..binding(
        "GET",
        "/v1/tags:batchGet",
        &[Literal("v1"), Literal("tags")],
        &[],
        Body::None,
    )
};
/// `post: "/v1/items" body: "*"`
pub const CREATE: Binding = binding(
    "POST",
    "/v1/items",
    &[Literal("v1"), Literal("items")],
    &[],
    Body::All,
);
/// `patch: "/v1/shelves/{shelf.name}" body: "shelf"`
pub const PATCH: Binding = binding(
    "PATCH",
    "/v1/shelves/{name}",
    &[Literal("v1"), Literal("shelves"), One],
    &[param("shelf.name", 2, 3)],
    Body::Field("shelf"),
);
/// `post: "/v1/counts/{count}" body: "items"`: the body is a repeated field.
pub const ITEMS: Binding = binding(
    "POST",
    "/v1/counts/{count}",
    &[Literal("v1"), Literal("counts"), One],
    &[param("count", 2, 3)],
    Body::Field("items"),
);

static ROUTER: LazyLock<Router> = LazyLock::new(|| {
    let echo = |_: Arc<()>, request: tonic::Request<Message>| async move {
        Ok(tonic::Response::new(request.into_inner()))
    };
    let service = Arc::new(());
    let mut routes = HttpRoutes::new();
    for binding in [
        &ITEM, &BOOK, &MOVE, &FILE, &DOWNLOAD, &COUNT, &TAGS, &BATCH, &CREATE, &PATCH, &ITEMS,
    ] {
        routes = routes.unary(&POOL, binding, service.clone(), echo);
    }
    Router::from(routes)
});

/// What came back.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// `request` through the routes.
pub fn send(request: Request<HttpBody>) -> Reply {
    crate::block_on(async {
        let response = ROUTER
            .clone()
            .oneshot(request)
            .await
            .expect("a router is infallible");
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("a reply body is in memory");
        Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
}

/// A refusal must be the standard error body, naming a reason.
pub fn assert_error_body(reply: &Reply) {
    let value: serde_json::Value = serde_json::from_slice(&reply.body).unwrap_or_else(|err| {
        panic!(
            "{} with a body that is not JSON ({err}): {:?}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        )
    });
    assert!(
        value.get("reason").is_some_and(serde_json::Value::is_string),
        "{} without a reason: {value}",
        reply.status
    );
}
