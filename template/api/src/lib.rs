//! Types and services generated from the protos under `api/`. Never edit by hand:
//! change the .proto and rebuild (`make api`).

/// Every proto of this crate and its imports, encoded: what gRPC reflection serves.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));

/// `package helloworld.v1`
pub mod helloworld {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/helloworld.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/helloworld.v1.serde.rs"));
    }
}
