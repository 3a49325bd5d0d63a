//! A request's path and query string into the request message: path variables
//! (percent-decoded, nested, int64, multi-segment, catch-all) and query
//! parameters (dotted paths, repeated, enums, well-known types). Every request
//! is answered 200 with the message as JSON, or refused 400 with the standard
//! error body (or 404/405 by the router); nothing panics and nothing is a 500.
//! Input: the URI after `/v1/`.

#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use strata_fuzz::transcoding::{assert_error_body, send};

fuzz_target!(|data: &[u8]| {
    let Ok(rest) = std::str::from_utf8(data) else {
        return;
    };
    // What hyper would not have parsed never reaches the router.
    let Ok(request) = Request::get(format!("/v1/{rest}")).body(Body::empty()) else {
        return;
    };
    let reply = send(request);
    match reply.status.as_u16() {
        200 => {
            let value: serde_json::Value =
                serde_json::from_slice(&reply.body).expect("a 200 is JSON");
            assert!(value.is_object() || value.is_array(), "{value}");
        }
        400 => assert_error_body(&reply),
        // axum's own answers for an unmatched path or method; in a service the
        // router's fallback gives them the standard body (survives_malformed_input).
        404 | 405 => {}
        status => panic!("{status} for /v1/{rest}: {:?}", reply.body),
    }
});
