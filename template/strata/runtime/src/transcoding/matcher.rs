//! Which binding a request path is: every template the `google.api.http`
//! rules allow, matched segment by segment (axum's router cannot express a
//! verb after a variable, and does not backtrack between overlapping routes),
//! and the raw text of each path variable.

use std::cmp::Ordering;
use std::ops::Range;

use super::{Binding, PathParam, Segment};

/// Where in `path` the raw (still percent-encoded) text of each of
/// `binding.params` lies, in order, when `path` is one `binding` serves.
pub(super) fn captures(binding: &Binding, path: &str) -> Option<Vec<Range<usize>>> {
    spans(binding.segments, binding.verb, binding.params, path)
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
    spans(segments, verb, params, path)?
        .into_iter()
        .map(|range| path.get(range))
        .collect()
}

/// Routes of up to this many segments are matched without allocating.
const STACK_SEGMENTS: usize = 16;

/// [`match_path`] as byte ranges of `path`, found in one walk of the route.
fn spans(
    segments: &[Segment<'_>],
    verb: Option<&str>,
    params: &[PathParam],
    path: &str,
) -> Option<Vec<Range<usize>>> {
    let mut rest = path.strip_prefix('/')?;
    if let Some(verb) = verb {
        rest = rest.strip_suffix(verb)?.strip_suffix(':')?;
    }
    // The byte span of `rest` each segment of the route matched; most bindings
    // tried for a request do not match it, so nothing is allocated for them.
    let mut stack = [(0, 0); STACK_SEGMENTS];
    let mut heap = Vec::new();
    let on_stack = segments.len() <= STACK_SEGMENTS;
    let fits = walk(segments, rest, |index, span| match stack.get_mut(index) {
        Some(slot) if on_stack => *slot = span,
        _ => heap.push(span),
    });
    if !fits {
        return None;
    }
    let spans = if on_stack {
        &stack[..segments.len()]
    } else {
        &heap[..]
    };
    // `rest` starts after the path's `/`.
    params
        .iter()
        .map(|param| {
            let (start, _) = spans.get(param.first)?;
            let (_, end) = spans.get(param.end.checked_sub(1)?)?;
            (start <= end).then(|| start + 1..end + 1)
        })
        .collect()
}

/// Whether `rest` (the path without its leading `/` and verb) has exactly the
/// route's `segments`, handing each segment's index and byte span in `rest` to
/// `matched`.
fn walk(
    segments: &[Segment<'_>],
    rest: &str,
    mut matched: impl FnMut(usize, (usize, usize)),
) -> bool {
    let mut at = 0;
    for (index, segment) in segments.iter().enumerate() {
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
        matched(index, (at, end));
        at = end + 1;
    }
    // Segments left over do not match.
    at > rest.len()
}

/// The text every path `binding` serves has as its first segment, when the
/// route starts with a literal: dispatch tries a request only against the
/// bindings of its path's first segment and those without such a literal.
/// `None` for a lone segment before a verb too (`/v1:batch`), whose text in the
/// path carries the verb.
pub(super) fn first_literal(binding: &Binding) -> Option<&'static str> {
    match binding.segments.first()? {
        Segment::Literal(literal) if binding.segments.len() > 1 || binding.verb.is_none() => {
            Some(literal)
        }
        _ => None,
    }
}

/// A request path's first segment (`v1` of `/v1/notes/1`), as
/// [`first_literal`] compares it.
pub(super) fn first_segment(path: &str) -> Option<&str> {
    let rest = path.strip_prefix('/')?;
    let end = rest
        .bytes()
        .position(|byte| byte == b'/')
        .unwrap_or(rest.len());
    Some(&rest[..end])
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
