//! The HTTP/JSON routes of the fixture, as `api` generates them from
//! `google.api.http` options, each echoing the request message it decoded.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::{Body as HttpBody, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use strata::transcoding::{Binding, Body, Part, PathParam, route};
use tower::ServiceExt;

use crate::fixture::{POOL, Request as Message};

const fn binding(
    method: &'static str,
    path: &'static str,
    params: &'static [PathParam],
    body: Body,
) -> Binding {
    Binding {
        operation: "/fuzz.v1.Fuzz/Echo",
        method,
        path,
        input: "fuzz.v1.Request",
        output: "fuzz.v1.Request",
        params,
        body,
        response_body: None,
    }
}

/// `get: "/v1/items/{name}"`
const ITEM: Binding = binding(
    "GET",
    "/v1/items/{name}",
    &[PathParam {
        field: "name",
        parts: &[Part::Capture("name")],
    }],
    Body::None,
);
/// `get: "/v1/{name=shelves/*/books/*}"`
const BOOK: Binding = binding(
    "GET",
    "/v1/shelves/{name_1}/books/{name_3}",
    &[PathParam {
        field: "name",
        parts: &[
            Part::Literal("shelves/"),
            Part::Capture("name_1"),
            Part::Literal("/books/"),
            Part::Capture("name_3"),
        ],
    }],
    Body::None,
);
/// `get: "/v1/{name=files/**}"`
const FILE: Binding = binding(
    "GET",
    "/v1/files/{*name_1}",
    &[PathParam {
        field: "name",
        parts: &[Part::Literal("files/"), Part::Capture("name_1")],
    }],
    Body::None,
);
/// `get: "/v1/users/{inner.label}/counts/{count}"`: a nested field and an int64.
const COUNT: Binding = binding(
    "GET",
    "/v1/users/{label}/counts/{count}",
    &[
        PathParam {
            field: "inner.label",
            parts: &[Part::Capture("label")],
        },
        PathParam {
            field: "count",
            parts: &[Part::Capture("count")],
        },
    ],
    Body::None,
);
/// `get: "/v1/tags" response_body: "tags"`
const TAGS: Binding = Binding {
    response_body: Some("tags"),
    ..binding("GET", "/v1/tags", &[], Body::None)
};
/// `post: "/v1/items" body: "*"`
pub const CREATE: Binding = binding("POST", "/v1/items", &[], Body::All);
/// `patch: "/v1/shelves/{shelf.name}" body: "shelf"`
pub const PATCH: Binding = binding(
    "PATCH",
    "/v1/shelves/{name}",
    &[PathParam {
        field: "shelf.name",
        parts: &[Part::Capture("name")],
    }],
    Body::Field("shelf"),
);
/// `post: "/v1/counts/{count}" body: "items"`: the body is a repeated field.
pub const ITEMS: Binding = binding(
    "POST",
    "/v1/counts/{count}",
    &[PathParam {
        field: "count",
        parts: &[Part::Capture("count")],
    }],
    Body::Field("items"),
);

static ROUTER: LazyLock<Router> = LazyLock::new(|| {
    let echo = |_: Arc<()>, request: tonic::Request<Message>| async move {
        Ok(tonic::Response::new(request.into_inner()))
    };
    let service = Arc::new(());
    let mut router = Router::new();
    for binding in [&ITEM, &BOOK, &FILE, &COUNT, &TAGS, &CREATE, &PATCH, &ITEMS] {
        router = router.route(binding.path, route(&POOL, binding, service.clone(), echo));
    }
    router
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
