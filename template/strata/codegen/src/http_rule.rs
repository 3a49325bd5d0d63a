//! Reads the `google.api.http` option of every rpc into [`Binding`]s: the HTTP
//! method, the axum route, which fields the path and the body set and what the
//! response body is. Every field a rule names is checked here, so a typo in a proto
//! is a build error that names the rpc, not a route that 400s at runtime.

use anyhow::{Context, Result, bail, ensure};
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor,
};

use crate::path_template::{PathTemplate, Route, braced};

/// An rpc and the HTTP routes that reach it.
#[derive(Debug, Clone)]
pub struct Method {
    pub descriptor: MethodDescriptor,
    /// `/helloworld.v1.Greeter/SayHello`: the gRPC path, which names the
    /// operation in logs and metrics on both transports.
    pub operation: String,
    /// From `google.api.http`, in order: the rule, then its additional bindings.
    pub bindings: Vec<Binding>,
    /// `POST /helloworld.v1.Greeter/SayHello` with the whole message as JSON, for an
    /// rpc without a rule (served when `server.http.default_routes` is on).
    pub default_binding: Option<Binding>,
}

impl Method {
    pub fn is_streaming(&self) -> bool {
        self.descriptor.is_client_streaming() || self.descriptor.is_server_streaming()
    }

    /// Unary rpcs, and server-streaming ones with a rule (as Server-Sent
    /// Events or NDJSON). Client and bidirectional streams are gRPC-only.
    pub fn served_on_http(&self) -> bool {
        !self.descriptor.is_client_streaming()
            && (!self.descriptor.is_server_streaming() || !self.bindings.is_empty())
    }

    /// A note for the build output when the rpc has a rule HTTP cannot serve.
    pub fn grpc_only_note(&self) -> Option<String> {
        (self.descriptor.is_client_streaming() && !self.bindings.is_empty()).then(|| {
            format!(
                "{} streams from the client: it is served on gRPC only, its \
                 google.api.http rule is not routed (docs/add-an-api.md, \"Streams\")",
                self.operation
            )
        })
    }
}

/// One HTTP route of an rpc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `GET`, `POST`, ... or a `custom` kind.
    pub method: String,
    /// The template as written in the proto.
    pub template: String,
    pub route: Route,
    pub body: Body,
    /// The response field sent as the body instead of the whole message.
    pub response_body: Option<String>,
}

/// What the request body sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body: the fields the path does not set come from the query string.
    None,
    /// `body: "*"`: every field the path does not set.
    All,
    /// `body: "note"`: that field; the rest come from the query string.
    Field(String),
}

/// The methods of `service`, with their bindings checked against the messages.
pub fn methods(
    pool: &DescriptorPool,
    service: &prost_reflect::ServiceDescriptor,
) -> Result<Vec<Method>> {
    let http = pool.get_extension_by_name("google.api.http");
    service
        .methods()
        .map(|descriptor| {
            let operation = format!("/{}/{}", service.full_name(), descriptor.name());
            let rule = http.as_ref().and_then(|http| {
                let options = descriptor.options();
                options
                    .has_extension(http)
                    .then(|| options.get_extension(http).as_message().cloned())
                    .flatten()
            });
            let bindings = match rule {
                Some(rule) => rule_bindings(&rule)
                    .and_then(|bindings| {
                        bindings.iter().try_for_each(|b| check(b, &descriptor))?;
                        Ok(bindings)
                    })
                    .with_context(|| {
                        format!("google.api.http of rpc {}", descriptor.full_name())
                    })?,
                None => Vec::new(),
            };
            // Streaming rpcs have no unary HTTP form: gRPC only.
            let streaming = descriptor.is_client_streaming() || descriptor.is_server_streaming();
            let default_binding = if bindings.is_empty() && !streaming {
                Some(Binding {
                    method: "POST".into(),
                    template: operation.clone(),
                    route: PathTemplate::parse(&operation)?.route()?,
                    body: Body::All,
                    response_body: None,
                })
            } else {
                None
            };
            Ok(Method {
                descriptor,
                operation,
                bindings,
                default_binding,
            })
        })
        .collect()
}

/// The rule and its `additional_bindings`, which may not nest further.
fn rule_bindings(rule: &DynamicMessage) -> Result<Vec<Binding>> {
    let mut bindings = vec![binding(rule)?];
    if let Some(additional) = rule.get_field_by_name("additional_bindings") {
        for nested in additional.as_list().unwrap_or_default() {
            let nested = nested
                .as_message()
                .context("additional_bindings holds messages")?;
            let has_more = nested
                .get_field_by_name("additional_bindings")
                .is_some_and(|more| !more.as_list().unwrap_or_default().is_empty());
            ensure!(
                !has_more,
                "additional_bindings cannot have additional_bindings of their own"
            );
            bindings.push(binding(nested)?);
        }
    }
    Ok(bindings)
}

fn binding(rule: &DynamicMessage) -> Result<Binding> {
    let text = |name: &str| {
        rule.get_field_by_name(name)
            .and_then(|value| value.as_str().map(str::to_owned))
            .filter(|value| !value.is_empty())
    };
    let mut pattern = None;
    for verb in ["get", "put", "post", "delete", "patch"] {
        if let Some(path) = text(verb) {
            pattern = Some((verb.to_ascii_uppercase(), path));
        }
    }
    if rule.has_field_by_name("custom") {
        let custom = rule.get_field_by_name("custom");
        let custom = custom
            .as_deref()
            .and_then(|value| value.as_message())
            .context("custom is a message")?;
        let field = |name: &str| {
            custom
                .get_field_by_name(name)
                .and_then(|v| v.as_str().map(str::to_owned))
        };
        let kind = field("kind").unwrap_or_default();
        ensure!(
            !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphabetic()),
            "custom needs an HTTP method name as its kind (got {kind:?})"
        );
        pattern = Some((kind.to_ascii_uppercase(), field("path").unwrap_or_default()));
    }
    let Some((method, template)) = pattern else {
        bail!("the rule sets no get, put, post, delete, patch or custom pattern");
    };
    let route = PathTemplate::parse(&template)?.route()?;
    let body = match text("body").as_deref() {
        None => Body::None,
        Some("*") => Body::All,
        Some(field) => Body::Field(field.to_owned()),
    };
    Ok(Binding {
        method,
        template,
        route,
        body,
        response_body: text("response_body"),
    })
}

/// Every field the binding names exists and has a type it can carry.
fn check(binding: &Binding, method: &MethodDescriptor) -> Result<()> {
    let input = method.input();
    for param in &binding.route.params {
        let field = field_path(&input, &param.field).with_context(|| {
            format!(
                "path variable {} of {}",
                braced(&param.field),
                binding.template
            )
        })?;
        ensure!(
            !field.is_list() && !field.is_map() && !matches!(field.kind(), Kind::Message(_)),
            "path variable {} of {} is a repeated, map or message field; a path segment \
             can only set a single scalar or enum",
            braced(&param.field),
            binding.template
        );
    }
    if let Body::Field(name) = &binding.body {
        // The path may set fields inside the body field (`{note.id}` with
        // `body: "note"`): the path wins, as the google.api.http rules say.
        let field = input
            .get_field_by_name(name)
            .with_context(|| format!("body: {name:?} names no field of {}", input.full_name()))?;
        ensure!(
            !binding.route.params.iter().any(|p| p.field == field.name()),
            "body: {name:?} is also the path variable of {}",
            binding.template
        );
    }
    if let Some(name) = &binding.response_body {
        let output = method.output();
        output.get_field_by_name(name).with_context(|| {
            format!(
                "response_body: {name:?} names no field of {}",
                output.full_name()
            )
        })?;
    }
    if binding.method == "GET" || binding.method == "DELETE" {
        ensure!(
            binding.body == Body::None,
            "{} {} has a body; GET and DELETE requests carry none, so drop `body`",
            binding.method,
            binding.template
        );
    }
    Ok(())
}

/// The field `a.b.c` names, starting at `message`; every step but the last must
/// be a singular message field.
pub fn field_path(message: &MessageDescriptor, path: &str) -> Result<FieldDescriptor> {
    let mut current = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_name(part)
            .with_context(|| format!("{} has no field {part:?}", current.full_name()))?;
        if parts.peek().is_none() {
            return Ok(field);
        }
        match field.kind() {
            Kind::Message(next) if !field.is_list() && !field.is_map() => current = next,
            _ => bail!(
                "{}.{part} is not a singular message, so it cannot hold {path:?}",
                current.full_name()
            ),
        }
    }
    bail!("empty field path")
}
