//! HTTP/JSON transcoding: the runtime half of the routes `api` generates from
//! `google.api.http` options. A request's path, query string and body become the
//! rpc's request message (proto3 JSON, or protobuf binary by Content-Type), the
//! headers become gRPC metadata, and the handler calls the same service method
//! gRPC calls; the reply goes back as JSON (or protobuf by Accept) with its
//! metadata as headers, and a `Status` as the standard error body.

mod decode;
mod encode;
mod matcher;
mod query;
mod raw;
#[cfg(test)]
mod raw_tests;
mod routes;
mod stream;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::ops::Range;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use tonic::Status;
use tonic::metadata::MetadataMap;

pub use matcher::match_path;
pub use routes::HttpRoutes;

/// One HTTP binding of an rpc, as the generator writes it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// `/helloworld.v1.Greeter/SayHello`: names the operation in logs and metrics.
    pub operation: &'static str,
    /// `GET`, `POST`, ... or a custom method.
    pub method: &'static str,
    /// `/v1/shelves/{name_1}:merge`: the route for people (OpenAPI, spans).
    pub path: &'static str,
    /// What the path must be, segment by segment.
    pub segments: &'static [Segment<'static>],
    /// The custom verb after the last segment (`merge` for `...:merge`).
    pub verb: Option<&'static str>,
    /// The full names of the request and response messages.
    pub input: &'static str,
    pub output: &'static str,
    /// The fields the path sets.
    pub params: &'static [PathParam],
    pub body: Body,
    /// The response field sent instead of the whole message.
    pub response_body: Option<&'static str>,
}

/// A field set from the path: the text of the request's segments `first..end`,
/// percent-decoded (a variable of several segments keeps `%2F` as it is, as
/// the `google.api.http` rules say).
#[derive(Debug, Clone, Copy)]
pub struct PathParam {
    pub field: &'static str,
    pub first: usize,
    pub end: usize,
}

/// One segment of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Exactly this text.
    Literal(&'a str),
    /// Any one non-empty segment (`*`).
    One,
    /// One or more segments, to the end of the path (`**`).
    Rest,
}

/// What the request body sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    None,
    All,
    Field(&'static str),
}

/// Route options from config (`server.http`).
#[derive(Debug, Clone)]
pub struct RouteOptions {
    /// Serve rpcs without a `google.api.http` option at
    /// `POST /<package>.<Service>/<Method>` with the request as the JSON body.
    pub default_routes: bool,
}

impl Default for RouteOptions {
    fn default() -> Self {
        Self {
            default_routes: true,
        }
    }
}

impl From<&crate::config::Http> for RouteOptions {
    fn from(http: &crate::config::Http) -> Self {
        Self {
            default_routes: http.default_routes,
        }
    }
}

/// A binding with its descriptors resolved.
pub(crate) struct Transcoder {
    binding: &'static Binding,
    input: MessageDescriptor,
    output: MessageDescriptor,
    response_field: Option<FieldDescriptor>,
    /// Set when the request body is a `google.api.HttpBody` (raw bytes).
    raw_request: Option<raw::RawRequest>,
    /// The reply (or its `response_body` field) is a `google.api.HttpBody`.
    raw_response: bool,
    /// Set when the whole reply goes back and its fields are all strings.
    strings_reply: Option<encode::StringsReply>,
}

impl Transcoder {
    pub(crate) fn new(pool: &DescriptorPool, binding: &'static Binding) -> Self {
        let message = |name: &str| {
            pool.get_message_by_name(name).unwrap_or_else(|| {
                panic!("{name} is not in the descriptor pool; rebuild the api crate")
            })
        };
        let output = message(binding.output);
        let response_field = binding.response_body.map(|name| {
            output.get_field_by_name(name).unwrap_or_else(|| {
                panic!(
                    "{} has no field {name}; rebuild the api crate",
                    binding.output
                )
            })
        });
        let input = message(binding.input);
        let raw_response = match &response_field {
            Some(field) => matches!(field.kind(), Kind::Message(kind) if raw::is_http_body(&kind)),
            None => raw::is_http_body(&output),
        };
        let strings_reply = response_field
            .is_none()
            .then(|| encode::StringsReply::of(&output))
            .flatten();
        Self {
            binding,
            strings_reply,
            raw_request: raw::RawRequest::of(&input, binding.body),
            raw_response,
            input,
            output,
            response_field,
        }
    }

    async fn unary<Req, Res, Fut>(
        &self,
        request: Request,
        captures: Vec<Range<usize>>,
        call: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> Response
    where
        Req: prost::Message + Default,
        Res: prost::Message,
        Fut: Future<Output = Result<tonic::Response<Res>, Status>>,
    {
        let mut request = request;
        crate::middleware::tag_operation(request.extensions(), self.binding.operation);
        crate::middleware::tag_route(request.extensions(), self.binding.path);
        if let Some(refused) = crate::auth::check_http(&mut request, self.binding.operation).await {
            return refused;
        }
        let (mut parts, body) = request.into_parts();
        let format = encode::Format::negotiate(&parts.headers);
        let message: Req = match self.decode(&mut parts, &captures, body).await {
            Ok(message) => message,
            Err(error) => return error.into_response(),
        };
        let request = tonic::Request::from_parts(
            MetadataMap::from_headers(parts.headers),
            parts.extensions,
            message,
        );
        match call(request).await {
            Ok(response) if self.raw_response => self.raw_reply(response),
            Ok(response) => self.encode(response, format),
            Err(status) => encode::error(status),
        }
    }
}
