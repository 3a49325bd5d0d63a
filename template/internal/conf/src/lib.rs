//! Configuration: `configs/config.yaml`, overridden by environment variables.
//!
//! Every setting is a field of [`Bootstrap`]; an unknown key or a bad value stops
//! startup with a message that names the file and the key.

mod bootstrap;
mod load;

pub use bootstrap::{
    Bootstrap, Cors, Data, Database, Grpc, Http, Log, LogFile, LogFormat, Middleware, Rotation,
    Server, Trace,
};
pub use load::{Error, env_prefix, load};
