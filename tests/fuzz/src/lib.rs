//! What the fuzz targets share: a fixture proto with every kind of field, the
//! transcoded routes of it, a gRPC service behind strata's middleware, and a
//! runtime to send requests through them one at a time.

pub mod fixture;
pub mod grpc;
pub mod transcoding;

use std::sync::LazyLock;

/// One thread: an input's request runs to its reply before the next input.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
});

/// Runs `future` to completion; a panic inside is the fuzzer's crash.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.block_on(future)
}
