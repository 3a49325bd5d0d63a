//! What the OpenAPI document says of a field's `buf.validate` rules: JSON Schema
//! constraints (`minLength`, `maximum`, `pattern`, `enum`, ...), so a client or a
//! fuzzer sees what the service refuses before it sends a request.

use prost_reflect::{DynamicMessage, Value as Proto};
use serde_json::{Value, json};

use crate::rules;

/// Adds the constraints of `rules` to `schema`, the schema of one field's value
/// (`items` for a repeated field, the array itself for `repeated` rules).
pub fn apply(schema: &mut Value, rules: &DynamicMessage, is_list: bool) {
    if is_list {
        for (rule, value) in rules::repeated(rules) {
            match rule.as_str() {
                "min_items" => set(schema, "minItems", count(&value)),
                "max_items" => set(schema, "maxItems", count(&value)),
                "unique" if value.as_bool() == Some(true) => {
                    set(schema, "uniqueItems", json!(true))
                }
                "items" => {
                    if let (Some(items), Some(item_schema)) =
                        (value.as_message(), schema.get_mut("items"))
                    {
                        typed(item_schema, items);
                    }
                }
                _ => {}
            }
        }
    } else {
        typed(schema, rules);
    }
}

fn typed(schema: &mut Value, rules: &DynamicMessage) {
    // A `$ref` takes no siblings in OpenAPI 3.0: message fields keep theirs.
    if schema.get("$ref").is_some() {
        return;
    }
    let Some((kind, values)) = rules::typed(rules) else {
        return;
    };
    let numeric = matches!(
        schema.get("type").and_then(Value::as_str),
        Some("integer" | "number")
    );
    for (rule, value) in values {
        match (kind.as_str(), rule.as_str()) {
            ("string", "min_len") => set(schema, "minLength", count(&value)),
            ("string", "max_len") => set(schema, "maxLength", count(&value)),
            ("string", "len") => {
                set(schema, "minLength", count(&value));
                set(schema, "maxLength", count(&value));
            }
            ("string", "pattern") => set(schema, "pattern", json!(value.as_str())),
            ("string", "uuid") => set(schema, "format", json!("uuid")),
            ("string", "in") | ("string", "const") => set(schema, "enum", strings(&value)),
            ("bytes", "min_len") => set(schema, "minLength", count(&value)),
            ("bytes", "max_len") => set(schema, "maxLength", count(&value)),
            (_, "gte") if numeric => set(schema, "minimum", number(&value)),
            (_, "lte") if numeric => set(schema, "maximum", number(&value)),
            (_, "gt") if numeric => {
                set(schema, "minimum", number(&value));
                set(schema, "exclusiveMinimum", json!(true));
            }
            (_, "lt") if numeric => {
                set(schema, "maximum", number(&value));
                set(schema, "exclusiveMaximum", json!(true));
            }
            (_, "const") if numeric => set(schema, "enum", json!([number(&value)])),
            (_, "in") if numeric => {
                let values = value.as_list().unwrap_or_default();
                set(
                    schema,
                    "enum",
                    Value::Array(values.iter().map(number).collect()),
                );
            }
            _ => {}
        }
    }
}

fn set(schema: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = schema {
        map.insert(key.to_owned(), value);
    }
}

fn count(value: &Proto) -> Value {
    json!(value.as_u64().unwrap_or(0))
}

fn number(value: &Proto) -> Value {
    match value {
        Proto::I32(v) => json!(v),
        Proto::I64(v) => json!(v),
        Proto::U32(v) => json!(v),
        Proto::U64(v) => json!(v),
        Proto::F32(v) => json!(v),
        Proto::F64(v) => json!(v),
        _ => Value::Null,
    }
}

fn strings(value: &Proto) -> Value {
    match value {
        Proto::String(one) => json!([one]),
        Proto::List(many) => json!(many.iter().filter_map(Proto::as_str).collect::<Vec<_>>()),
        _ => Value::Null,
    }
}
