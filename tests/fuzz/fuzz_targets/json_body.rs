//! Proto3 JSON request bodies: the whole message (`body: "*"`), a message
//! field and a repeated field (`body: "items"`). Every body is answered 200 or
//! refused 400 with the standard error body; and what a 200 echoes, sent back,
//! decodes to the same message (the JSON mapping round-trips). Input: a byte
//! choosing the route, then the body.

#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use strata_fuzz::transcoding::{Reply, assert_error_body, send};

fuzz_target!(|data: &[u8]| {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let (method, uri) = match route % 3 {
        0 => ("POST", "/v1/items"),
        1 => ("PATCH", "/v1/shelves/s1"),
        _ => ("POST", "/v1/counts/7"),
    };
    let reply = post(method, uri, body.to_vec());
    match reply.status.as_u16() {
        200 if uri == "/v1/items" => {
            let again = post(method, uri, reply.body.to_vec());
            assert_eq!(again.status, 200, "the echo of {:?} is refused", reply.body);
            assert_eq!(again.body, reply.body, "the JSON mapping does not round-trip");
        }
        200 => {}
        400 => assert_error_body(&reply),
        status => panic!("{status} for {:?}: {:?}", String::from_utf8_lossy(body), reply.body),
    }
});

fn post(method: &str, uri: &str, body: Vec<u8>) -> Reply {
    send(
        Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("a request"),
    )
}
