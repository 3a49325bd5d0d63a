//! `google.api.http` path templates (strata-codegen) and the runtime's matching
//! of them (strata::transcoding): a template that parses must become a route
//! with one param per variable; the path the template itself describes (each
//! `*` one segment, `**` two) must match it, every variable reading back the
//! text it covers; and any request path is matched or refused without a panic,
//! a match giving every variable non-empty text. Input: the template, a
//! newline, a request path.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::transcoding::{PathParam, Segment, match_path};
use strata_codegen::path_template::{PathTemplate, RouteSegment};

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

    let segments: Vec<Segment<'_>> = route
        .segments
        .iter()
        .map(|segment| match segment {
            RouteSegment::Literal(text) => Segment::Literal(text),
            RouteSegment::One => Segment::One,
            RouteSegment::Rest => Segment::Rest,
        })
        .collect();
    let params: Vec<PathParam> = route
        .params
        .iter()
        .map(|p| PathParam {
            field: "",
            first: p.first,
            end: p.end,
        })
        .collect();
    let verb = route.verb.as_deref();

    // The template's own path.
    let texts: Vec<&str> = route
        .segments
        .iter()
        .map(|segment| match segment {
            RouteSegment::Literal(text) => text.as_str(),
            RouteSegment::One => "x",
            RouteSegment::Rest => "y/z",
        })
        .collect();
    let mut own = format!("/{}", texts.join("/"));
    if let Some(verb) = verb {
        own.push(':');
        own.push_str(verb);
    }
    let captures = match_path(&segments, verb, &params, &own)
        .unwrap_or_else(|| panic!("{template}: its own path {own} does not match"));
    for (param, captured) in route.params.iter().zip(&captures) {
        assert_eq!(
            *captured,
            texts[param.first..param.end].join("/"),
            "{template} {own}: {}",
            param.field
        );
    }

    // Any other path: no panic, and a match fills every variable.
    if let Some(captures) = match_path(&segments, verb, &params, path) {
        assert_eq!(captures.len(), params.len(), "{template} {path}");
        assert!(
            captures.iter().all(|text| !text.is_empty()),
            "{template} {path}: an empty variable"
        );
    }
});
