//! Path variables and query parameters into the request's JSON: `a.b=1` sets field
//! `b` of message field `a`, `tag=x&tag=y` appends to a repeated field, enums go
//! by name (or number), well-known types by their JSON string
//! (`2026-01-01T00:00:00Z`, `1.5s`, `title,body`). Values stay strings where
//! proto3 JSON accepts strings, so the message decoder checks every type.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use super::decode::bad_request;
use crate::error::Error;

/// Where a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Path,
    Query,
}

impl Origin {
    fn noun(self) -> &'static str {
        match self {
            Self::Path => "path variable",
            Self::Query => "query parameter",
        }
    }
}

/// Every `key=value` of `query` into `tree`. Fields the path sets (`bound`) or
/// the body field holds cannot be set again here.
pub(super) fn insert_all(
    query: Option<&str>,
    message: &MessageDescriptor,
    bound: &[&str],
    body_field: Option<&str>,
    tree: &mut Map<String, Value>,
) -> Result<(), Error> {
    let Some(query) = query else { return Ok(()) };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let path = canonical_path(message, &key).unwrap_or_else(|| key.to_string());
        let taken = bound.contains(&path.as_str())
            || body_field.is_some_and(|body| path == body || path.starts_with(&format!("{body}.")));
        if taken {
            return Err(bad_request(
                format!("query parameter {key} sets a field the path or the body sets already"),
                Some(path),
            ));
        }
        insert(tree, message, &key, &value, Origin::Query)?;
    }
    Ok(())
}

/// Sets the field at `path` (dotted, proto or JSON names) to `text`.
pub(super) fn insert(
    tree: &mut Map<String, Value>,
    message: &MessageDescriptor,
    path: &str,
    text: &str,
    origin: Origin,
) -> Result<(), Error> {
    let unknown = |why: String| {
        bad_request(
            format!("unknown {} {path}: {why}", origin.noun()),
            Some(path.to_owned()),
        )
    };
    let mut current = message.clone();
    let mut object = tree;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let field = find_field(&current, segment)
            .ok_or_else(|| unknown(format!("{} has no field {segment:?}", current.full_name())))?;
        // Whichever spelling the body used, the path and query win.
        if field.json_name() != field.name() {
            object.remove(field.json_name());
        }
        if segments.peek().is_none() {
            return set_leaf(object, &field, text, path, origin);
        }
        match field.kind() {
            Kind::Message(next)
                if !field.is_list() && !field.is_map() && !is_scalar_wkt(next.full_name()) =>
            {
                let slot = object
                    .entry(field.name().to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if slot.is_null() {
                    *slot = Value::Object(Map::new());
                }
                let Value::Object(inner) = slot else {
                    return Err(bad_request(
                        format!(
                            "{} is not an object in the body, so {path} cannot be set",
                            field.name()
                        ),
                        Some(path.to_owned()),
                    ));
                };
                object = inner;
                current = next;
            }
            _ => {
                return Err(unknown(format!(
                    "{} is not a message, so it has no fields",
                    field.name()
                )));
            }
        }
    }
    Ok(())
}

fn set_leaf(
    object: &mut Map<String, Value>,
    field: &FieldDescriptor,
    text: &str,
    path: &str,
    origin: Origin,
) -> Result<(), Error> {
    let cannot = |what: &str| {
        bad_request(
            format!(
                "{} {path} is {what}, which cannot be set from a URL; send it in the body",
                origin.noun()
            ),
            Some(path.to_owned()),
        )
    };
    if field.is_map() {
        return Err(cannot("a map"));
    }
    if let Kind::Message(message) = field.kind()
        && !is_scalar_wkt(message.full_name())
    {
        return Err(cannot("a message"));
    }
    let value = json_value(field, text).map_err(|why| {
        bad_request(
            format!("invalid {} {path}={text:?}: {why}", origin.noun()),
            Some(path.to_owned()),
        )
    })?;
    if field.is_list() {
        let slot = object
            .entry(field.name().to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        match slot {
            Value::Array(items) => items.push(value),
            other => *other = Value::Array(vec![value]),
        }
    } else {
        object.insert(field.name().to_owned(), value);
    }
    Ok(())
}

/// `text` as the proto3 JSON of one value of `field`. Strings are accepted for
/// every number type, so only bools and enum numbers need converting.
fn json_value(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    let parse_bool = || match text {
        "true" => Ok(Value::Bool(true)),
        "false" => Ok(Value::Bool(false)),
        _ => Err("expected true or false".to_owned()),
    };
    match field.kind() {
        Kind::Bool => parse_bool(),
        Kind::Message(message) if message.full_name() == "google.protobuf.BoolValue" => {
            parse_bool()
        }
        Kind::Enum(_) => Ok(text
            .parse::<i32>()
            .map_or_else(|_| Value::String(text.to_owned()), Value::from)),
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// The field named `name` in either spelling: `page_size` or `pageSize`.
fn find_field(message: &MessageDescriptor, name: &str) -> Option<FieldDescriptor> {
    message
        .get_field_by_name(name)
        .or_else(|| message.get_field_by_json_name(name))
}

/// `pageSize` -> `page_size`, for comparing with the bound fields.
fn canonical_path(message: &MessageDescriptor, path: &str) -> Option<String> {
    let mut current = message.clone();
    let mut names = Vec::new();
    for segment in path.split('.') {
        let field = find_field(&current, segment)?;
        names.push(field.name().to_owned());
        if let Kind::Message(next) = field.kind() {
            current = next;
        }
    }
    Some(names.join("."))
}

/// Well-known types whose JSON is a single string, number or bool.
fn is_scalar_wkt(name: &str) -> bool {
    matches!(
        name,
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
    )
}
