//! Compiles the sample's greeter.proto (the template's own copy: it has no Liquid)
//! with protox, as the template's api/build.rs does: no protoc on the machine.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "../template/api/helloworld/v1/greeter.proto";
    println!("cargo:rerun-if-changed={proto}");
    let mut compiler = protox::Compiler::new(["../template/api", "../template/third_party"])?;
    compiler
        .include_imports(true)
        .open_file("helloworld/v1/greeter.proto")?;
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}
