//! gRPC requests that fail for the caller's reasons get the caller's codes, not the
//! INTERNAL or UNKNOWN tonic gives them: those are what page people and fill the
//! error panels.
//!
//! - A request tonic cannot decode (invalid protobuf, a truncated or missing
//!   message, a bad compression flag) is INVALID_ARGUMENT with reason `CODEC`, as
//!   Kratos answers a codec error with 400.
//! - A request whose body could not be read to the end (the client reset the
//!   stream or dropped the connection while sending) is CANCELLED (499) with
//!   reason `CLIENT_CLOSED`.
//! - A request message over `server.grpc.max_message_bytes` is RESOURCE_EXHAUSTED
//!   with reason `PAYLOAD_TOO_LARGE` (tonic says OUT_OF_RANGE), as the gRPC spec
//!   asks and as HTTP answers it with 413.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use http::{Request, Response};
use http_body_util::BodyExt;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

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

/// The reason of a request message over the size limit, as HTTP's 413 names it.
const PAYLOAD_TOO_LARGE: &str = "PAYLOAD_TOO_LARGE";

/// How tonic begins the message of a request message over the size limit.
const TOO_LARGE: &str = "Error, decoded message length too large";

/// The reason of a request whose client went away before sending all of it.
const CLIENT_CLOSED: &str = "CLIENT_CLOSED";

/// Whether reading a request's body failed.
#[derive(Debug, Clone, Default)]
pub(super) struct BodyWatch(Arc<AtomicBool>);

impl BodyWatch {
    /// `request` with a body that notes here when reading it fails.
    pub(super) fn watch(&self, request: Request<Body>) -> Request<Body> {
        let failed = self.0.clone();
        request.map(|body| {
            Body::new(body.map_err(move |err| {
                failed.store(true, Ordering::Relaxed);
                err
            }))
        })
    }

    fn failed(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// `response` with the caller's failures given the caller's codes (see the top of
/// this file), and the status its headers carry. tonic answers those failures
/// before the handler runs, as a trailers-only response, so the status is in the
/// headers; `None` when it follows in the trailers.
pub(super) fn apply(
    response: Response<Body>,
    body: &BodyWatch,
) -> (Response<Body>, Option<Status>) {
    let Some(failure) = Status::from_header_map(response.headers()) else {
        return (response, None);
    };
    let status = if failure.code() != Code::Ok && body.failed() {
        Error::new(
            499,
            CLIENT_CLOSED,
            "the client closed the stream before sending the whole request",
        )
        .with_domain("strata")
        .to_status()
    } else if failure.code() == Code::OutOfRange && failure.message().starts_with(TOO_LARGE) {
        // Built by hand: 413 has no gRPC code in the Kratos mapping `Error` uses.
        let details = ErrorDetails::with_error_info(PAYLOAD_TOO_LARGE, "strata", HashMap::new());
        Status::with_error_details(Code::ResourceExhausted, failure.message(), details)
    } else if failure.code() == Code::Internal
        && DECODE_FAILURES
            .iter()
            .any(|prefix| failure.message().starts_with(prefix))
    {
        Error::new(400, CODEC, failure.message())
            .with_domain("strata")
            .to_status()
    } else {
        return (response, Some(failure));
    };
    (render(Transport::Grpc, status.clone()), Some(status))
}
