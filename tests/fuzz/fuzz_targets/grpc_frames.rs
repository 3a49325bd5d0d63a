//! gRPC request bodies (length-prefixed frames: a compression flag, a 4-byte
//! length, the message) through strata's gRPC middleware to a unary method.
//! Whatever a client sends ends in a status that is the caller's: OK,
//! INVALID_ARGUMENT (reason CODEC), NOT_FOUND (the health service's unknown
//! service) or RESOURCE_EXHAUSTED (over the message limit), never INTERNAL or
//! UNKNOWN, and nothing panics. Input: the request body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tonic::Code;

fuzz_target!(|data: &[u8]| {
    let status = strata_fuzz::grpc::check(data.to_vec());
    assert!(
        matches!(
            status.code(),
            Code::Ok | Code::InvalidArgument | Code::NotFound | Code::ResourceExhausted
        ),
        "{data:?}: {status:?}"
    );
});
