//! The server layer only assembles: which service is mounted where, on which
//! transport, behind which middleware. No business decisions.

mod grpc;
mod http;

pub use grpc::grpc;
pub use http::http;
