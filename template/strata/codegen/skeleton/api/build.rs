//! Compiles every .proto under api/ with protox (pure Rust: no protoc needed),
//! then generates from the same descriptors: prost messages and tonic
//! servers/clients, and with strata-codegen (the framework's generator) the HTTP
//! routes from `google.api.http`, typed errors from `errors.code`, the module
//! tree and the OpenAPI document, also written to `api/openapi.json`.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=.");
    println!("cargo:rerun-if-changed=../third_party");
    let compiled = strata_codegen::compile(Path::new("."), Path::new("../third_party"))?;

    tonic_prost_build::configure().compile_fds(compiled.file_descriptor_set.clone())?;

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // The encoded set keeps comments and custom options (google.api.http,
    // errors.code): gRPC reflection serves it and transcoding reads it.
    std::fs::write(out_dir.join("descriptor.bin"), &compiled.encoded)?;
    strata_codegen::generate(&compiled, &out_dir)?;
    // A copy for people and tools; served at GET /openapi.json.
    let openapi = std::fs::read_to_string(out_dir.join("openapi.json"))?;
    strata_codegen::write(Path::new("."), "openapi.json", &openapi)?;
    Ok(())
}
