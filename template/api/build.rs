//! Compiles every .proto under api/ with protox (pure Rust: no protoc needed), then
//! generates prost messages, tonic servers/clients and pbjson serde impls from the
//! same descriptor set.

use std::path::{Path, PathBuf};

/// Proto packages whose messages get proto3 JSON (serde) impls.
const JSON_PACKAGES: &[&str] = &[".helloworld"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = find_protos(Path::new("."))?;
    for proto in &protos {
        println!("cargo:rerun-if-changed={}", proto.display());
    }
    println!("cargo:rerun-if-changed=../third_party");

    let mut compiler = protox::Compiler::new([".", "../third_party"])?;
    compiler.include_imports(true).open_files(&protos)?;

    tonic_prost_build::configure()
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(compiler.file_descriptor_set())?;

    // The encoded set keeps custom options (google.api.http, errors.code) that
    // re-encoding `file_descriptor_set()` would drop. gRPC reflection serves it.
    let descriptors = compiler.encode_file_descriptor_set();
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptor.bin"), &descriptors)?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .build(JSON_PACKAGES)?;
    Ok(())
}

/// Every `.proto` file below `dir`, skipping build output.
fn find_protos(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut protos = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && !path.ends_with("target") && !path.ends_with("src") {
            protos.extend(find_protos(&path)?);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            protos.push(path.strip_prefix("./").unwrap_or(&path).to_path_buf());
        }
    }
    protos.sort();
    Ok(protos)
}
