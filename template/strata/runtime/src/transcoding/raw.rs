//! `google.api.HttpBody`: raw bytes in and out, as grpc-gateway and Envoy serve
//! it. A request that is an HttpBody (`body: "*"`), or whose body field is one,
//! gets the request's bytes as `data` and its Content-Type as `content_type`;
//! the rest of the request still comes from the path and the query string. A
//! reply that is an HttpBody (or whose `response_body` field is one) is sent as
//! its `data` with its `content_type`. A server stream of HttpBody is one
//! download: the first message's `content_type`, then every message's `data` as
//! it comes.

use axum::body::{Body as HttpBody, Bytes};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use tokio_stream::{Stream, StreamExt};
use tonic::Status;
use tonic::metadata::MetadataMap;

use super::{Body, Transcoder, encode};
use crate::error::Error;

/// The full name of the message that carries raw bytes.
pub(crate) const HTTP_BODY: &str = "google.api.HttpBody";

/// What a download without a `content_type` is sent as.
const OCTET_STREAM: &str = "application/octet-stream";

/// Where a raw request body goes.
pub(super) enum RawRequest {
    /// The request message is the HttpBody.
    Whole,
    /// The body field (`body: "file"`) is one, of this descriptor.
    Field(FieldDescriptor, MessageDescriptor),
}

impl RawRequest {
    /// Raw when the rule's body is an HttpBody; `None` for a JSON body.
    pub(super) fn of(input: &MessageDescriptor, body: Body) -> Option<Self> {
        match body {
            Body::None => None,
            Body::All => is_http_body(input).then_some(Self::Whole),
            Body::Field(name) => {
                let field = input.get_field_by_name(name)?;
                match field.kind() {
                    Kind::Message(kind) if is_http_body(&kind) && !field.is_list() => {
                        Some(Self::Field(field, kind))
                    }
                    _ => None,
                }
            }
        }
    }

    /// The HttpBody's descriptor, `input` being the request's.
    pub(super) fn descriptor(&self, input: &MessageDescriptor) -> MessageDescriptor {
        match self {
            Self::Whole => input.clone(),
            Self::Field(_, body) => body.clone(),
        }
    }

    /// Puts `content` into `message`, over anything the path set in it.
    pub(super) fn fill(&self, message: &mut DynamicMessage, content: DynamicMessage) {
        match self {
            Self::Whole => {
                for (field, value) in content.fields() {
                    message.set_field(&field, value.clone());
                }
            }
            Self::Field(field, _) => message.set_field(field, Value::Message(content)),
        }
    }
}

/// Whether `message` is `google.api.HttpBody`.
pub(super) fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == HTTP_BODY
}

/// The request's bytes and Content-Type as an HttpBody of `descriptor`. A body
/// without a Content-Type is refused: the service could not tell what it holds.
pub(super) fn request_body(
    descriptor: MessageDescriptor,
    parts: &Parts,
    bytes: Bytes,
) -> Result<DynamicMessage, Error> {
    let content_type = match parts.headers.get(CONTENT_TYPE) {
        Some(value) => value.to_str().map_err(|_| {
            Error::new(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "the Content-Type header is not visible ASCII",
            )
        })?,
        None if bytes.is_empty() => "",
        None => {
            return Err(Error::new(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "the request has a body but no Content-Type; send the media type of the \
                 bytes, e.g. Content-Type: text/csv",
            ));
        }
    };
    let mut message = DynamicMessage::new(descriptor);
    message.set_field_by_name("content_type", Value::String(content_type.to_owned()));
    message.set_field_by_name("data", Value::Bytes(bytes));
    Ok(message)
}

/// An HttpBody's media type and bytes.
struct Content {
    content_type: HeaderValue,
    data: Bytes,
}

impl Transcoder {
    /// The reply's HttpBody as the response: its bytes with its Content-Type,
    /// the call's metadata as headers.
    pub(super) fn raw_reply<Res: Message>(&self, response: tonic::Response<Res>) -> Response {
        let (metadata, message, _) = response.into_parts();
        match self.content(&message) {
            Ok(content) => with_headers(
                HttpBody::from(content.data),
                &content.content_type,
                metadata,
            ),
            Err(error) => error.into_response(),
        }
    }

    /// A server stream of HttpBody as one download. A status before the first
    /// message is an ordinary error reply; one after it cuts the download short
    /// (the status line is gone by then), so the client sees an incomplete body.
    pub(super) async fn raw_stream<Res, S>(&self, metadata: MetadataMap, messages: S) -> Response
    where
        Res: Message + 'static,
        S: Stream<Item = Result<Res, Status>> + Send + 'static,
    {
        let mut messages = Box::pin(messages);
        let first = match messages.next().await {
            Some(Ok(first)) => first,
            Some(Err(status)) => return encode::error(status),
            None => return with_headers(HttpBody::empty(), &octet_stream(), metadata),
        };
        let first = match self.content(&first) {
            Ok(first) => first,
            Err(error) => return error.into_response(),
        };
        let output = self.output.clone();
        let field = self.response_field.clone();
        let operation = self.binding.operation;
        let rest = messages.map(move |item| {
            let content = item.map_err(Error::from).and_then(|message| {
                content_of(&output, field.as_ref(), &message).map(|content| content.data)
            });
            content.map_err(|error| {
                tracing::warn!(operation, error = %error, "a streamed download failed; cutting it short");
                std::io::Error::other(error.message().to_owned())
            })
        });
        let chunks = tokio_stream::once(Ok(first.data)).chain(rest);
        with_headers(HttpBody::from_stream(chunks), &first.content_type, metadata)
    }

    fn content<Res: Message>(&self, message: &Res) -> Result<Content, Error> {
        content_of(&self.output, self.response_field.as_ref(), message)
    }
}

/// The HttpBody in `message` (the whole reply, or its `field`).
fn content_of<Res: Message>(
    output: &MessageDescriptor,
    field: Option<&FieldDescriptor>,
    message: &Res,
) -> Result<Content, Error> {
    let reply = DynamicMessage::decode(output.clone(), message.encode_to_vec().as_slice())
        .map_err(|err| encode::internal(format!("re-decoding {}: {err}", output.full_name())))?;
    let body = match field {
        Some(field) => reply
            .get_field(field)
            .as_message()
            .cloned()
            .ok_or_else(|| encode::internal(format!("{} is not a message", field.full_name())))?,
        None => reply,
    };
    let text = |name: &str| {
        body.get_field_by_name(name)
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let data = body
        .get_field_by_name("data")
        .and_then(|value| value.as_bytes().cloned())
        .unwrap_or_default();
    let content_type = match text("content_type").as_str() {
        "" => octet_stream(),
        given => HeaderValue::from_str(given).map_err(|_| {
            encode::internal(format!(
                "{HTTP_BODY}.content_type {given:?} is not a valid header value"
            ))
        })?,
    };
    Ok(Content { content_type, data })
}

fn octet_stream() -> HeaderValue {
    HeaderValue::from_static(OCTET_STREAM)
}

fn with_headers(body: HttpBody, content_type: &HeaderValue, metadata: MetadataMap) -> Response {
    let mut response = body.into_response();
    let headers: &mut HeaderMap = response.headers_mut();
    headers.extend(encode::metadata_headers(metadata));
    headers.insert(CONTENT_TYPE, content_type.clone());
    response
}
