//! The parts of the benchmark both binaries use: the sample's protobuf types.

/// `helloworld.v1`, compiled from the template's greeter.proto by build.rs.
pub mod pb {
    tonic::include_proto!("helloworld.v1");
}

pub mod greetings;
