//! Build script: compiles `proto/simtheme/v1/simtheme.proto` with a vendored `protoc`, so a
//! fresh machine needs no system protobuf compiler, then generates proto3-JSON serde impls for
//! the messages with pbjson (the HTTP/JSON API speaks exactly what grpcurl prints), and the
//! OpenAPI 3.1 document of that HTTP/JSON API ([`openapi_gen`], served at `/openapi.json`).

use std::path::PathBuf;

use prost::Message;

#[path = "openapi_gen.rs"]
mod openapi_gen;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("simtheme_descriptor.bin"))
        .compile_protos(&["proto/simtheme/v1/simtheme.proto"], &["proto"])?;
    let descriptors = std::fs::read(out.join("simtheme_descriptor.bin"))?;
    pbjson_build::Builder::new().register_descriptors(&descriptors)?.build(&[".simtheme"])?;
    let set = prost_types::FileDescriptorSet::decode(descriptors.as_slice())?;
    std::fs::write(out.join("openapi.json"), openapi_gen::openapi(&set)?)?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
