//! `server.http.max_body_bytes`: a request whose Content-Length is over it is
//! answered 413 before a byte is read; a body of unknown length is cut off at
//! the limit, so the handler's read fails and axum answers 413. It sits inside
//! the guard, which gives either 413 the standard error body.
//!
//! tower-http's `RequestBodyLimit` did this before: it boxed every request body
//! once more, and every response body on the way back, to tell its own 413 from
//! the route's. The 413 here is the one it made, text and headers alike.

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::body::{Body, HttpBody};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Limited;
use tokio_util::either::Either;
use tower::{Layer, Service};

#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimitLayer {
    limit: usize,
}

impl BodyLimitLayer {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BodyLimit<S> {
    inner: S,
    limit: usize,
}

impl<S> Service<Request<Body>> for BodyLimit<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response<Body>, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
        let limit = match declared {
            Some(length) if length > self.limit => return Either::Right(ready(Ok(too_large()))),
            Some(length) => length,
            None => self.limit,
        };
        // A body known to fit (no body, or hyper's, held to its Content-Length)
        // goes on as it is: counting it could never cut it off.
        let fits = request
            .body()
            .size_hint()
            .upper()
            .is_some_and(|upper| upper <= limit as u64);
        let request = if fits {
            request
        } else {
            request.map(|body| Body::new(Limited::new(body, limit)))
        };
        Either::Left(self.inner.call(request))
    }
}

/// 413 as tower-http's `RequestBodyLimit` answered it; the guard rewrites it.
fn too_large() -> Response<Body> {
    let mut response = Response::new(Body::from("length limit exceeded"));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
