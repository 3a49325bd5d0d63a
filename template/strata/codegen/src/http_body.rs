//! `google.api.HttpBody` in a rule: a request body or reply that is raw bytes
//! with their media type, not JSON. The runtime (`strata::transcoding`) finds
//! the same from the descriptors; the OpenAPI document describes it.

use prost_reflect::{Kind, MessageDescriptor, MethodDescriptor};

use crate::http_rule::{Binding, Body};

/// The full name of the message that carries raw bytes.
pub const HTTP_BODY: &str = "google.api.HttpBody";

fn is_http_body(message: &MessageDescriptor) -> bool {
    message.full_name() == HTTP_BODY
}

/// The request body is raw: the request is an HttpBody with `body: "*"`, or
/// the body field is a (singular) HttpBody.
pub fn raw_request(method: &MethodDescriptor, binding: &Binding) -> bool {
    let input = method.input();
    match &binding.body {
        Body::None => false,
        Body::All => is_http_body(&input),
        Body::Field(name) => input.get_field_by_name(name).is_some_and(|field| {
            !field.is_list() && matches!(field.kind(), Kind::Message(kind) if is_http_body(&kind))
        }),
    }
}

/// The reply is raw: the rpc returns an HttpBody, or `response_body` names
/// an HttpBody field.
pub fn raw_response(method: &MethodDescriptor, binding: &Binding) -> bool {
    let output = method.output();
    match &binding.response_body {
        None => is_http_body(&output),
        Some(name) => output.get_field_by_name(name).is_some_and(|field| {
            !field.is_list() && matches!(field.kind(), Kind::Message(kind) if is_http_body(&kind))
        }),
    }
}
