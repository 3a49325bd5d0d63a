//! HTTP/JSON transcoding: the runtime half of the routes `api` generates from
//! `google.api.http` options. A request's path, query string and body become the
//! rpc's request message (proto3 JSON, or protobuf binary by Content-Type), the
//! headers become gRPC metadata, and the handler calls the same service method
//! gRPC calls; the reply goes back as JSON (or protobuf by Accept) with its
//! metadata as headers, and a `Status` as the standard error body.

mod decode;
mod encode;
mod query;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor};
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::error::Error;

/// One HTTP binding of an rpc, as the generator writes it.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// `/helloworld.v1.Greeter/SayHello`: names the operation in logs and metrics.
    pub operation: &'static str,
    /// `GET`, `POST`, ... or a custom method.
    pub method: &'static str,
    /// The axum route.
    pub path: &'static str,
    /// The full names of the request and response messages.
    pub input: &'static str,
    pub output: &'static str,
    /// The fields the path sets.
    pub params: &'static [PathParam],
    pub body: Body,
    /// The response field sent instead of the whole message.
    pub response_body: Option<&'static str>,
}

/// A field set from the path: `parts` joined, a capture being the matched text.
#[derive(Debug, Clone, Copy)]
pub struct PathParam {
    pub field: &'static str,
    pub parts: &'static [Part],
}

#[derive(Debug, Clone, Copy)]
pub enum Part {
    Literal(&'static str),
    Capture(&'static str),
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

/// The axum method router for `binding`: decodes the request, calls
/// `call(service, request)` and encodes what it returns.
///
/// # Panics
///
/// At startup, if `pool` lacks the binding's messages: the generator wrote both
/// from the same descriptors, so that means a stale build.
pub fn route<S, Req, Res, F, Fut>(
    pool: &DescriptorPool,
    binding: &'static Binding,
    service: Arc<S>,
    call: F,
) -> MethodRouter
where
    S: Send + Sync + 'static,
    Req: prost::Message + Default + 'static,
    Res: prost::Message + 'static,
    F: Fn(Arc<S>, tonic::Request<Req>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<tonic::Response<Res>, Status>> + Send + 'static,
{
    let transcoder = Arc::new(Transcoder::new(pool, binding));
    let handler = move |request: Request| {
        let (transcoder, service, call) = (transcoder.clone(), service.clone(), call.clone());
        async move {
            transcoder
                .unary(request, move |message| call(service, message))
                .await
        }
    };
    let method = Method::from_bytes(binding.method.as_bytes()).ok();
    match method.clone().and_then(|m| MethodFilter::try_from(m).ok()) {
        Some(filter) => axum::routing::on(filter, handler),
        // A custom method axum has no filter for: the fallback checks it.
        None => MethodRouter::new().fallback(move |request: Request| {
            let handler = handler.clone();
            let matches = method.as_ref() == Some(request.method());
            async move {
                if matches {
                    handler(request).await
                } else {
                    Error::new(405, "METHOD_NOT_ALLOWED", "method not allowed").into_response()
                }
            }
        }),
    }
}

/// A binding with its descriptors resolved.
pub(crate) struct Transcoder {
    binding: &'static Binding,
    input: MessageDescriptor,
    output: MessageDescriptor,
    response_field: Option<FieldDescriptor>,
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
        Self {
            binding,
            input: message(binding.input),
            output,
            response_field,
        }
    }

    async fn unary<Req, Res, Fut>(
        &self,
        request: Request,
        call: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> Response
    where
        Req: prost::Message + Default,
        Res: prost::Message,
        Fut: Future<Output = Result<tonic::Response<Res>, Status>>,
    {
        let mut request = request;
        crate::middleware::tag_operation(request.extensions(), self.binding.operation);
        if let Some(refused) = crate::auth::check_http(&mut request, self.binding.operation).await {
            return refused;
        }
        let (mut parts, body) = request.into_parts();
        let format = encode::Format::negotiate(&parts.headers);
        let message: Req = match self.decode(&mut parts, body).await {
            Ok(message) => message,
            Err(error) => return error.into_response(),
        };
        let request = tonic::Request::from_parts(
            MetadataMap::from_headers(parts.headers),
            parts.extensions,
            message,
        );
        match call(request).await {
            Ok(response) => self.encode(response, format),
            Err(status) => encode::error(status),
        }
    }
}
