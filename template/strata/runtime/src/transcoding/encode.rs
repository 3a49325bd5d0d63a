//! The reply as proto3 JSON (lowerCamelCase names, every field present, int64 as
//! strings, enums by name) or protobuf binary when the client asks for it; gRPC
//! response metadata becomes headers.

use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use prost::Message;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};
use tonic::Status;
use tonic::metadata::MetadataMap;

use super::Transcoder;
use crate::error::Error;
use crate::plain_strings;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";

/// The reply's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Json,
    Protobuf,
}

impl Format {
    /// Protobuf when Accept names it, or when the request body was protobuf and
    /// Accept says nothing more specific; JSON otherwise.
    pub(super) fn negotiate(headers: &HeaderMap) -> Self {
        let names_protobuf = |value: &HeaderValue| {
            let value = value.to_str().unwrap_or_default();
            value.contains(PROTOBUF) || value.contains("application/protobuf")
        };
        match headers.get(ACCEPT) {
            Some(accept) if names_protobuf(accept) => Self::Protobuf,
            Some(accept) if accept.to_str().is_ok_and(|a| a.contains(JSON)) => Self::Json,
            _ if headers.get(CONTENT_TYPE).is_some_and(names_protobuf) => Self::Protobuf,
            _ => Self::Json,
        }
    }
}

impl Transcoder {
    pub(super) fn encode<Res: Message>(
        &self,
        response: tonic::Response<Res>,
        format: Format,
    ) -> Response {
        let (metadata, message, _) = response.into_parts();
        let body = match format {
            Format::Json => self.json(&message).map(|json| (JSON, json)),
            Format::Protobuf => self.protobuf(&message).map(|bytes| (PROTOBUF, bytes)),
        };
        match body {
            Ok((content_type, bytes)) => {
                let mut response = bytes.into_response();
                let headers = response.headers_mut();
                headers.extend(metadata_headers(metadata));
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                response
            }
            Err(error) => error.into_response(),
        }
    }

    pub(super) fn json<Res: Message>(&self, message: &Res) -> Result<Vec<u8>, Error> {
        if let Some(json) = self
            .strings_reply
            .as_ref()
            .and_then(|reply| reply.json(&message.encode_to_vec()))
        {
            return Ok(json);
        }
        let dynamic = self.dynamic(message)?;
        let options = SerializeOptions::new().skip_default_fields(false);
        let failed = |err: serde_json::Error| {
            internal(format!(
                "encoding {} as JSON: {err}",
                self.output.full_name()
            ))
        };
        let Some(field) = &self.response_field else {
            // The whole reply: written straight into the body.
            let mut json = Vec::with_capacity(128);
            dynamic
                .serialize_with_options(&mut serde_json::Serializer::new(&mut json), &options)
                .map_err(failed)?;
            return Ok(json);
        };
        // One field of it (a message, a scalar or a list): through a JSON tree.
        let value = dynamic
            .serialize_with_options(serde_json::value::Serializer, &options)
            .map_err(failed)?;
        let value = value.get(field.json_name()).cloned().unwrap_or_default();
        serde_json::to_vec(&value).map_err(|err| internal(format!("writing JSON: {err}")))
    }

    /// The typed reply as a message of the rpc's output descriptor, whose fields
    /// the JSON mapping and `response_body` can read by name.
    fn dynamic<Res: Message>(&self, message: &Res) -> Result<DynamicMessage, Error> {
        DynamicMessage::decode(self.output.clone(), message.encode_to_vec().as_slice())
            .map_err(|err| internal(format!("re-decoding {}: {err}", self.output.full_name())))
    }

    fn protobuf<Res: Message>(&self, message: &Res) -> Result<Vec<u8>, Error> {
        let Some(field) = &self.response_field else {
            return Ok(message.encode_to_vec());
        };
        match self.dynamic(message)?.get_field(field).as_message() {
            Some(inner) => Ok(inner.encode_to_vec()),
            None => Err(Error::new(
                406,
                "NOT_ACCEPTABLE",
                format!(
                    "the response body is the {} field, which is not a message; accept JSON",
                    field.name()
                ),
            )),
        }
    }
}

/// A reply whose fields are all singular strings without presence (such as
/// `HelloReply`): its JSON written straight from its protobuf bytes, the same
/// bytes the reflection message's serializer writes, without building one.
#[derive(Debug)]
pub(super) struct StringsReply {
    /// The field numbers, in the order the serializer writes them.
    numbers: Box<[u32]>,
    /// Each field's JSON key with the colon (`"message":`), in that order.
    keys: Box<[Vec<u8>]>,
}

impl StringsReply {
    /// `None` for a message with any other kind of field, or a well-known type.
    pub(super) fn of(descriptor: &MessageDescriptor) -> Option<Self> {
        let numbers = plain_strings::numbers(descriptor)?;
        let keys = descriptor
            .fields()
            .map(|field| {
                let mut key = serde_json::to_vec(field.json_name()).ok()?;
                key.push(b':');
                Some(key)
            })
            .collect::<Option<_>>()?;
        Some(Self { numbers, keys })
    }

    /// The JSON of the message encoded as `bytes`: every field, an absent one
    /// as `""`. `None` when the bytes hold anything else (a build of the api
    /// crate older than its descriptors): the reflection path then decides.
    pub(super) fn json(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let values = plain_strings::read(&self.numbers, bytes)?;
        let mut json = Vec::with_capacity(128);
        json.push(b'{');
        for (index, (key, value)) in self.keys.iter().zip(values).enumerate() {
            if index > 0 {
                json.push(b',');
            }
            json.extend_from_slice(key);
            serde::Serializer::serialize_str(&mut serde_json::Serializer::new(&mut json), value)
                .ok()?;
        }
        json.push(b'}');
        Some(json)
    }
}

/// A failed call: the standard error body, with the status' metadata as headers.
pub(super) fn error(status: Status) -> Response {
    let headers = metadata_headers(status.metadata().clone());
    let mut response = Error::from(status).into_response();
    response.headers_mut().extend(headers);
    response
}

/// Metadata the service set, as headers; gRPC's own fields stay behind.
pub(super) fn metadata_headers(metadata: MetadataMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in &metadata.into_headers() {
        if !name.as_str().starts_with("grpc-") && name != CONTENT_TYPE {
            headers.append(name, value.clone());
        }
    }
    headers
}

pub(super) fn internal(why: String) -> Error {
    tracing::error!(error = %why, "transcoding the reply failed");
    Error::new(500, "INTERNAL", "internal error")
}
