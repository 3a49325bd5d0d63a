//! This service's configuration schema and its own checks. Loading (file,
//! `config.<env>.yaml`, environment, `--set`), blame, redaction and hot reload are
//! the framework's: `strata::config`.

mod bootstrap;

pub use bootstrap::{Bootstrap, Data, Database};
pub use strata_config::{Error, Sources, env_prefix, redacted, watch};

/// Loads this service's configuration from `sources`.
pub fn load(sources: &Sources) -> Result<Bootstrap, Error> {
    strata_config::load(sources)
}

#[cfg(test)]
mod tests;
