//! Request heads a careful server refuses before routing them, on the HTTP and
//! admin listeners alike, with the standard error body: an HTTP/1.1 request
//! without exactly one valid `Host` (RFC 9112 §3.2), a `Host` that names another
//! authority than HTTP/2's `:authority` (RFC 9113 §8.3.1), and a header list over
//! the limit (431; RESOURCE_EXHAUSTED on the gRPC listener). The transports read
//! heads up to twice the limit ([`transport_ceiling`]); beyond it hyper and h2
//! answer a bare 431 themselves.

use std::collections::HashMap;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{CONNECTION, HOST};
use http::uri::Authority;
use http::{HeaderValue, Request, StatusCode, Version};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::error::Error;
use crate::middleware::{mark_api_reply, reason_of};

/// Bytes HTTP/2 adds to each field's name and value when it sizes a header list
/// (RFC 9113 §6.5.2); HTTP/1 heads are sized the same way, so one limit means one
/// thing on both.
const FIELD_OVERHEAD: usize = 32;

/// How large a head the transports read (HTTP/1's buffer, HTTP/2's
/// SETTINGS_MAX_HEADER_LIST_SIZE) for a limit of `max_header_bytes`: room to read
/// a head somewhat over the limit whole, so it gets the standard answer.
pub(super) fn transport_ceiling(max_header_bytes: usize) -> usize {
    max_header_bytes.saturating_mul(2)
}

/// The refusal for `request`, or `None` when its head is acceptable.
pub(super) fn refusal<B>(request: &Request<B>, max_header_bytes: usize) -> Option<Response> {
    if let Some(message) = too_large(request, max_header_bytes) {
        let code = StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
        return Some(refuse(request, code, message));
    }
    host_problem(request).map(|problem| refuse(request, StatusCode::BAD_REQUEST, problem))
}

/// The refusal of a gRPC call whose metadata is over the limit:
/// RESOURCE_EXHAUSTED (reason `REQUEST_HEADER_FIELDS_TOO_LARGE`), as gRPC answers
/// metadata over its limit; h2's bare 431 would reach the client as UNKNOWN.
/// Checked in the connection's service rather than as a router layer, which would
/// add a boxed future to every call a flood holds open.
pub(super) fn grpc_refusal<B>(request: &Request<B>, max_header_bytes: usize) -> Option<Response> {
    let message = too_large(request, max_header_bytes)?;
    let reason = reason_of(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let details = ErrorDetails::with_error_info(reason, "strata", HashMap::new());
    Some(
        Status::with_error_details(Code::ResourceExhausted, message, details)
            .into_http::<Body>()
            .into_response(),
    )
}

/// What is too large about `request`'s head, if it is.
fn too_large<B>(request: &Request<B>, max_header_bytes: usize) -> Option<String> {
    let size = header_list_size(request);
    (size > max_header_bytes).then(|| {
        format!("request headers take {size} bytes, more than the {max_header_bytes} this server accepts")
    })
}

/// The header list size as HTTP/2 counts it: every field, and the pseudo-fields
/// (`:method`, `:path`, `:scheme`, `:authority`) the request line carries.
fn header_list_size<B>(request: &Request<B>) -> usize {
    let uri = request.uri();
    let pseudo = [
        (":method".len(), request.method().as_str().len()),
        (
            ":path".len(),
            uri.path_and_query().map_or(0, |path| path.as_str().len()),
        ),
        (":scheme".len(), uri.scheme_str().map_or(0, str::len)),
        (
            ":authority".len(),
            uri.authority()
                .map_or(0, |authority| authority.as_str().len()),
        ),
    ];
    let fields = request
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().len(), value.len()));
    pseudo
        .into_iter()
        .filter(|(_, value)| *value > 0)
        .chain(fields)
        .map(|(name, value)| name + value + FIELD_OVERHEAD)
        .sum()
}

/// What is wrong with the request's `Host`, if anything. HTTP/2 requests name
/// their authority in `:authority` and need no `Host`; an HTTP/1.1 request in
/// absolute form still needs one, but its target's authority wins (RFC 9112 §3.2.2).
fn host_problem<B>(request: &Request<B>) -> Option<String> {
    let mut hosts = request.headers().get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Some("a request must carry one Host header, not several".to_owned());
    }
    let Some(host) = host else {
        return (request.version() == Version::HTTP_11)
            .then(|| "an HTTP/1.1 request must carry a Host header".to_owned());
    };
    let Ok(host) = Authority::try_from(host.as_bytes()) else {
        return Some("the Host header is not a valid host[:port]".to_owned());
    };
    match request.uri().authority() {
        Some(authority) if request.version() == Version::HTTP_2 && *authority != host => {
            Some("the Host header names another authority than :authority".to_owned())
        }
        _ => None,
    }
}

/// The standard error body for `code`, with `Connection: close` on HTTP/1: a
/// client that sends such a head may disagree with the server on where the next
/// request begins.
fn refuse<B>(request: &Request<B>, code: StatusCode, message: String) -> Response {
    let mut response = Error::new(code.as_u16(), reason_of(code), message)
        .with_domain("strata")
        .into_response();
    mark_api_reply(response.headers_mut());
    if request.version() < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: Version, target: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut request = Request::builder().version(version).uri(target);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).expect("request")
    }

    fn refused(request: &Request<()>) -> Option<StatusCode> {
        refusal(request, 1024).map(|response| response.status())
    }

    #[test]
    fn wants_exactly_one_host_on_http1_1() {
        let bad = Some(StatusCode::BAD_REQUEST);
        assert_eq!(
            refused(&head(Version::HTTP_11, "/", &[("host", "a")])),
            None
        );
        assert_eq!(refused(&head(Version::HTTP_11, "/", &[])), bad);
        assert_eq!(
            refused(&head(
                Version::HTTP_11,
                "/",
                &[("host", "a"), ("host", "a")]
            )),
            bad
        );
        assert_eq!(
            refused(&head(Version::HTTP_11, "/", &[("host", "a b")])),
            bad
        );
        assert_eq!(refused(&head(Version::HTTP_10, "/", &[])), None);
        assert_eq!(
            refused(&head(Version::HTTP_11, "http://a/x", &[("host", "b")])),
            None,
            "absolute form: the target's authority wins"
        );
    }

    #[test]
    fn takes_http2_authority_instead_of_host() {
        let bad = Some(StatusCode::BAD_REQUEST);
        assert_eq!(refused(&head(Version::HTTP_2, "http://a/x", &[])), None);
        assert_eq!(
            refused(&head(Version::HTTP_2, "http://a/x", &[("host", "a")])),
            None
        );
        assert_eq!(
            refused(&head(Version::HTTP_2, "http://a/x", &[("host", "b")])),
            bad
        );
    }

    #[test]
    fn sizes_the_header_list_as_http2_does() {
        let request = head(Version::HTTP_11, "/ab", &[("host", "h"), ("x", "yz")]);
        // :method GET, :path /ab, host h, x yz
        assert_eq!(
            header_list_size(&request),
            (7 + 3) + (5 + 3) + (4 + 1) + (1 + 2) + 4 * 32
        );
        let large = "v".repeat(1024);
        let request = head(Version::HTTP_11, "/", &[("host", "h"), ("x", &large)]);
        assert_eq!(
            refused(&request),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }
}
