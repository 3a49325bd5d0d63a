//! `<package>.validate.rs`: for every service, its trait implemented for
//! `strata::Validated<T>`: each rpc checks its request against the
//! `buf.validate` rules (`crate::validation_rules()`) and then calls `T`. The
//! server mounts `Validated::new(service)` on both transports, so gRPC and
//! HTTP refuse the same requests the same way. A client-streaming request is
//! passed on unchecked: its messages arrive after the call starts.

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::TokenStream;
use prost_reflect::{MessageDescriptor, ServiceDescriptor};
use quote::{format_ident, quote};

/// The impl of `service`'s trait for `strata::Validated<T>`.
pub fn generate(service: &ServiceDescriptor) -> TokenStream {
    let snake = service.name().to_snake_case();
    let server_mod = format_ident!("{snake}_server");
    let trait_name = format_ident!("{}", service.name());
    let methods = service.methods().map(|method| {
        let name = format_ident!("{}", method.name().to_snake_case());
        let input = rust_type(&method.input());
        let output = rust_type(&method.output());
        let input_name = method.input().full_name().to_owned();
        let request = if method.is_client_streaming() {
            quote! { ::tonic::Request<::tonic::Streaming<#input>> }
        } else {
            quote! { ::tonic::Request<#input> }
        };
        let check = if method.is_client_streaming() {
            quote! {}
        } else {
            quote! { crate::validation_rules().check(#input_name, request.get_ref())?; }
        };
        if method.is_server_streaming() {
            let stream = format_ident!("{}Stream", method.name());
            quote! {
                type #stream = T::#stream;
                async fn #name(&self, request: #request)
                    -> ::std::result::Result<::tonic::Response<Self::#stream>, ::tonic::Status> {
                    #check
                    self.inner().#name(request).await
                }
            }
        } else {
            quote! {
                async fn #name(&self, request: #request)
                    -> ::std::result::Result<::tonic::Response<#output>, ::tonic::Status> {
                    #check
                    self.inner().#name(request).await
                }
            }
        }
    });
    quote! {
        #[::tonic::async_trait]
        impl<T: #server_mod::#trait_name> #server_mod::#trait_name for ::strata::Validated<T> {
            #(#methods)*
        }
    }
}

/// The Rust type prost and tonic give a message: well-known types from
/// prost-types (`Empty` is `()`), the others under the api crate's module tree,
/// nested messages in their parent's snake_case module.
fn rust_type(message: &MessageDescriptor) -> TokenStream {
    let full_name = message.full_name();
    if let Some(name) = full_name.strip_prefix("google.protobuf.") {
        return match name {
            "Empty" => quote! { () },
            _ => {
                let ident = format_ident!("{name}");
                quote! { ::prost_types::#ident }
            }
        };
    }
    let mut path: Vec<proc_macro2::Ident> = message
        .package_name()
        .split('.')
        .filter(|part| !part.is_empty())
        .map(|part| format_ident!("{part}"))
        .collect();
    let mut parents = Vec::new();
    let mut parent = message.parent_message();
    while let Some(outer) = parent {
        parents.push(format_ident!("{}", outer.name().to_snake_case()));
        parent = outer.parent_message();
    }
    path.extend(parents.into_iter().rev());
    let ident = format_ident!("{}", message.name().to_upper_camel_case());
    quote! { crate #(::#path)* :: #ident }
}
