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
    /// The same set encoded, as gRPC reflection serves it and transcoding
    /// decodes it at startup: custom options kept byte for byte, comments kept
    /// for the api's own files only (`buf/validate/validate.proto`'s alone
    /// held two thirds of the set, and each decoded copy made a service's idle
    /// memory a megabyte larger).
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
    let own: Vec<String> = protos
        .iter()
        .map(|proto| proto.to_string_lossy().replace('\\', "/"))
        .collect();
    let compiled = Compiled {
        pool: compiler.descriptor_pool(),
        encoded: without_imported_comments(&compiler.encode_file_descriptor_set(), &own)?,
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

/// `FileDescriptorSet.file`, `FileDescriptorProto.name` and
/// `FileDescriptorProto.source_code_info` (descriptor.proto's field numbers).
const SET_FILE: u64 = 1;
const FILE_NAME: u64 = 1;
const FILE_SOURCE_CODE_INFO: u64 = 9;

/// The encoded `set` with the `source_code_info` (comments and source spans) of
/// every file not named in `own` left out. It works on the wire format, so every
/// other byte, custom options included, stays as it was.
fn without_imported_comments(set: &[u8], own: &[String]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(set.len());
    for (number, field) in wire_fields(set)? {
        if number != SET_FILE {
            out.extend_from_slice(field.raw);
            continue;
        }
        let file = field
            .payload
            .context("FileDescriptorSet.file is not length-delimited")?;
        let name = wire_fields(file)?
            .into_iter()
            .find(|(number, _)| *number == FILE_NAME)
            .and_then(|(_, name)| name.payload)
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if own.iter().any(|own| *own == name) {
            out.extend_from_slice(field.raw);
            continue;
        }
        let mut kept = Vec::with_capacity(file.len());
        for (number, inner) in wire_fields(file)? {
            if number != FILE_SOURCE_CODE_INFO {
                kept.extend_from_slice(inner.raw);
            }
        }
        put_varint(&mut out, (SET_FILE << 3) | 2);
        put_varint(&mut out, kept.len() as u64);
        out.extend_from_slice(&kept);
    }
    Ok(out)
}

/// One field of an encoded message: its bytes as they stand (key included)
/// and, when length-delimited, its payload.
struct WireField<'a> {
    raw: &'a [u8],
    payload: Option<&'a [u8]>,
}

/// The fields of the encoded message `bytes`, by field number, in order.
fn wire_fields(bytes: &[u8]) -> Result<Vec<(u64, WireField<'_>)>> {
    let mut fields = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let start = at;
        let key = varint(bytes, &mut at)?;
        let payload = match key & 7 {
            0 => {
                varint(bytes, &mut at)?;
                None
            }
            1 => {
                at += 8;
                None
            }
            2 => {
                let len = usize::try_from(varint(bytes, &mut at)?)?;
                let payload = bytes
                    .get(at..at + len)
                    .context("a length-delimited field runs past the end of the descriptor set")?;
                at += len;
                Some(payload)
            }
            5 => {
                at += 4;
                None
            }
            wire_type => anyhow::bail!("wire type {wire_type} in the descriptor set"),
        };
        let raw = bytes
            .get(start..at)
            .context("a field runs past the end of the descriptor set")?;
        fields.push((key >> 3, WireField { raw, payload }));
    }
    Ok(fields)
}

fn varint(bytes: &[u8], at: &mut usize) -> Result<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes
            .get(*at)
            .context("a varint runs past the end of the descriptor set")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    anyhow::bail!("a varint longer than 10 bytes in the descriptor set")
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field: key and length, then `payload`.
    fn field(number: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, (number << 3) | 2);
        put_varint(&mut out, payload.len() as u64);
        out.extend_from_slice(payload);
        out
    }

    fn file(name: &str, options: &[u8], comments: &[u8]) -> Vec<u8> {
        [
            field(FILE_NAME, name.as_bytes()),
            field(8, options),
            field(FILE_SOURCE_CODE_INFO, comments),
        ]
        .concat()
    }

    #[test]
    fn imported_files_lose_their_comments_and_nothing_else() {
        // Options hold a field prost-types does not know (a custom option).
        let options = [field(72_295_728, b"get: /v1/x"), vec![0x08, 0x96, 0x01]].concat();
        let own = file("api/v1/own.proto", &options, b"own comments");
        let imported = file("buf/validate/validate.proto", &options, &[b'c'; 300]);
        let set = [field(SET_FILE, &own), field(SET_FILE, &imported)].concat();

        let stripped =
            without_imported_comments(&set, &["api/v1/own.proto".to_owned()]).expect("strips");

        let expected_imported = [
            field(FILE_NAME, b"buf/validate/validate.proto"),
            field(8, &options),
        ]
        .concat();
        assert_eq!(
            stripped,
            [field(SET_FILE, &own), field(SET_FILE, &expected_imported)].concat()
        );
    }

    #[test]
    fn a_truncated_set_is_an_error() {
        let set = field(SET_FILE, &file("a.proto", b"", b"x"));
        assert!(without_imported_comments(&set[..set.len() - 1], &[]).is_err());
    }
}
