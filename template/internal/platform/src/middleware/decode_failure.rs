//! A gRPC request tonic cannot decode (invalid protobuf, a truncated or missing
//! message, a bad compression flag) is answered INVALID_ARGUMENT with reason
//! `CODEC`, not the INTERNAL tonic gives it: the fault is the caller's, and
//! INTERNAL is what pages people and fills the error panels. Kratos answers a
//! codec error with 400 the same way.

use axum::body::Body;
use http::Response;
use tonic::{Code, Status};

use super::Transport;
use crate::error::{Error, render};

/// The reason of a request that could not be decoded.
const CODEC: &str = "CODEC";

/// How tonic (and tonic-prost) begin the message of a request decoding failure.
const DECODE_FAILURES: &[&str] = &[
    "failed to decode Protobuf message",
    "Unexpected EOF decoding stream",
    "Missing request message",
    "protocol error: received message with",
    "Error decompressing",
];

/// `response` with a decoding failure's INTERNAL turned into INVALID_ARGUMENT.
/// tonic answers those before the handler runs, as a trailers-only response, so
/// the status is in the headers.
pub(super) fn as_invalid_argument(response: Response<Body>) -> Response<Body> {
    let Some(failure) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let is_decode_failure = failure.code() == Code::Internal
        && DECODE_FAILURES
            .iter()
            .any(|prefix| failure.message().starts_with(prefix));
    if !is_decode_failure {
        return response;
    }
    render(
        Transport::Grpc,
        Error::new(400, CODEC, failure.message())
            .with_domain("platform")
            .to_status(),
    )
}
