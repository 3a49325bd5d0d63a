//! An OpenAPI 3 document of the HTTP routes, from the same descriptors the routes
//! come from: paths, path and query parameters, request and response schemas from
//! the messages (their comments become descriptions) and the error body.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use crate::http_rule::{self, Binding, Body, Method};
use crate::path_template::Part;
use crate::protos::Compiled;
use crate::{comments, http_body, openapi_rules, rules};

/// How deep query parameters follow nested messages (`a.b.c=1`).
const QUERY_DEPTH: usize = 3;

/// The document for every service of `compiled`.
pub fn document(compiled: &Compiled) -> Result<Value> {
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    // OpenAPI allows one path per shape: `/v1/a/{id}` and `/v1/a/{name}` are
    // one path, spelled as first seen.
    let mut spelled: BTreeMap<String, String> = BTreeMap::new();
    let mut schemas = Schemas::default();
    let mut services = Vec::new();
    for package in compiled.packages() {
        for service in compiled
            .pool
            .services()
            .filter(|s| s.package_name() == package)
        {
            services.push(service.full_name().to_owned());
            for method in http_rule::methods(&compiled.pool, &service)? {
                if !method.served_on_http() {
                    continue;
                }
                let bindings = method.bindings.iter().chain(&method.default_binding);
                for (index, binding) in bindings.enumerate() {
                    let mut operation = operation(&method, binding, index, &mut schemas);
                    let path = spelled
                        .entry(binding.route.shape())
                        .or_insert_with(|| binding.route.path.clone())
                        .clone();
                    rename_path_parameters(&mut operation, &binding.route.path, &path);
                    paths
                        .entry(path)
                        .or_default()
                        .insert(binding.method.to_ascii_lowercase(), operation);
                }
            }
        }
    }
    let mut components = schemas.done();
    components.insert("Error".into(), error_schema());
    Ok(json!({
        "openapi": "3.0.3",
        "info": {
            "title": services.join(", "),
            "description": "Generated from the protos under api/ by strata-codegen; the same rpcs are served over gRPC.",
            "version": "1.0.0",
        },
        "paths": paths,
        "components": { "schemas": components },
    }))
}

/// Path parameters named as in `path`, the spelling `own` shares a shape with.
fn rename_path_parameters(operation: &mut Value, own: &str, path: &str) {
    if own == path {
        return;
    }
    let renames: BTreeMap<String, String> = capture_names(own)
        .into_iter()
        .zip(capture_names(path))
        .collect();
    let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for parameter in parameters.iter_mut().filter(|p| p["in"] == "path") {
        let renamed = parameter["name"]
            .as_str()
            .and_then(|name| renames.get(name))
            .cloned();
        if let Some(name) = renamed {
            parameter["name"] = Value::String(name);
        }
    }
}

/// `/v1/{a}/b/{c}` -> `["a", "c"]`.
fn capture_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// The document as pretty JSON, ending with a newline.
pub fn to_json(document: &Value) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}

fn operation(method: &Method, binding: &Binding, index: usize, schemas: &mut Schemas) -> Value {
    let descriptor = &method.descriptor;
    let service = descriptor.parent_service();
    let input = descriptor.input();
    let doc = comments::leading(&descriptor.parent_file(), descriptor.path());
    let mut operation_id = format!("{}_{}", service.name(), descriptor.name());
    if index > 0 {
        operation_id.push_str(&format!("_{index}"));
    }

    let mut parameters = Vec::new();
    for param in &binding.route.params {
        let field = http_rule::field_path(&input, &param.field).ok();
        let captures: Vec<&str> = param
            .parts
            .iter()
            .filter_map(|part| match part {
                Part::Capture(name) => Some(name.as_str()),
                Part::Literal(_) => None,
            })
            .collect();
        for capture in &captures {
            let mut description = field.as_ref().map(field_doc).unwrap_or_default();
            if captures.len() > 1 || param.parts.len() > 1 {
                description = format!(
                    "Part of `{}`, matched by {}. {description}",
                    param.field, binding.template
                );
            }
            let schema = field
                .as_ref()
                .map_or(json!({"type": "string"}), |f| schemas.constrained_scalar(f));
            parameters.push(json!({
                "name": capture,
                "in": "path",
                "required": true,
                "description": description.trim(),
                "schema": schema,
            }));
        }
    }
    if binding.body != Body::All {
        let bound: BTreeSet<String> = binding
            .route
            .params
            .iter()
            .map(|p| p.field.clone())
            .chain(match &binding.body {
                Body::Field(field) => Some(field.clone()),
                _ => None,
            })
            .collect();
        query_parameters(&input, "", &bound, 0, schemas, &mut parameters);
    }

    let mut operation = json!({
        "operationId": operation_id,
        "tags": [service.full_name()],
        "summary": doc.lines().next().unwrap_or(descriptor.name()),
        "description": format!("{doc}\n\ngRPC: `{}`", method.operation).trim().to_owned(),
        "responses": {
            "200": ok_response(method, binding, schemas),
            "default": {
                "description": "An error: `reason` says which, `metadata` carries its details.",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            },
        },
    });
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = request_body(method, binding, schemas) {
        operation["requestBody"] = body;
    }
    operation
}

/// The request body: JSON of the message or its body field, or raw bytes.
fn request_body(method: &Method, binding: &Binding, schemas: &mut Schemas) -> Option<Value> {
    if http_body::raw_request(&method.descriptor, binding) {
        return Some(json!({
            "required": true,
            "description": "The raw bytes, of any media type: the Content-Type header says which, and the rpc reads it as `content_type`.",
            "content": { "*/*": { "schema": binary() } },
        }));
    }
    let input = method.descriptor.input();
    let schema = match &binding.body {
        Body::None => None,
        Body::All => Some(schemas.message(&input)),
        Body::Field(name) => input
            .get_field_by_name(name)
            .map(|field| schemas.field(&field)),
    }?;
    Some(json!({
        "required": true,
        "content": { "application/json": { "schema": schema } },
    }))
}

/// The successful reply: JSON, a stream of it (SSE or NDJSON), or raw bytes.
fn ok_response(method: &Method, binding: &Binding, schemas: &mut Schemas) -> Value {
    let descriptor = &method.descriptor;
    if http_body::raw_response(descriptor, binding) {
        let description = if descriptor.is_server_streaming() {
            "A download, written as the rpc streams it: the first message's `content_type` is the Content-Type, then every message's `data` follows."
        } else {
            "The bytes of the reply's `data`, with its `content_type` as the Content-Type."
        };
        return json!({
            "description": description,
            "content": { "*/*": { "schema": binary() } },
        });
    }
    let message = response_schema(descriptor.output(), binding, schemas);
    if descriptor.is_server_streaming() {
        return json!({
            "description": "A stream: one Server-Sent Event per message (`data:` its JSON), or one JSON line per message with `Accept: application/x-ndjson`. A failure ends it with `event: error` (an `{\"error\": ...}` line) holding the error body.",
            "content": {
                "text/event-stream": { "schema": { "type": "string" } },
                "application/x-ndjson": { "schema": message },
            },
        });
    }
    json!({
        "description": "OK",
        "content": { "application/json": { "schema": message } },
    })
}

fn response_schema(output: MessageDescriptor, binding: &Binding, schemas: &mut Schemas) -> Value {
    match binding
        .response_body
        .as_deref()
        .and_then(|name| output.get_field_by_name(name))
    {
        Some(field) => schemas.field(&field),
        None => schemas.message(&output),
    }
}

/// The fields neither the path nor the body sets, as `name` / `a.b` parameters.
fn query_parameters(
    message: &MessageDescriptor,
    prefix: &str,
    bound: &BTreeSet<String>,
    depth: usize,
    schemas: &mut Schemas,
    parameters: &mut Vec<Value>,
) {
    for field in message.fields() {
        let name = format!("{prefix}{}", field.name());
        if bound.contains(&name) || field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::Message(nested) if !is_string_wkt(nested.full_name()) => {
                // Repeated messages cannot be spelled in a query string.
                if !field.is_list() && depth + 1 < QUERY_DEPTH {
                    query_parameters(
                        &nested,
                        &format!("{name}."),
                        bound,
                        depth + 1,
                        schemas,
                        parameters,
                    );
                }
            }
            _ => parameters.push(json!({
                "name": name,
                "in": "query",
                "description": field_doc(&field),
                "schema": schemas.field(&field),
            })),
        }
    }
}

fn field_doc(field: &FieldDescriptor) -> String {
    comments::leading(&field.parent_file(), field.path())
}

/// Well-known types whose JSON is a string, a number or a bool, so a query
/// parameter can carry them.
fn is_string_wkt(name: &str) -> bool {
    name.starts_with("google.protobuf.")
        && !matches!(
            name,
            "google.protobuf.Struct"
                | "google.protobuf.ListValue"
                | "google.protobuf.Any"
                | "google.protobuf.Empty"
        )
}

/// Message schemas referenced so far, written under `components.schemas`.
#[derive(Default)]
struct Schemas {
    done: BTreeMap<String, Value>,
}

impl Schemas {
    fn done(self) -> Map<String, Value> {
        self.done.into_iter().collect()
    }

    /// A `$ref` to `message`, whose schema is added once.
    fn message(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known(message.full_name()) {
            return schema;
        }
        let name = message.full_name().to_owned();
        if !self.done.contains_key(&name) {
            // Placeholder first: a message may refer to itself.
            self.done.insert(name.clone(), Value::Null);
            let mut properties = Map::new();
            let mut required = Vec::new();
            for field in message.fields() {
                if rules::of(&field).is_some_and(|r| rules::required(&r)) {
                    required.push(Value::String(field.json_name().to_owned()));
                }
                let mut schema = self.field(&field);
                let doc = field_doc(&field);
                if !doc.is_empty() && schema.get("$ref").is_none() {
                    schema["description"] = Value::String(doc);
                }
                properties.insert(field.json_name().to_owned(), schema);
            }
            let mut schema = json!({ "type": "object", "properties": properties });
            if !required.is_empty() {
                schema["required"] = Value::Array(required);
            }
            let doc = comments::leading(&message.parent_file(), message.path());
            if !doc.is_empty() {
                schema["description"] = Value::String(doc);
            }
            self.done.insert(name.clone(), schema);
        }
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    /// The schema of `field`'s value, repeated and map fields included.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        if field.is_map()
            && let Kind::Message(entry) = field.kind()
        {
            let value = entry.map_entry_value_field();
            return json!({ "type": "object", "additionalProperties": self.field(&value) });
        }
        let item = self.scalar(field);
        let mut schema = if field.is_list() {
            json!({ "type": "array", "items": item })
        } else {
            item
        };
        if let Some(rules) = rules::of(field) {
            openapi_rules::apply(&mut schema, &rules, field.is_list());
        }
        schema
    }

    /// [`Schemas::scalar`] with the field's `buf.validate` constraints.
    fn constrained_scalar(&mut self, field: &FieldDescriptor) -> Value {
        let mut schema = self.scalar(field);
        if let Some(rules) = rules::of(field) {
            openapi_rules::apply(&mut schema, &rules, false);
        }
        schema
    }

    /// The schema of one value of `field`, as proto3 JSON writes it.
    fn scalar(&mut self, field: &FieldDescriptor) -> Value {
        match field.kind() {
            Kind::Double => json!({ "type": "number", "format": "double" }),
            Kind::Float => json!({ "type": "number", "format": "float" }),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({ "type": "integer", "format": "int32" })
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({ "type": "integer", "format": "int64", "minimum": 0 })
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({ "type": "string", "format": "int64" })
            }
            Kind::Uint64 | Kind::Fixed64 => json!({ "type": "string", "format": "uint64" }),
            Kind::Bool => json!({ "type": "boolean" }),
            Kind::String => json!({ "type": "string" }),
            Kind::Bytes => json!({ "type": "string", "format": "byte" }),
            Kind::Enum(e) => json!({
                "type": "string",
                "enum": e.values().map(|v| v.name().to_owned()).collect::<Vec<_>>(),
            }),
            Kind::Message(message) => self.message(&message),
        }
    }
}

/// Raw bytes (`google.api.HttpBody`), in a request or a reply.
fn binary() -> Value {
    json!({ "type": "string", "format": "binary" })
}

/// The JSON shapes of the well-known types.
fn well_known(name: &str) -> Option<Value> {
    Some(match name {
        "google.protobuf.Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "google.protobuf.Duration" => {
            json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$", "example": "1.5s" })
        }
        "google.protobuf.FieldMask" => {
            json!({ "type": "string", "description": "Comma-separated lowerCamelCase field paths.", "example": "title,body" })
        }
        "google.protobuf.Struct" => json!({ "type": "object", "additionalProperties": true }),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({ "type": "array", "items": {} }),
        "google.protobuf.Empty" => json!({ "type": "object" }),
        "google.protobuf.Any" => {
            json!({ "type": "object", "properties": { "@type": { "type": "string" } }, "additionalProperties": true })
        }
        "google.protobuf.BoolValue" => json!({ "type": "boolean" }),
        "google.protobuf.StringValue" => json!({ "type": "string" }),
        "google.protobuf.BytesValue" => json!({ "type": "string", "format": "byte" }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => json!({ "type": "number" }),
        "google.protobuf.Int32Value" | "google.protobuf.UInt32Value" => {
            json!({ "type": "integer" })
        }
        "google.protobuf.Int64Value" | "google.protobuf.UInt64Value" => {
            json!({ "type": "string", "format": "int64" })
        }
        _ => return None,
    })
}

/// The standard error body of every failed call.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "The error body of every failed call, on every route.",
        "properties": {
            "code": { "type": "integer", "description": "The HTTP status." },
            "reason": { "type": "string", "description": "Why: a value of an ErrorReason enum, or the gRPC code name." },
            "message": { "type": "string", "description": "What happened, for humans." },
            "metadata": { "type": "object", "additionalProperties": { "type": "string" }, "description": "Details, e.g. the offending `field`." },
            "violations": {
                "type": "array",
                "description": "A request that breaks its buf.validate rules: every broken rule.",
                "items": {
                    "type": "object",
                    "properties": {
                        "field": { "type": "string", "description": "The field's path: `note.title`." },
                        "rule": { "type": "string", "description": "The rule's id: `string.max_len`." },
                        "description": { "type": "string" },
                    },
                },
            },
        },
        "required": ["code", "reason", "message", "metadata"],
    })
}
