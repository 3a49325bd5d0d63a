//! The request message from the path, the query string and the body. Every way a
//! request can be wrong is a 400 (413, 415) whose message and `field` metadata say
//! what to fix; nothing here panics.

use std::ops::Range;

use axum::body::Body as HttpBody;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, Kind, MessageDescriptor};
use serde::de::DeserializeSeed;
use serde_json::{Map, Value};

use super::raw;
use super::{Body, Segment, Transcoder, matcher, query};
use crate::error::Error;

/// Proto3 JSON or protobuf binary.
enum BodyFormat {
    Json,
    Protobuf,
}

impl Transcoder {
    pub(super) async fn decode<Req: Message + Default>(
        &self,
        parts: &mut Parts,
        captures: &[Range<usize>],
        body: HttpBody,
    ) -> Result<Req, Error> {
        // The request as proto3 JSON: the body, then what the path and query set.
        let mut tree = Map::new();
        let mut binary = None;
        let mut raw = None;
        if let Some(target) = &self.raw_request {
            let bytes = read(body).await?;
            raw = Some(raw::request_body(
                target.descriptor(&self.input),
                parts,
                bytes,
            )?);
        } else if self.binding.body != Body::None {
            let format = body_format(parts)?;
            let bytes = read(body).await?;
            match format {
                Some(BodyFormat::Json) => self.json_body(&bytes, &mut tree)?,
                Some(BodyFormat::Protobuf) => binary = Some(self.protobuf_body(&bytes)?),
                None if bytes.is_empty() => {}
                // Guessing JSON would let a page on another site write without
                // a CORS preflight (a simple request carries no Content-Type).
                None => {
                    return Err(unsupported_media_type(
                        "the request has a body but no Content-Type; send \
                         Content-Type: application/json (or application/x-protobuf)"
                            .to_owned(),
                    ));
                }
            }
        }
        self.path_params(parts.uri.path(), captures, &mut tree)?;
        if self.binding.body != Body::All {
            let body_field = match self.binding.body {
                Body::Field(field) => Some(field),
                _ => None,
            };
            let bound: Vec<&str> = self.binding.params.iter().map(|p| p.field).collect();
            query::insert_all(
                parts.uri.query(),
                &self.input,
                &bound,
                body_field,
                &mut tree,
            )?;
        }

        if binary.is_none() && raw.is_none() && plain_strings(&self.input, &tree) {
            return strings_request(&self.input, tree).map_err(|err| self.does_not_fit(err));
        }
        let mut message = from_json(&self.input, tree)?;
        if let Some(mut body) = binary {
            // Protobuf merge: what the path and query set wins over the body.
            body.merge(message.encode_to_vec().as_slice())
                .map_err(|err| bad_request(format!("malformed protobuf body: {err}"), None))?;
            message = body;
        }
        if let (Some(target), Some(content)) = (&self.raw_request, raw) {
            target.fill(&mut message, content);
        }
        message
            .transcode_to::<Req>()
            .map_err(|err| self.does_not_fit(err))
    }

    /// The typed request failed to decode what the descriptors allow: a stale
    /// build of the api crate.
    fn does_not_fit(&self, err: prost::DecodeError) -> Error {
        bad_request(
            format!("the request does not fit {}: {err}", self.input.full_name()),
            None,
        )
    }

    fn json_body(&self, bytes: &[u8], tree: &mut Map<String, Value>) -> Result<(), Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|err| bad_request(format!("malformed JSON body: {err}"), None))?;
        match self.binding.body {
            Body::All => match value {
                Value::Object(object) => *tree = object,
                other => {
                    return Err(bad_request(
                        format!("the body must be a JSON object (got {})", kind_of(&other)),
                        None,
                    ));
                }
            },
            Body::Field(field) => {
                tree.insert(field.to_owned(), value);
            }
            Body::None => {}
        }
        Ok(())
    }

    fn protobuf_body(&self, bytes: &[u8]) -> Result<DynamicMessage, Error> {
        let malformed =
            |err: prost::DecodeError| bad_request(format!("malformed protobuf body: {err}"), None);
        match self.binding.body {
            Body::Field(name) => {
                let field = self.input.get_field_by_name(name).ok_or_else(|| {
                    Error::new(
                        500,
                        "INTERNAL",
                        format!("{} has no field {name}", self.input.full_name()),
                    )
                })?;
                let Kind::Message(kind) = field.kind() else {
                    return Err(Error::new(
                        415,
                        "UNSUPPORTED_MEDIA_TYPE",
                        format!(
                            "the body is the {name} field, which is not a message; send it as JSON"
                        ),
                    ));
                };
                let value = DynamicMessage::decode(kind, bytes).map_err(malformed)?;
                let mut message = DynamicMessage::new(self.input.clone());
                message.set_field(&field, prost_reflect::Value::Message(value));
                Ok(message)
            }
            _ => DynamicMessage::decode(self.input.clone(), bytes).map_err(malformed),
        }
    }

    /// Each path variable's text (raw, at `captures` in `path`, in the order
    /// of the binding's params) into the field it sets.
    fn path_params(
        &self,
        path: &str,
        captures: &[Range<usize>],
        tree: &mut Map<String, Value>,
    ) -> Result<(), Error> {
        for (param, range) in self.binding.params.iter().zip(captures) {
            let raw = path.get(range.clone()).unwrap_or_default();
            let single = param.end == param.first + 1
                && self.binding.segments.get(param.first) == Some(&Segment::One);
            let value = matcher::decode(raw, single).map_err(|_| {
                bad_request(
                    format!(
                        "path variable {} is not UTF-8 once percent-decoded",
                        param.field
                    ),
                    Some(param.field.to_owned()),
                )
            })?;
            query::insert(tree, &self.input, param.field, &value, query::Origin::Path)?;
        }
        Ok(())
    }
}

/// The body's format from Content-Type; `None` when absent, which only an empty
/// body may be.
fn body_format(parts: &Parts) -> Result<Option<BodyFormat>, Error> {
    let Some(content_type) = parts.headers.get(CONTENT_TYPE) else {
        return Ok(None);
    };
    let essence = content_type
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Some(BodyFormat::Json)),
        "application/x-protobuf" | "application/protobuf" => Ok(Some(BodyFormat::Protobuf)),
        _ => Err(unsupported_media_type(format!(
            "Content-Type {:?} is not supported; send Content-Type: application/json \
             (or application/x-protobuf)",
            String::from_utf8_lossy(content_type.as_bytes())
        ))),
    }
}

/// A 415 UNSUPPORTED_MEDIA_TYPE whose message says what to send.
fn unsupported_media_type(message: String) -> Error {
    Error::new(415, "UNSUPPORTED_MEDIA_TYPE", message)
}

/// The whole body; over `server.http.max_body_bytes` is a 413.
async fn read(body: HttpBody) -> Result<axum::body::Bytes, Error> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|err| {
        let too_large =
            std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |error| {
                error.source()
            })
            .any(|error| error.is::<http_body_util::LengthLimitError>());
        if too_large {
            Error::new(
                413,
                "PAYLOAD_TOO_LARGE",
                "the request body is larger than the server accepts",
            )
        } else {
            bad_request(format!("reading the body failed: {err}"), None)
        }
    })
}

/// Whether every entry of `tree` is a string for a singular string field outside
/// any oneof (a path like `/helloworld/{name}`): the JSON decoder accepts each
/// such value as it is, so [`strings_request`] gives the same message without it.
fn plain_strings(descriptor: &MessageDescriptor, tree: &Map<String, Value>) -> bool {
    tree.iter().all(|(name, value)| {
        value.is_string()
            && descriptor.get_field_by_name(name).is_some_and(|field| {
                matches!(field.kind(), Kind::String)
                    && !field.is_list()
                    && field.containing_oneof().is_none()
            })
    })
}

/// `tree`, which [`plain_strings`] accepted, as `Req`: each string written as
/// its field's protobuf bytes and decoded once, instead of through a
/// reflection message.
fn strings_request<Req: Message + Default>(
    descriptor: &MessageDescriptor,
    tree: Map<String, Value>,
) -> Result<Req, prost::DecodeError> {
    let mut bytes = Vec::new();
    for (name, value) in tree {
        if let (Some(field), Value::String(text)) = (descriptor.get_field_by_name(&name), value) {
            prost::encoding::string::encode(field.number(), &text, &mut bytes);
        }
    }
    Req::decode(bytes.as_slice())
}

/// `tree` as a message of `descriptor`; an error names the field it is about.
fn from_json(
    descriptor: &prost_reflect::MessageDescriptor,
    tree: Map<String, Value>,
) -> Result<DynamicMessage, Error> {
    let options = DeserializeOptions::new().deny_unknown_fields(true);
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(Value::Object(tree), &mut track);
    MessageSeed {
        descriptor,
        options: &options,
    }
    .deserialize(deserializer)
    .map_err(|err: serde_json::Error| {
        let path = track.path().to_string();
        if path.is_empty() || path == "." {
            bad_request(format!("invalid request: {err}"), None)
        } else {
            bad_request(format!("invalid value for {path}: {err}"), Some(path))
        }
    })
}

struct MessageSeed<'a> {
    descriptor: &'a prost_reflect::MessageDescriptor,
    options: &'a DeserializeOptions,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = DynamicMessage;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        DynamicMessage::deserialize_with_options(
            self.descriptor.clone(),
            deserializer,
            self.options,
        )
    }
}

/// A 400 INVALID_ARGUMENT, naming `field` in its metadata when known.
pub(super) fn bad_request(message: String, field: Option<String>) -> Error {
    let error = Error::new(400, "INVALID_ARGUMENT", message);
    match field {
        Some(field) => error.with_metadata("field", field),
        None => error,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
