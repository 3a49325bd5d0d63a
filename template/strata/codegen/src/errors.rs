//! Typed errors from `enum ErrorReason` values, as protoc-gen-go-errors does for
//! Kratos: every enum with an `(errors.default_code)` option gets, for each value
//! but the zero one, a constructor `error_<value>(message)` returning
//! `strata::Error` and a predicate `is_<value>(&error)`.

use anyhow::{Result, ensure};
use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use prost_reflect::{DescriptorPool, EnumDescriptor, Value};
use quote::{format_ident, quote};

use crate::comments;

/// The HTTP statuses an error may carry: each has one gRPC code, so a status sent
/// over gRPC turns back into the same error on the client.
pub const CODES: &[u32] = &[400, 401, 403, 404, 409, 429, 499, 500, 501, 503, 504];

/// An enum of error reasons.
#[derive(Debug, Clone)]
pub struct ErrorEnum {
    pub descriptor: EnumDescriptor,
    pub reasons: Vec<Reason>,
}

/// One reason: `USER_NOT_FOUND`, sent with `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub name: String,
    pub code: u32,
    pub doc: String,
}

/// Every enum of `package` marked with `(errors.default_code)`.
pub fn error_enums(pool: &DescriptorPool, package: &str) -> Result<Vec<ErrorEnum>> {
    let (Some(default_code), Some(code)) = (
        pool.get_extension_by_name("errors.default_code"),
        pool.get_extension_by_name("errors.code"),
    ) else {
        return Ok(Vec::new());
    };
    let mut enums = Vec::new();
    for descriptor in pool.all_enums().filter(|e| e.package_name() == package) {
        let options = descriptor.options();
        if !options.has_extension(&default_code) {
            continue;
        }
        let default = as_code(
            &options.get_extension(&default_code),
            descriptor.full_name(),
        )?;
        let mut reasons = Vec::new();
        for value in descriptor.values().filter(|value| value.number() != 0) {
            let options = value.options();
            let code = if options.has_extension(&code) {
                as_code(&options.get_extension(&code), value.full_name())?
            } else {
                default
            };
            reasons.push(Reason {
                name: value.name().to_owned(),
                code,
                doc: comments::leading(&value.parent_file(), value.path()),
            });
        }
        enums.push(ErrorEnum {
            descriptor,
            reasons,
        });
    }
    Ok(enums)
}

fn as_code(value: &Value, owner: &str) -> Result<u32> {
    let code = value.as_i32().unwrap_or_default();
    let code = u32::try_from(code).unwrap_or_default();
    ensure!(
        CODES.contains(&code),
        "{owner}: errors code {code} has no gRPC code to travel as; use one of {CODES:?}"
    );
    Ok(code)
}

/// The constructors and predicates of `enums`, for the package's module.
pub fn generate(package: &str, enums: &[ErrorEnum]) -> TokenStream {
    let items = enums.iter().flat_map(|e| &e.reasons).map(|reason| {
        let snake = reason.name.to_snake_case();
        let constructor = format_ident!("error_{snake}");
        let predicate = format_ident!("is_{snake}");
        let name = &reason.name;
        let code = u16::try_from(reason.code).unwrap_or(500);
        let code_literal = proc_macro2::Literal::u16_unsuffixed(code);
        let doc = if reason.doc.is_empty() {
            format!("`{name}`.")
        } else {
            reason.doc.clone()
        };
        let constructor_doc = format!(" {name}, HTTP {code}: {doc}").replace('\n', " ");
        let predicate_doc =
            format!(" Whether `error` is [`{constructor}`]: reason `{name}`, HTTP {code}.");
        quote! {
            #[doc = #constructor_doc]
            pub fn #constructor(message: impl Into<String>) -> ::strata::Error {
                ::strata::Error::new(#code_literal, #name, message).with_domain(#package)
            }

            #[doc = #predicate_doc]
            pub fn #predicate(error: &::strata::Error) -> bool {
                error.code() == #code_literal && error.reason() == #name
            }
        }
    });
    quote! { #(#items)* }
}
