//! Configuration: `configs/config.yaml` (or a directory of YAML files), an optional
//! `config.<env>.yaml`, environment variables and `--set` flags, later wins.
//!
//! Every setting is a field of [`Bootstrap`]; an unknown key or a bad value stops
//! startup with a message that names the key and the source it came from.

mod bootstrap;
mod load;
mod sources;
mod watch;

pub use bootstrap::{
    Bootstrap, Cors, Data, Database, Grpc, Http, Log, LogFile, LogFormat, Middleware, Rotation,
    Server, Trace,
};
pub use load::{Error, Options, env_prefix, load, load_from, redacted};
pub use watch::{Watcher, watch};
