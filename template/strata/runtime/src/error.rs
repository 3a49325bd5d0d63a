//! One error type, two renderings, as Kratos' `errors.Error`: a gRPC status with
//! the mapped code and a `google.rpc.ErrorInfo` detail (reason, domain, metadata);
//! on HTTP the mapped status and `{"code","reason","message","metadata"}`. A
//! refused request adds one `google.rpc.BadRequest` field violation per broken
//! rule (`"violations"` in the HTTP body). The
//! constructors `api` generates from `enum ErrorReason` return it, and a client
//! turns a received `Status` back into it to test the reason.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::middleware::Transport;

/// An API error: HTTP status `code`, a machine-readable `reason` within `domain`,
/// a message for humans and string metadata (e.g. the offending `field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: u16,
    reason: String,
    domain: String,
    message: String,
    metadata: BTreeMap<String, String>,
    // Boxed: an `Error` stays small enough to return by value everywhere.
    violations: Box<[Violation]>,
}

/// One broken rule of a refused request: a `google.rpc.BadRequest.FieldViolation`
/// over gRPC, an entry of `"violations"` in the HTTP body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// The field's path in the request: `note.title`, `tags[2]`.
    pub field: String,
    /// The rule's id, as protovalidate names it: `string.max_len`.
    pub rule: String,
    /// What is wrong, for people: `must be at most 200 characters`.
    pub description: String,
}

impl Error {
    /// An error with HTTP status `code`; the gRPC code follows from it
    /// ([`grpc_code`]).
    pub fn new(code: u16, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
            domain: String::new(),
            message: message.into(),
            metadata: BTreeMap::new(),
            violations: Box::default(),
        }
    }

    /// The domain of the reason: the proto package for generated errors.
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = domain.into();
        self
    }

    /// Adds one metadata entry, e.g. `("field", "note.title")`.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds the broken rules of a refused request.
    pub fn with_violations(mut self, violations: impl IntoIterator<Item = Violation>) -> Self {
        let mut all = std::mem::take(&mut self.violations).into_vec();
        all.extend(violations);
        self.violations = all.into_boxed_slice();
        self
    }

    pub fn code(&self) -> u16 {
        self.code
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The error as a gRPC status: the mapped code, the message, an `ErrorInfo`
    /// detail and, for a refused request, a `BadRequest` detail.
    pub fn to_status(&self) -> Status {
        let metadata: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        let mut details =
            ErrorDetails::with_error_info(self.reason.clone(), self.domain.clone(), metadata);
        if !self.violations.is_empty() {
            details.set_bad_request(
                self.violations
                    .iter()
                    .map(field_violation)
                    .collect::<Vec<_>>(),
            );
        }
        Status::with_error_details(grpc_code(self.code), self.message.clone(), details)
    }

    /// The error a status carries: reason, domain and metadata from its
    /// `ErrorInfo`; without one, the code's name is the reason.
    pub fn from_status(status: &Status) -> Self {
        let code = http_status(status.code()).as_u16();
        let details = status.get_error_details();
        match details.error_info() {
            Some(info) => Self {
                code,
                reason: info.reason.clone(),
                domain: info.domain.clone(),
                message: status.message().to_owned(),
                metadata: info.metadata.clone().into_iter().collect(),
                violations: details
                    .bad_request()
                    .map(|bad| bad.field_violations.iter().map(violation).collect())
                    .unwrap_or_default(),
            },
            None => Self::new(code, code_name(status.code()), status.message()),
        }
    }
}

fn field_violation(violation: &Violation) -> FieldViolation {
    FieldViolation {
        field: violation.field.clone(),
        description: violation.description.clone(),
        reason: violation.rule.clone(),
        localized_message: None,
    }
}

fn violation(field: &FieldViolation) -> Violation {
    Violation {
        field: field.field.clone(),
        rule: field.reason.clone(),
        description: field.description.clone(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for Status {
    fn from(error: Error) -> Self {
        error.to_status()
    }
}

impl From<Status> for Error {
    fn from(status: Status) -> Self {
        Self::from_status(&status)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = serde_json::json!({
            "code": code.as_u16(),
            "reason": &self.reason,
            "message": self.message,
            "metadata": self.metadata,
        });
        // Only a refused request carries the list: every other body keeps the
        // standard four keys.
        if !self.violations.is_empty() {
            body["violations"] = serde_json::json!(self.violations);
        }
        json_error(code, self.reason, body)
    }
}

/// The error reason of an HTTP error response, in its extensions, for the access
/// log and metrics.
#[derive(Debug, Clone)]
pub struct ErrorReason(pub String);

/// The standard HTTP error response: `status` and
/// `{"code","reason","message","metadata"}`, with the reason also in the response
/// extensions for the access log and metrics.
pub(crate) fn http_error(
    status: StatusCode,
    reason: String,
    message: String,
    metadata: HashMap<String, String>,
) -> Response {
    let body = serde_json::json!({
        "code": status.as_u16(),
        "reason": &reason,
        "message": message,
        "metadata": metadata,
    });
    json_error(status, reason, body)
}

fn json_error(status: StatusCode, reason: String, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorReason(reason));
    response
}

/// `status` as a response of `transport`: the JSON error body on HTTP, a
/// trailers-only response on gRPC.
pub(crate) fn render(transport: Transport, status: Status) -> Response {
    match transport {
        Transport::Http => Error::from(status).into_response(),
        Transport::Grpc => status.into_http(),
    }
}

/// The gRPC code for an HTTP status, as Kratos maps them: 400 InvalidArgument,
/// 401 Unauthenticated, 403 PermissionDenied, 404 NotFound, 409 Aborted, 429
/// ResourceExhausted, 499 Cancelled, 500 Internal, 501 Unimplemented, 503
/// Unavailable, 504 DeadlineExceeded; any other is Unknown.
pub fn grpc_code(http: u16) -> Code {
    match http {
        200 => Code::Ok,
        400 => Code::InvalidArgument,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::NotFound,
        409 => Code::Aborted,
        429 => Code::ResourceExhausted,
        499 => Code::Cancelled,
        500 => Code::Internal,
        501 => Code::Unimplemented,
        503 => Code::Unavailable,
        504 => Code::DeadlineExceeded,
        _ => Code::Unknown,
    }
}

/// The HTTP status for a gRPC code, as grpc-gateway and Kratos map them.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `INVALID_ARGUMENT` for `Code::InvalidArgument`: the reason when none was given.
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn render(status: Status) -> (StatusCode, serde_json::Value) {
        let response = Error::from(status).into_response();
        let code = response.status();
        let body = to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        (code, serde_json::from_slice(&body).expect("json body"))
    }

    #[tokio::test]
    async fn renders_the_reason_of_an_error_info() {
        let (code, body) = render(
            Error::new(404, "USER_NOT_FOUND", "no such user")
                .with_domain("helloworld.v1")
                .to_status(),
        )
        .await;

        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            serde_json::json!({
                "code": 404, "reason": "USER_NOT_FOUND", "message": "no such user", "metadata": {}
            })
        );
    }

    #[test]
    fn an_error_survives_the_trip_through_a_grpc_status() {
        let sent = Error::new(404, "USER_NOT_FOUND", "no user 7")
            .with_domain("users.v1")
            .with_metadata("id", "7");

        let status = sent.to_status();
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(Error::from(status), sent);
    }

    #[test]
    fn every_mapped_http_status_maps_back_to_itself() {
        for http in [400, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504] {
            assert_eq!(http_status(grpc_code(http)).as_u16(), http, "{http}");
        }
        assert_eq!(grpc_code(418), Code::Unknown);
    }

    #[tokio::test]
    async fn renders_metadata_in_the_http_body() {
        let response = Error::new(400, "INVALID_ARGUMENT", "title must not be empty")
            .with_metadata("field", "title")
            .into_response();

        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body = to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["metadata"], serde_json::json!({"field": "title"}));
    }

    #[tokio::test]
    async fn falls_back_to_the_code_name_without_error_info() {
        let (code, body) = render(Status::unavailable("database down")).await;

        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "UNAVAILABLE");
        assert_eq!(body["message"], "database down");
    }
}
