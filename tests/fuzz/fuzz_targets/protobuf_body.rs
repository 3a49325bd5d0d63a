//! Protobuf binary request bodies (`application/x-protobuf`), whole or as the
//! `shelf` field, merged with what the path sets. Every body is answered 200 or
//! refused 400 with the standard error body, in either reply format (or 500 when
//! only JSON cannot express the message); a 200's
//! protobuf echo, sent back, decodes to the same message. Input: a byte choosing
//! the route and the reply format, then the body.

#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use prost::Message;
use strata_fuzz::fixture::Request as Fixture;
use strata_fuzz::transcoding::{Reply, assert_error_body, send};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let (method, uri) = if choice & 1 == 0 {
        ("POST", "/v1/items")
    } else {
        ("PATCH", "/v1/shelves/s1")
    };
    let accept = if choice & 2 == 0 {
        "application/x-protobuf"
    } else {
        "application/json"
    };
    let reply = post(method, uri, accept, body.to_vec());
    match reply.status.as_u16() {
        200 if accept == "application/x-protobuf" => {
            let echoed = Fixture::decode(reply.body.clone()).expect("a 200 is the message");
            let again = post("POST", "/v1/items", accept, reply.body.to_vec());
            assert_eq!(again.status, 200, "the echo of {echoed:?} is refused");
            let twice = Fixture::decode(again.body).expect("a 200 is the message");
            assert!(
                same(&twice, &echoed),
                "the protobuf body does not round-trip: {echoed:?} came back as {twice:?}"
            );
        }
        200 => {}
        400 => assert_error_body(&reply),
        // A valid message the JSON mapping cannot express (a FieldMask path with an
        // upper-case letter has no lowerCamelCase form): the reply cannot be
        // written, which is the server's 500 with the standard body, while the
        // same request with a protobuf reply succeeds.
        500 if accept == "application/json" => {
            assert_error_body(&reply);
            let binary = post(method, uri, "application/x-protobuf", body.to_vec());
            assert_eq!(binary.status, 200, "500 for {body:?} is not the JSON mapping's");
        }
        status => panic!("{status} for {body:?} ({accept}): {:?}", reply.body),
    }
});

fn post(method: &str, uri: &str, accept: &str, body: Vec<u8>) -> Reply {
    send(
        Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/x-protobuf")
            .header("accept", accept)
            .body(Body::from(body))
            .expect("a request"),
    )
}

/// Equal field by field, a NaN counting as equal to a NaN: the two float fields may
/// carry one, and `NaN != NaN` would call a faithful round trip a failure.
fn same(a: &Fixture, b: &Fixture) -> bool {
    let nan_free = |message: &Fixture| {
        let mut message = message.clone();
        if message.ratio.is_nan() {
            message.ratio = 0.0;
        }
        if message.score.is_nan() {
            message.score = 0.0;
        }
        message
    };
    a.ratio.is_nan() == b.ratio.is_nan()
        && a.score.is_nan() == b.score.is_nan()
        && nan_free(a) == nan_free(b)
}
