use std::error::Error as StdError;

/// What can go wrong in a use case. The service layer maps each variant to an API
/// error reason; nothing here knows about gRPC or HTTP.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent a name the use case refuses; the message says why.
    #[error("invalid name: {0}")]
    InvalidName(String),
    /// The repository failed. The source is for logs, never for clients.
    #[error("storage failed")]
    Storage(#[source] Box<dyn StdError + Send + Sync>),
}

impl Error {
    /// Wraps a repository failure.
    pub fn storage(source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self::Storage(source.into())
    }
}

/// The result of a use case.
pub type Result<T> = std::result::Result<T, Error>;
