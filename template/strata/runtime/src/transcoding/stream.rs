//! Server-streaming rpcs over HTTP: one message per Server-Sent Event
//! (`text/event-stream`, `data: <proto3 JSON>`), or one per line of
//! newline-delimited JSON when the client sends `Accept: application/x-ndjson`.
//! A status the stream ends with is a last `event: error` (SSE) or
//! `{"error": ...}` line (NDJSON) holding the standard error body. The body
//! pulls messages from the service's stream as the client reads; when the
//! client goes away the body, and with it the service's stream, is dropped.

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use axum::body::Body as HttpBody;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use prost::Message;
use serde_json::json;
use tokio_stream::{Stream, StreamExt};
use tonic::Status;
use tonic::metadata::MetadataMap;

use super::{Transcoder, encode};
use crate::error::Error;

const SSE: &str = "text/event-stream";
const NDJSON: &str = "application/x-ndjson";

/// How the messages are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Sse,
    Ndjson,
}

impl Framing {
    fn negotiate(headers: &axum::http::HeaderMap) -> Self {
        let accepts_ndjson = headers
            .get(ACCEPT)
            .and_then(|accept| accept.to_str().ok())
            .is_some_and(|accept| accept.contains(NDJSON));
        if accepts_ndjson {
            Self::Ndjson
        } else {
            Self::Sse
        }
    }

    fn message(self, json: &[u8]) -> Vec<u8> {
        match self {
            Self::Sse => [b"data: ", json, b"\n\n"].concat(),
            Self::Ndjson => [json, b"\n"].concat(),
        }
    }

    fn error(self, error: &Error) -> Vec<u8> {
        let body = json!({
            "code": error.code(),
            "reason": error.reason(),
            "message": error.message(),
            "metadata": error.metadata(),
        });
        match self {
            Self::Sse => format!("event: error\ndata: {body}\n\n").into_bytes(),
            Self::Ndjson => format!("{}\n", json!({ "error": body })).into_bytes(),
        }
    }
}

impl Transcoder {
    /// Decodes the request as a unary call does, calls the rpc and streams what
    /// it sends. A status before the first message is an ordinary error reply.
    pub(super) async fn server_stream<Req, Res, S, Fut>(
        self: Arc<Self>,
        request: Request,
        captures: Vec<Range<usize>>,
        call: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> Response
    where
        Req: Message + Default,
        Res: Message + 'static,
        S: Stream<Item = Result<Res, Status>> + Send + 'static,
        Fut: Future<Output = Result<tonic::Response<S>, Status>>,
    {
        crate::middleware::tag_operation(request.extensions(), self.binding.operation);
        crate::middleware::tag_route(request.extensions(), self.binding.path);
        let mut request = request;
        if let Some(refused) = crate::auth::check_http(&mut request, self.binding.operation).await {
            return refused;
        }
        let (mut parts, body) = request.into_parts();
        let framing = Framing::negotiate(&parts.headers);
        let message: Req = match self.decode(&mut parts, &captures, body).await {
            Ok(message) => message,
            Err(error) => return error.into_response(),
        };
        let request = tonic::Request::from_parts(
            MetadataMap::from_headers(parts.headers),
            parts.extensions,
            message,
        );
        let (metadata, messages, _) = match call(request).await {
            Ok(response) => response.into_parts(),
            Err(status) => return encode::error(status),
        };
        if self.raw_response {
            return self.raw_stream(metadata, messages).await;
        }
        let transcoder = self.clone();
        let frames = messages
            .map(move |item| match item.map_err(Error::from) {
                Ok(message) => match transcoder.json(&message) {
                    Ok(json) => Ok(framing.message(&json)),
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            })
            // The first error is the last frame.
            .map_while({
                let mut ended = false;
                move |frame| {
                    if ended {
                        return None;
                    }
                    Some(match frame {
                        Ok(bytes) => bytes,
                        Err(error) => {
                            ended = true;
                            framing.error(&error)
                        }
                    })
                }
            })
            .map(Ok::<_, std::convert::Infallible>);
        let mut response = HttpBody::from_stream(frames).into_response();
        let headers = response.headers_mut();
        headers.extend(encode::metadata_headers(metadata));
        let content_type = match framing {
            Framing::Sse => SSE,
            Framing::Ndjson => NDJSON,
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }
}
