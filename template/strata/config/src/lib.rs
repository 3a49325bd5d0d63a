//! Configuration for a strata service: a YAML file (or a directory of them), an
//! optional `config.<env>.yaml`, `<PREFIX>__SECTION__KEY` environment variables and
//! `--set key=value` flags, later wins; loaded into the service's own schema.
//!
//! The service owns its schema (a struct that implements [`Config`]) and composes
//! the framework's sections into it: [`Server`], [`Log`], [`Trace`], [`Auth`], [`Clients`]. The framework
//! reads those sections as they are, so a setting flows one way: from the file to
//! the code that uses it. An unknown key or a bad value stops startup with a
//! message that names the key and the source that set it.

mod auth;
mod clients;
mod load;
mod schema;
mod sources;
mod watch;

pub use auth::{Auth, Jwt, REDACTED};
pub use clients::{Breaker, Client, Clients, Retry, validate_clients};
pub use load::{Error, Sources, env_prefix, load, redacted};
pub use schema::{
    Cors, Grpc, Http, Invalid, Log, LogFile, LogFormat, Middleware, Rotation, Server, Tls, Trace,
};
pub use watch::{Watcher, watch};

/// A service's whole configuration: what [`load`] deserializes, then checks.
///
/// ```ignore
/// impl strata_config::Config for Bootstrap {
///     fn validate(&self) -> Result<(), Invalid> {
///         self.server.validate("server")?;
///         self.log.validate("log")?;
///         self.trace.validate("trace")
///     }
/// }
/// ```
pub trait Config: serde::de::DeserializeOwned + serde::Serialize {
    /// The rules serde cannot express; the error names the offending key.
    fn validate(&self) -> Result<(), Invalid>;

    /// What to show instead of the secret `value` at `key` (a dotted path such as
    /// `data.database.url`) in error messages and `--print-config`; `None` for a
    /// value that is not secret.
    fn redact(key: &str, value: &str) -> Option<String> {
        let _ = (key, value);
        None
    }
}
