//! One error value, two renderings: a gRPC status carries the reason in a
//! `google.rpc.ErrorInfo` detail; HTTP renders the same status as
//! `{"code","reason","message","metadata"}` with the matching HTTP status.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::middleware::Transport;

/// A gRPC status with an `ErrorInfo` detail naming `reason` in `domain`.
pub fn status(code: Code, reason: &str, domain: &str, message: impl Into<String>) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, domain, HashMap::<String, String>::new()),
    )
}

/// The error reason of an HTTP error response, in its extensions, for the access
/// log and metrics.
#[derive(Debug, Clone)]
pub struct ErrorReason(pub String);

/// A [`Status`] rendered as an HTTP response. Handlers return `Result<_, HttpError>`
/// and `?` the status the gRPC implementation returned.
#[derive(Debug)]
pub struct HttpError(pub Status);

impl From<Status> for HttpError {
    fn from(status: Status) -> Self {
        Self(status)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let details = self.0.get_error_details();
        let (reason, metadata) = details
            .error_info()
            .map(|info| (info.reason.clone(), info.metadata.clone()))
            .unwrap_or_else(|| (code_name(self.0.code()).to_owned(), HashMap::new()));
        http_error(
            http_status(self.0.code()),
            reason,
            self.0.message().to_owned(),
            metadata,
        )
    }
}

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
    let mut response = (status, axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorReason(reason));
    response
}

/// `status` as a response of `transport`: the JSON error body on HTTP, a
/// trailers-only response on gRPC.
pub(crate) fn render(transport: Transport, status: Status) -> Response {
    match transport {
        Transport::Http => HttpError(status).into_response(),
        Transport::Grpc => status.into_http(),
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
        let response = HttpError(status).into_response();
        let code = response.status();
        let body = to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        (code, serde_json::from_slice(&body).expect("json body"))
    }

    #[tokio::test]
    async fn renders_the_reason_of_an_error_info() {
        let (code, body) = render(status(
            Code::NotFound,
            "USER_NOT_FOUND",
            "helloworld.v1",
            "no such user",
        ))
        .await;

        assert_eq!(code, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            serde_json::json!({
                "code": 404, "reason": "USER_NOT_FOUND", "message": "no such user", "metadata": {}
            })
        );
    }

    #[tokio::test]
    async fn falls_back_to_the_code_name_without_error_info() {
        let (code, body) = render(Status::unavailable("database down")).await;

        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["reason"], "UNAVAILABLE");
        assert_eq!(body["message"], "database down");
    }
}
