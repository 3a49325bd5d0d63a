//! Types, services, HTTP routes and errors generated from the protos under
//! `api/`. Never edit by hand: change the .proto and rebuild (`make api`).
//!
//! Each package is a module (`helloworld.v1` is [`helloworld::v1`]) holding its
//! messages, the tonic `<service>_server` / `<service>_client` modules,
//! `<service>_http_routes` and an `error_<reason>` / `is_<reason>` pair for every
//! value of its `ErrorReason` enums.

use std::sync::LazyLock;

use prost_reflect::DescriptorPool;

include!(concat!(env!("OUT_DIR"), "/api.rs"));

/// Every proto of this crate and its imports, encoded: what gRPC reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

/// The OpenAPI 3 document of the HTTP routes, served at `GET /openapi.json`.
pub const OPENAPI_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

/// [`FILE_DESCRIPTOR_SET`] decoded once: what HTTP transcoding reads messages with.
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: LazyLock<DescriptorPool> = LazyLock::new(|| {
        DescriptorPool::decode(FILE_DESCRIPTOR_SET)
            .unwrap_or_else(|err| panic!("api/build.rs encoded an invalid descriptor set: {err}"))
    });
    &POOL
}
