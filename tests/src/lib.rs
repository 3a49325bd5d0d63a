//! Helpers the template's tests share: render a variant, run cargo in it, start its
//! binary and talk to it. Each test file under `tests/` states one promise.

pub mod browser;
mod built;
mod database;
pub mod grpc;
pub mod lockfile;
pub mod malformed;
pub mod process;
pub mod quickstart;
pub mod raw_http;
mod render;
pub mod shipping;
pub mod validators;

pub use built::{Scratch, built, start_built};
pub use database::TestDatabase;
pub use process::{
    Exclusive, Made, Service, cargo, cargo_with_env, database_available, exclusive, free_port,
    make, make_ok, promtool_available, promtool_check,
};
pub use render::{Rendered, Variant, generate, generate_err, generate_err_with, template_root};
