/// Why the data layer could not start. Each message carries its cause, so one line
/// tells the operator what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("data.database.url is not a valid URL for this database: {0}")]
    BadUrl(sqlx::Error),
    #[error("cannot create the database directory {path}: {reason}")]
    CreateDir {
        path: std::path::PathBuf,
        reason: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("the database does not answer: {0}")]
    Unreachable(sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}
