//! `cargo strata proto-add`, `proto-server` and `scaffold`, as `kratos proto add`,
//! `kratos proto server` and loco's `generate scaffold`: a new CRUD-shaped proto,
//! a service skeleton for an existing one, and a resource through every layer.
//! None ever overwrites a file; each registers what it writes at the marker
//! comments (`markers`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{MessageDescriptor, ServiceDescriptor};

use crate::proto_rules::{FieldRule, option};
use crate::protos;

mod crud;
mod kinds;
mod layout;
pub mod markers;
mod names;
mod resource;

pub use kinds::Database;
pub use layout::Layout;
pub use names::{Field, Kind, Resource, TYPES};
pub use resource::{Plan, plan, write};

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
    let plural = pluralizer::pluralize(stem, 2, false);
    let fields = format!(
        "  // A human-readable name: 1 to 200 characters, not blank.\n  string display_name = 2{};\n",
        option(FieldRule::Text { min: 1, max: 200 })
    );
    let text = crud_proto(&package_parts.join("."), stem, &plural, &fields, 1);
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

/// The proto text of a CRUD service for `resource` (plural `plural`) in
/// `package`, whose message has `fields` (proto lines, numbered from 2) besides
/// its id and times.
fn crud_proto(
    package: &str,
    resource: &str,
    plural: &str,
    fields: &str,
    field_count: usize,
) -> String {
    let name = resource.to_upper_camel_case();
    let plural_name = plural.to_upper_camel_case();
    let plural_snake = plural.to_snake_case();
    let upper = resource.to_ascii_uppercase();
    let version = package.rsplit('.').next().filter(|last| {
        last.len() > 1 && last.starts_with('v') && last[1..].chars().all(|c| c.is_ascii_digit())
    });
    let collection = match version {
        Some(version) => format!("/{version}/{plural_snake}"),
        None => format!("/{plural_snake}"),
    };
    let create_number = (field_count + 2).to_string();
    let update_number = (field_count + 3).to_string();
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
            ("fields", fields),
            ("create_number", &create_number),
            ("update_number", &update_number),
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
pub(crate) fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("@{key}@"), value)
        })
}

/// What `proto_server` wrote, and the files it registered it in.
#[derive(Debug)]
pub struct Written {
    pub file: PathBuf,
    pub module: String,
    pub service: String,
    pub edited: Vec<PathBuf>,
}

/// Writes `<service layer>/src/<service>.rs` for every service of `proto`
/// (relative to `root`, under `api/`): a struct implementing the tonic trait with
/// every rpc returning Unimplemented, and registers it at the markers of the
/// service, cmd and server layers of `layout`. Refuses to overwrite a file, and
/// writes nothing when a marker is missing.
pub fn proto_server(root: &Path, layout: &Layout, proto: &Path) -> Result<Vec<Written>> {
    let name = proto
        .strip_prefix(&layout.api)
        .with_context(|| {
            format!(
                "{} is not under {}/ (the protos of service {})",
                proto.display(),
                layout.api.display(),
                layout.name
            )
        })?
        .to_string_lossy()
        .replace('\\', "/");
    ensure!(
        root.join(proto).is_file(),
        "{} does not exist",
        proto.display()
    );
    let compiled = protos::compile(&root.join(&layout.api), &root.join("third_party"))?;
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
    let mut inserts = Vec::new();
    for service in &services {
        let module = service.name().to_snake_case();
        let relative = layout.service.join("src").join(format!("{module}.rs"));
        if root.join(&relative).exists() {
            bail!(
                "{} exists already; proto-server never overwrites a file (delete it or move it first)",
                relative.display()
            );
        }
        let struct_name = struct_name(service);
        inserts.extend(registration(layout, service, &module, &struct_name));
        plans.push((service, module, relative, struct_name));
    }
    let edits = markers::plan(root, &inserts)?;
    let mut written = Vec::new();
    let mut files = Vec::new();
    for (service, module, relative, struct_name) in plans {
        let path = root.join(&relative);
        std::fs::write(&path, skeleton(service))
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(relative);
        written.push(Written {
            file: path,
            module,
            service: struct_name,
            edited: edits.iter().map(|(file, _)| file.clone()).collect(),
        });
    }
    for (file, text) in &edits {
        std::fs::write(root.join(file), text)
            .with_context(|| format!("writing {}", file.display()))?;
        files.push(file.clone());
    }
    resource::rustfmt(root, &files);
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

/// Where a service without a use case is registered: its module, its field of
/// `Services`, its constructor in cmd, and its routes on both transports.
fn registration(
    layout: &Layout,
    service: &ServiceDescriptor,
    module: &str,
    struct_name: &str,
) -> Vec<markers::Insert> {
    let api = api_module(service.package_name());
    let snake = service.name().to_snake_case();
    let server = service.name();
    layout.registration(&layout::Registration {
        module: module.to_owned(),
        struct_name: struct_name.to_owned(),
        field: snake.clone(),
        field_doc: service.full_name().to_owned(),
        constructor: format!("service::{struct_name}::new()"),
        grpc_server: format!("{api}::{snake}_server::{server}Server"),
        http_routes: format!("{api}::{snake}_http_routes"),
    })
}
