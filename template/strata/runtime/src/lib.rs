//! strata: what the Kratos library gives a Kratos service. The app lifecycle, the
//! listeners of both transports, the middleware chain, telemetry, metrics, health,
//! HTTP transcoding, request validation from `buf.validate` rules, the error type
//! both transports render, outbound clients and
//! configuration loading. It knows nothing of any particular API.
//!
//! Vendored into each service under `strata/` and never edited there: a fix is a
//! new strata release, taken with `make upgrade`.

pub mod admin;
#[cfg(test)]
mod alone;
mod app;
pub mod auth;
mod breaker;
pub mod client;
pub mod docs;
pub mod error;
mod health;
mod listener;
pub mod memory;
mod metrics;
pub mod middleware;
mod plain_strings;
mod random;
mod shutdown;
pub mod telemetry;
pub mod transcoding;
pub mod validate;

pub use app::{App, HookError};
pub use breaker::{Breaker, Down};
pub use error::Error;
pub use health::{Health, HealthBuilder, NotReady};
pub use listener::Listener;
pub use metrics::Metrics;
pub use shutdown::shutdown_signal;
/// Configuration: sources, loading into the service's schema, the framework's
/// sections (`strata::config::Server`, ...).
pub use strata_config as config;
pub use validate::Validated;
