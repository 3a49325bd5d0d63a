//! 401 and 403, in the standard error body of each transport.

use axum::body::Body;
use axum::response::IntoResponse;
use http::header::WWW_AUTHENTICATE;
use http::{HeaderValue, Response};

use crate::error::{Error, render};
use crate::middleware::Transport;

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denied {
    /// No token, or one that does not verify: what is wrong with it.
    Unauthenticated(String),
    /// A valid token without these (space-separated) scopes.
    Forbidden(String),
}

impl Denied {
    fn error(&self) -> Error {
        match self {
            Self::Unauthenticated(why) => Error::new(401, "UNAUTHENTICATED", why.clone()),
            Self::Forbidden(scopes) => Error::new(
                403,
                "PERMISSION_DENIED",
                format!("the token lacks the scope this operation requires: {scopes}"),
            )
            .with_metadata("scope", scopes.clone()),
        }
        .with_domain("strata")
    }

    /// HTTP: the JSON error body with `WWW-Authenticate` (RFC 6750); gRPC:
    /// UNAUTHENTICATED or PERMISSION_DENIED with an ErrorInfo.
    pub(crate) fn render(&self, transport: Transport) -> Response<Body> {
        let error = self.error();
        if transport == Transport::Grpc {
            return render(transport, error.to_status());
        }
        let challenge = match self {
            Self::Unauthenticated(_) => r#"Bearer error="invalid_token""#.to_owned(),
            Self::Forbidden(scopes) => {
                format!(r#"Bearer error="insufficient_scope", scope="{scopes}""#)
            }
        };
        let mut response = error.into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}
