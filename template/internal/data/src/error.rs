/// Why the data layer could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("data.database.url is not a valid URL for this database: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}
