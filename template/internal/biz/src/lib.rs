//! The business layer: what the service does, in its own words.
//!
//! biz depends on no framework crate. It declares the repository traits it needs
//! (`GreeterRepo`) and the data layer implements them; service calls the use cases.

mod error;
mod greeter;

pub use error::{Cause, Error, Result};
pub use greeter::{Greeter, GreeterRepo, GreeterUsecase, MAX_NAME_LEN};
