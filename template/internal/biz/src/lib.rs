//! The business layer: what the service does, in its own words.
//!
//! biz depends on no framework crate. It declares what it needs from storage as one
//! repository trait per aggregate (`GreeterRepo`, `NoteRepo`), the data layer
//! implements them, and service calls the use cases (`GreeterUsecase`, `NoteUsecase`,
//! `WelcomeUsecase`). What it needs from another service is a trait too
//! (`GreetingSource`), which data implements over a client. `make scaffold` adds a
//! resource's module at the `strata:scaffold` markers.

mod caller;
mod error;
mod greeter;
mod notes;
mod paging;
mod welcome;
// strata:scaffold mod
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use caller::Caller;
pub use error::{Cause, Error, Result};
pub use greeter::{Greeter, GreeterRepo, GreeterUsecase};
pub use notes::{NOTES_ADMIN_SCOPE, Note, NoteChanges, NotePage, NoteRepo, NoteUsecase};
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use welcome::{GreetingSource, WelcomeUsecase};
// strata:scaffold use
