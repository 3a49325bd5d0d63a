//! Finds the protos of the api crate and compiles them with protox: pure Rust, so
//! no protoc is needed on any machine.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use std::collections::BTreeSet;

use prost_reflect::{DescriptorPool, FileDescriptor, Kind, MessageDescriptor};

/// The compiled protos of the api crate and everything they import.
pub struct Compiled {
    /// Every file, with comments and custom options (`google.api.http`,
    /// `errors.code`): what the generators read.
    pub pool: DescriptorPool,
    /// The same set encoded, as gRPC reflection serves it.
    pub encoded: Vec<u8>,
    /// The same set for tonic-prost-build.
    pub file_descriptor_set: prost_types::FileDescriptorSet,
    /// The names of the api's own files (`helloworld/v1/greeter.proto`), not
    /// their imports.
    own: Vec<String>,
}

impl Compiled {
    /// The api's own files, in name order.
    pub fn files(&self) -> impl Iterator<Item = FileDescriptor> + '_ {
        self.pool
            .files()
            .filter(|file| self.own.iter().any(|name| name == file.name()))
    }

    /// The packages outside the api whose messages its own files use, directly
    /// or through each other (`google.api` for `google.api.HttpBody`), sorted.
    /// prost writes their types too, and the api crate must hold them;
    /// `google.protobuf` is left out: prost-types has those.
    pub fn imported_packages(&self) -> Vec<String> {
        let own = self.packages();
        let mut next: Vec<MessageDescriptor> = Vec::new();
        for file in self.files() {
            next.extend(file.messages());
            for service in file.services() {
                next.extend(service.methods().flat_map(|m| [m.input(), m.output()]));
            }
        }
        let mut visited = BTreeSet::new();
        let mut imported = BTreeSet::new();
        // Bounded by the pool: each message is expanded once.
        while let Some(message) = next.pop() {
            if !visited.insert(message.full_name().to_owned()) {
                continue;
            }
            let package = message.package_name();
            if !own.iter().any(|p| p == package) && package != "google.protobuf" {
                imported.insert(package.to_owned());
            }
            next.extend(message.child_messages());
            next.extend(message.fields().filter_map(|field| match field.kind() {
                Kind::Message(kind) => Some(kind),
                _ => None,
            }));
        }
        imported.into_iter().collect()
    }

    /// The packages of the api's own files, sorted and deduplicated.
    pub fn packages(&self) -> Vec<String> {
        let mut packages: Vec<String> = self.files().map(|f| f.package_name().to_owned()).collect();
        packages.sort();
        packages.dedup();
        packages
    }
}

/// Every `.proto` file below `dir`, relative to it, skipping build output.
pub fn find(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut protos = Vec::new();
    walk(dir, dir, &mut protos)?;
    protos.sort();
    Ok(protos)
}

fn walk(root: &Path, dir: &Path, protos: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && !path.ends_with("target") && !path.ends_with("src") {
            walk(root, &path, protos)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            protos.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
    Ok(())
}

/// Compiles every proto under `api_dir`, resolving imports from `api_dir` and
/// then `third_party`.
pub fn compile(api_dir: &Path, third_party: &Path) -> Result<Compiled> {
    let protos = find(api_dir)?;
    ensure!(
        !protos.is_empty(),
        "no .proto files under {}",
        api_dir.display()
    );
    let mut compiler = protox::Compiler::new([api_dir, third_party])?;
    compiler.include_imports(true).include_source_info(true);
    for proto in &protos {
        compiler
            .open_file(api_dir.join(proto))
            .map_err(|err| anyhow::anyhow!("{err}"))?;
    }
    let own = protos
        .iter()
        .map(|proto| proto.to_string_lossy().replace('\\', "/"))
        .collect();
    let compiled = Compiled {
        pool: compiler.descriptor_pool(),
        encoded: compiler.encode_file_descriptor_set(),
        file_descriptor_set: compiler.file_descriptor_set(),
        own,
    };
    for file in compiled.files() {
        ensure!(
            !file.package_name().is_empty(),
            "{} declares no package; add one matching its directory, e.g. `package {};`",
            file.name(),
            file.name()
                .rsplit_once('/')
                .map_or("", |(dir, _)| dir)
                .replace('/', ".")
        );
    }
    Ok(compiled)
}
