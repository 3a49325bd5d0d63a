//! What Kratos the library gives a Kratos service: the app lifecycle, the two
//! transports, telemetry setup and the error rendering both transports share.
//! It knows nothing of any particular API.

pub mod admin;
mod app;
pub mod client;
pub mod error;
mod health;
mod metrics;
pub mod middleware;
mod server;
mod shutdown;
pub mod telemetry;
pub mod transcoding;

pub use app::{App, HookError};
pub use error::Error;
pub use health::{Health, HealthBuilder, NotReady};
pub use metrics::Metrics;
pub use server::Server;
pub use shutdown::shutdown_signal;
