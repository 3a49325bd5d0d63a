//! The HTTP routes of each service, from its [`Binding`]s: one function per
//! service, `<service>_http_routes(service, options)`, returning
//! `strata::transcoding::HttpRoutes` whose handlers decode the request and call
//! the same trait method gRPC calls.

use heck::{ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::TokenStream;
use prost_reflect::ServiceDescriptor;
use quote::{format_ident, quote};

use crate::http_rule::{Binding, Body, Method};
use crate::path_template::RouteSegment;

/// The routes function of `service`.
pub fn generate(service: &ServiceDescriptor, methods: &[Method]) -> TokenStream {
    let snake = service.name().to_snake_case();
    let routes_fn = format_ident!("{snake}_http_routes");
    let server_mod = format_ident!("{snake}_server");
    let trait_name = format_ident!("{}", service.name());
    let doc = format!(
        " The HTTP/JSON routes of `{}`, from the `google.api.http` options of its \
         rpcs. Each handler calls the same method of `service` that gRPC calls.",
        service.full_name()
    );

    // Unary rpcs, and server streams with a rule; client and bidirectional
    // streams are gRPC-only (see `http_rule::Method::served_on_http`).
    let unary: Vec<&Method> = methods.iter().filter(|m| m.served_on_http()).collect();
    let mut consts = Vec::new();
    let mut annotated = Vec::new();
    let mut defaults = Vec::new();
    for method in &unary {
        let rust_method = format_ident!("{}", method.descriptor.name().to_snake_case());
        let call = quote! {
            |service: ::std::sync::Arc<T>, request| async move { service.#rust_method(request).await }
        };
        let shouty =
            format!("{}_{}", service.name(), method.descriptor.name()).to_shouty_snake_case();
        if !method.bindings.is_empty() {
            let name = format_ident!("{shouty}_HTTP");
            let bindings = method.bindings.iter().map(|b| binding(method, b));
            let doc = format!(" `{}`: its `google.api.http` bindings.", method.operation);
            consts.push(quote! {
                #[doc = #doc]
                const #name: &[::strata::transcoding::Binding] = &[#(#bindings),*];
            });
            let kind = if method.descriptor.is_server_streaming() {
                format_ident!("server_stream")
            } else {
                format_ident!("unary")
            };
            annotated.push(quote! {
                for binding in #name {
                    routes = routes.#kind(pool, binding, service.clone(), #call);
                }
            });
        }
        if let Some(default) = &method.default_binding {
            let name = format_ident!("{shouty}_DEFAULT_HTTP");
            let value = binding(method, default);
            let doc = format!(
                " `{}` has no `google.api.http` option: `POST {}`.",
                method.operation, method.operation
            );
            consts.push(quote! {
                #[doc = #doc]
                const #name: ::strata::transcoding::Binding = #value;
            });
            defaults.push(quote! {
                routes = routes.unary(pool, &#name, service.clone(), #call);
            });
        }
    }
    let defaults = if defaults.is_empty() {
        quote! { let _ = options; }
    } else {
        quote! { if options.default_routes { #(#defaults)* } }
    };
    let service_binding = if unary.is_empty() {
        quote! { let _ = (service, pool); }
    } else {
        quote! { let service = ::std::sync::Arc::new(service); }
    };

    quote! {
        #(#consts)*

        #[doc = #doc]
        pub fn #routes_fn<T: #server_mod::#trait_name>(
            service: T,
            options: &::strata::transcoding::RouteOptions,
        ) -> ::strata::transcoding::HttpRoutes {
            let pool = crate::descriptor_pool();
            #service_binding
            #[allow(unused_mut)]
            let mut routes = ::strata::transcoding::HttpRoutes::new();
            #(#annotated)*
            #defaults
            routes
        }
    }
}

fn binding(method: &Method, binding: &Binding) -> TokenStream {
    let operation = &method.operation;
    let http_method = &binding.method;
    let path = &binding.route.path;
    let input = method.descriptor.input().full_name().to_owned();
    let output = method.descriptor.output().full_name().to_owned();
    let params = binding.route.params.iter().map(|param| {
        let field = &param.field;
        let (first, end) = (param.first, param.end);
        quote! { ::strata::transcoding::PathParam { field: #field, first: #first, end: #end } }
    });
    let segments = binding.route.segments.iter().map(|segment| match segment {
        RouteSegment::Literal(text) => quote! { ::strata::transcoding::Segment::Literal(#text) },
        RouteSegment::One => quote! { ::strata::transcoding::Segment::One },
        RouteSegment::Rest => quote! { ::strata::transcoding::Segment::Rest },
    });
    let verb = match &binding.route.verb {
        Some(verb) => quote! { Some(#verb) },
        None => quote! { None },
    };
    let body = match &binding.body {
        Body::None => quote! { ::strata::transcoding::Body::None },
        Body::All => quote! { ::strata::transcoding::Body::All },
        Body::Field(field) => quote! { ::strata::transcoding::Body::Field(#field) },
    };
    let response_body = match &binding.response_body {
        Some(field) => quote! { Some(#field) },
        None => quote! { None },
    };
    quote! {
        ::strata::transcoding::Binding {
            operation: #operation,
            method: #http_method,
            path: #path,
            segments: &[#(#segments),*],
            verb: #verb,
            input: #input,
            output: #output,
            params: &[#(#params),*],
            body: #body,
            response_body: #response_body,
        }
    }
}
