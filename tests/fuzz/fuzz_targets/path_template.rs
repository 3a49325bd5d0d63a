//! `google.api.http` path templates (strata-codegen): a template that parses
//! must become an axum route axum accepts (else the service panics at startup),
//! and every capture a path param names must be one the router fills (else the
//! field is silently empty). Input: the template, a newline, a request path.

#![no_main]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::RawPathParams;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use strata_codegen::path_template::{Part, PathParam, PathTemplate};
use tower::ServiceExt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, path) = text.split_once('\n').unwrap_or((text, "/"));
    let Ok(parsed) = PathTemplate::parse(template) else {
        return;
    };
    let Ok(route) = parsed.route() else {
        return;
    };
    let fields: Vec<&str> = route.params.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, parsed.fields(), "{template}: one param per variable");

    let params = Arc::new(route.params.clone());
    let handler = move |captures: RawPathParams| {
        let params = params.clone();
        async move { every_capture_is_filled(&params, &captures) }
    };
    // Panics here if the generator wrote a route axum refuses.
    let router = Router::new().route(&route.path, axum::routing::get(handler));

    let Ok(request) = Request::get(path).body(Body::empty()) else {
        return;
    };
    if !request.uri().path().starts_with('/') {
        return;
    }
    strata_fuzz::block_on(async {
        let response = router.oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        assert!(
            [200, 400, 404].contains(&status),
            "{template} {path}: {status}"
        );
    });
});

fn every_capture_is_filled(params: &[PathParam], captures: &RawPathParams) {
    for param in params {
        for part in &param.parts {
            if let Part::Capture(name) = part {
                assert!(
                    captures.iter().any(|(key, _)| key == name),
                    "{}: the router filled no capture {name}",
                    param.field
                );
            }
        }
    }
}
