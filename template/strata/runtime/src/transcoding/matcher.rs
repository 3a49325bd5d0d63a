//! Which binding a request path is: every template the `google.api.http`
//! rules allow, matched segment by segment (axum's router cannot express a
//! verb after a variable, and does not backtrack between overlapping routes),
//! and the raw text of each path variable.

use std::cmp::Ordering;

use super::{Binding, PathParam, Segment};

/// The raw (still percent-encoded) text of each of `binding.params`, in order,
/// when `path` is one `binding` serves.
pub(super) fn captures<'p>(binding: &Binding, path: &'p str) -> Option<Vec<&'p str>> {
    match_path(binding.segments, binding.verb, binding.params, path)
}

/// The raw text of each of `params` when `path` has the `segments` and `verb`
/// of a route: what the routes of [`HttpRoutes`](super::HttpRoutes) do for
/// each binding (public for the `path_template` fuzz target).
pub fn match_path<'p>(
    segments: &[Segment<'_>],
    verb: Option<&str>,
    params: &[PathParam],
    path: &'p str,
) -> Option<Vec<&'p str>> {
    let mut rest = path.strip_prefix('/')?;
    if let Some(verb) = verb {
        rest = rest.strip_suffix(verb)?.strip_suffix(':')?;
    }
    // Most bindings tried for a request do not match it: find out before
    // allocating anything.
    if !walk(segments, rest, |_| {}) {
        return None;
    }
    // The byte span of `rest` each segment of the route matched.
    let mut spans = Vec::with_capacity(segments.len());
    walk(segments, rest, |span| spans.push(span));
    params
        .iter()
        .map(|param| {
            let (start, _) = spans.get(param.first)?;
            let (_, end) = spans.get(param.end.checked_sub(1)?)?;
            rest.get(*start..*end)
        })
        .collect()
}

/// Whether `rest` (the path without its leading `/` and verb) has exactly the
/// route's `segments`, handing each segment's byte span in `rest` to `matched`.
fn walk(segments: &[Segment<'_>], rest: &str, mut matched: impl FnMut((usize, usize))) -> bool {
    let mut at = 0;
    for segment in segments {
        if at > rest.len() {
            return false;
        }
        let end = match segment {
            Segment::Rest => rest.len(),
            // A byte search: `/` never occurs inside a multi-byte character.
            _ => rest.as_bytes()[at..]
                .iter()
                .position(|&byte| byte == b'/')
                .map_or(rest.len(), |slash| at + slash),
        };
        let text = &rest[at..end];
        let fits = match segment {
            Segment::Literal(literal) => text == *literal,
            Segment::One | Segment::Rest => !text.is_empty(),
        };
        if !fits {
            return false;
        }
        matched((at, end));
        at = end + 1;
    }
    // Segments left over do not match.
    at > rest.len()
}

/// The order bindings are tried in: at the first segment where they differ, a
/// literal before a wildcard before a `**`; then a verb before none. So
/// `/v1/books:batchGet` wins over `/v1/{name}` and `/v1/shelves/{id}` over
/// `/v1/{name=**}`, whatever order the protos list them in.
pub(super) fn more_specific(a: &Binding, b: &Binding) -> Ordering {
    let rank = |segment: &Segment| match segment {
        Segment::Literal(_) => 2,
        Segment::One => 1,
        Segment::Rest => 0,
    };
    let ranks = |binding: &Binding| binding.segments.iter().map(rank).collect::<Vec<u8>>();
    ranks(b)
        .cmp(&ranks(a))
        .then(b.verb.is_some().cmp(&a.verb.is_some()))
}

/// A path variable's text, percent-decoded; one of several segments (or `**`)
/// keeps `%2F` encoded, so the value's own slashes stay apart from escaped ones.
pub(super) fn decode(raw: &str, single_segment: bool) -> Result<String, std::str::Utf8Error> {
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map(|text| text.into_owned())
    };
    if single_segment {
        return decode(raw);
    }
    let mut decoded = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = escaped_slash(rest) {
        decoded.push_str(&decode(&rest[..at])?);
        decoded.push_str(&rest[at..at + 3]);
        rest = &rest[at + 3..];
    }
    decoded.push_str(&decode(rest)?);
    Ok(decoded)
}

/// Where `%2F` (or `%2f`) first occurs in `text`.
fn escaped_slash(text: &str) -> Option<usize> {
    text.as_bytes()
        .windows(3)
        .position(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}
