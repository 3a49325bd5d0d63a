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
    #[error("cannot connect to the database after {attempts} attempts: {last}")]
    Connect { attempts: u32, last: sqlx::Error },
    #[error("the database does not answer: {0}")]
    Unreachable(sqlx::Error),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
}

/// A query's failure as a biz error: what the caller can act on (not found, a
/// duplicate, the database being down) is told apart from everything else. The
/// driver's message stays in the cause, for logs only.
pub(crate) fn to_biz(err: sqlx::Error, what: &str) -> biz::Error {
    match &err {
        sqlx::Error::RowNotFound => biz::Error::NotFound(what.to_owned()),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            biz::Error::AlreadyExists(what.to_owned())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => biz::Error::Unavailable(err.into()),
        _ => biz::Error::Storage(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_driver_errors_by_what_the_caller_can_do() {
        assert!(matches!(
            to_biz(sqlx::Error::RowNotFound, "greeting world"),
            biz::Error::NotFound(what) if what == "greeting world"
        ));
        assert!(matches!(
            to_biz(sqlx::Error::PoolTimedOut, "greeting"),
            biz::Error::Unavailable(_)
        ));
        assert!(matches!(
            to_biz(sqlx::Error::Protocol("garbled".into()), "greeting"),
            biz::Error::Storage(_)
        ));
    }
}
