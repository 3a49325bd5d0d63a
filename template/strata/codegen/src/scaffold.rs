//! `cargo strata proto-add` and `proto-server`, as `kratos proto add` and
//! `kratos proto server`: a new CRUD-shaped proto, and a service skeleton for an
//! existing one. Neither ever overwrites a file.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{MessageDescriptor, ServiceDescriptor};

use crate::proto_rules::{FieldRule, option};
use crate::protos;

/// Writes `proto` (`api/library/v1/library.proto`, relative to `root`): package
/// `library.v1`, service `Library` with Create/Get/List/Update/Delete over a
/// `Library` resource, each with an HTTP binding, and its error reasons.
pub fn proto_add(root: &Path, proto: &Path) -> Result<PathBuf> {
    let relative = proto
        .strip_prefix("api")
        .ok()
        .filter(|rest| rest.components().count() >= 2)
        .with_context(|| {
            format!(
                "{} is not under api/<package path>/; try api/library/v1/library.proto",
                proto.display()
            )
        })?;
    ensure!(
        proto.extension().is_some_and(|ext| ext == "proto"),
        "{} does not end in .proto",
        proto.display()
    );
    let stem = proto
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let package_parts: Vec<&str> = relative
        .parent()
        .into_iter()
        .flat_map(|dir| dir.iter())
        .filter_map(|part| part.to_str())
        .collect();
    for part in package_parts.iter().chain([&stem]) {
        ensure!(
            is_identifier(part),
            "{part:?} in {} is not a lowercase proto identifier (a-z, 0-9, _; not starting with a digit)",
            proto.display()
        );
    }
    let path = root.join(proto);
    ensure!(
        !path.exists(),
        "{} exists already; proto-add never overwrites a file",
        proto.display()
    );
    let text = crud_proto(&package_parts.join("."), stem);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn is_identifier(part: &str) -> bool {
    part.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && part
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The proto text of a CRUD service for `resource` in `package`.
fn crud_proto(package: &str, resource: &str) -> String {
    let name = resource.to_upper_camel_case();
    let plural_name = plural(&name);
    let plural_snake = plural_name.to_snake_case();
    let upper = resource.to_ascii_uppercase();
    let version = package.rsplit('.').next().filter(|last| {
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit())
    });
    let collection = match version {
        Some(version) => format!("/{version}/{plural_snake}"),
        None => format!("/{plural_snake}"),
    };
    fill(
        include_str!("templates/crud.proto"),
        &[
            ("package", package),
            ("name", &name),
            ("plural_name", &plural_name),
            ("plural_snake", &plural_snake),
            ("resource", resource),
            ("upper", &upper),
            ("collection", &collection),
            (
                "display_name_rules",
                &option(FieldRule::Text { min: 1, max: 200 }),
            ),
            (
                "page_size_rules",
                &option(FieldRule::Int32Range { min: 0, max: 100 }),
            ),
            ("required", &option(FieldRule::Required)),
        ],
    )
}

/// `template` with every `@key@` replaced by its value. Templates are files, not
/// format strings: this crate's sources hold no doubled braces, which
/// cargo-generate would read as Liquid.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("@{key}@"), value)
        })
}

/// English plural, good enough for resource names.
fn plural(name: &str) -> String {
    let ends_in_consonant_y = name.ends_with('y')
        && !name[..name.len() - 1].ends_with(|c: char| "aeiouAEIOU".contains(c));
    if ends_in_consonant_y {
        format!("{}ies", &name[..name.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|end| name.ends_with(end))
    {
        format!("{name}es")
    } else {
        format!("{name}s")
    }
}

/// What `proto_server` wrote and how to register it.
#[derive(Debug)]
pub struct Written {
    pub file: PathBuf,
    pub module: String,
    pub service: String,
    pub registration: String,
}

/// Writes `internal/service/src/<service>.rs` for every service of `proto`
/// (relative to `root`, under `api/`): a struct implementing the tonic trait with
/// every rpc returning Unimplemented. Refuses to overwrite a file.
pub fn proto_server(root: &Path, proto: &Path) -> Result<Vec<Written>> {
    let name = proto
        .strip_prefix("api")
        .with_context(|| format!("{} is not under api/", proto.display()))?
        .to_string_lossy()
        .replace('\\', "/");
    ensure!(
        root.join(proto).is_file(),
        "{} does not exist",
        proto.display()
    );
    let compiled = protos::compile(&root.join("api"), &root.join("third_party"))?;
    let file = compiled
        .files()
        .find(|file| file.name() == name)
        .with_context(|| format!("{name} did not compile into the api"))?;
    let services: Vec<ServiceDescriptor> = file.services().collect();
    ensure!(
        !services.is_empty(),
        "{} defines no service",
        proto.display()
    );

    let mut plans = Vec::new();
    for service in &services {
        let module = service.name().to_snake_case();
        let path = root
            .join("internal/service/src")
            .join(format!("{module}.rs"));
        if path.exists() {
            bail!(
                "{} exists already; proto-server never overwrites a file (delete it or move it first)",
                path.strip_prefix(root).unwrap_or(&path).display()
            );
        }
        plans.push((service, module, path));
    }
    let mut written = Vec::new();
    for (service, module, path) in plans {
        std::fs::write(&path, skeleton(service))
            .with_context(|| format!("writing {}", path.display()))?;
        let struct_name = struct_name(service);
        let registration = registration(service, &module, &struct_name);
        written.push(Written {
            file: path,
            module,
            service: struct_name,
            registration,
        });
    }
    Ok(written)
}

/// `LibraryService` for `library.v1.LibraryService` and `library.v1.Library`.
fn struct_name(service: &ServiceDescriptor) -> String {
    let name = service.name();
    if name.ends_with("Service") {
        name.to_owned()
    } else {
        format!("{name}Service")
    }
}

/// The module path of `package` in the api crate: `api::library::v1`.
fn api_module(package: &str) -> String {
    format!("api::{}", package.replace('.', "::"))
}

/// The Rust type of `message` as seen from the service crate.
fn rust_type(message: &MessageDescriptor, own_package: &str) -> String {
    let full = message.full_name();
    if full == "google.protobuf.Empty" {
        return "()".into();
    }
    if let Some(wkt) = full.strip_prefix("google.protobuf.") {
        return format!("prost_types::{wkt}");
    }
    let package = message.package_name();
    let inner = full
        .strip_prefix(package)
        .unwrap_or(full)
        .trim_start_matches('.');
    let mut parts: Vec<String> = inner.split('.').map(str::to_owned).collect();
    let last = parts.pop().unwrap_or_default();
    let mut path: Vec<String> = parts.iter().map(|p| p.to_snake_case()).collect();
    path.push(last.to_upper_camel_case());
    if package == own_package {
        format!("pb::{}", path.join("::"))
    } else {
        format!("{}::{}", api_module(package), path.join("::"))
    }
}

fn skeleton(service: &ServiceDescriptor) -> String {
    let package = service.package_name();
    let struct_name = struct_name(service);
    let trait_path = format!(
        "pb::{}_server::{}",
        service.name().to_snake_case(),
        service.name()
    );
    let mut methods = String::new();
    for method in service.methods() {
        let input = rust_type(&method.input(), package);
        let output = rust_type(&method.output(), package);
        // A client stream arrives as tonic's `Streaming` of the input; a server
        // stream leaves as the trait's associated `<Method>Stream` type.
        let input = if method.is_client_streaming() {
            format!("tonic::Streaming<{input}>")
        } else {
            input
        };
        let template = if method.is_server_streaming() {
            include_str!("templates/streaming_method.rs.txt")
        } else {
            include_str!("templates/method.rs.txt")
        };
        let fn_name = method.name().to_snake_case();
        methods.push_str(&fill(
            template,
            &[
                ("fn_name", &fn_name),
                ("stream_type", &format!("{}Stream", method.name())),
                ("input", &input),
                ("output", &output),
                ("full", service.full_name()),
                ("method", method.name()),
            ],
        ));
    }
    let methods = methods.trim_start_matches('\n');
    fill(
        include_str!("templates/service.rs.txt"),
        &[
            ("api", &api_module(package)),
            ("full", service.full_name()),
            ("struct_name", &struct_name),
            ("trait_path", &trait_path),
            ("methods", methods),
        ],
    )
}

fn registration(service: &ServiceDescriptor, module: &str, struct_name: &str) -> String {
    let api = api_module(service.package_name());
    let snake = service.name().to_snake_case();
    format!(
        "internal/service/src/lib.rs:\n    \
             mod {module};\n    \
             pub use {module}::{struct_name};\n  \
         and a field of `Services` there:\n    \
             pub {snake}: {struct_name},\n\
         cmd/<name>/src/lib.rs, in `services()`:\n    \
             {snake}: service::{struct_name}::new(),\n\
         internal/server/src/grpc.rs, in `routes`:\n    \
             .add_service({api}::{snake}_server::{server}Server::new(Validated::new(services.{snake}.clone())))\n\
         internal/server/src/http.rs, in `api_routes`:\n    \
             .merge({api}::{snake}_http_routes(Validated::new(services.{snake}.clone()), options))\n",
        server = service.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_read_as_english() {
        assert_eq!(plural("Library"), "Libraries");
        assert_eq!(plural("Day"), "Days");
        assert_eq!(plural("Box"), "Boxes");
        assert_eq!(plural("Note"), "Notes");
    }
}
