use std::error::Error as StdError;

/// A cause kept for the logs, never sent to clients.
pub type Cause = Box<dyn StdError + Send + Sync>;

/// What can go wrong in a use case. The service layer maps each variant to an API
/// error reason; nothing here knows about gRPC, HTTP or SQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent a value the use case refuses: `field` names the request field,
    /// `message` says why.
    #[error("{message}")]
    InvalidArgument { field: String, message: String },
    /// What the caller asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// What the caller wanted to create exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The caller may not do this to what it names; the message says why.
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (the database) cannot be reached now; retrying later may work.
    #[error("unavailable")]
    Unavailable(#[source] Cause),
    /// Storage failed in a way the caller cannot fix.
    #[error("storage failed")]
    Storage(#[source] Cause),
}

impl Error {
    /// Refuses the value of the request field `field`.
    pub fn invalid_argument(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The same error, with an invalid field named by its path in the request:
    /// `title` refused in the `book` of an UpdateBookRequest is `book.title`, as
    /// HTTP decoding names it.
    pub fn within(self, parent: &str) -> Self {
        match self {
            Self::InvalidArgument { field, message } => Self::InvalidArgument {
                field: format!("{parent}.{field}"),
                message,
            },
            other => other,
        }
    }

    /// Wraps a repository failure.
    pub fn storage(source: impl Into<Cause>) -> Self {
        Self::Storage(source.into())
    }
}

/// The result of a use case.
pub type Result<T> = std::result::Result<T, Error>;
