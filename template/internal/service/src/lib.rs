//! The service layer: each api service implemented by converting the request, calling
//! a biz use case and converting the reply. No SQL and no HTTP here.
//! `make scaffold` and `make proto-server` register new services at the
//! `strata:scaffold` markers.

mod caller;
mod dependency_errors;
mod greeter;
mod notes;
mod notes_csv;
// strata:scaffold mod

pub use caller::caller;
pub use greeter::GreeterService;
pub use notes::NotesService;
// strata:scaffold use

/// Every service of this binary, built once in `cmd` and mounted by `server` on
/// both transports.
#[derive(Debug, Clone)]
pub struct Services {
    /// `helloworld.v1.Greeter`.
    pub greeter: GreeterService,
    /// `notes.v1.Notes`.
    pub notes: NotesService,
    // strata:scaffold field
}
