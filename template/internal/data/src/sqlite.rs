//! SQLite: one file, created (with its directory) on first start.

use std::str::FromStr;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::pool::PoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::{DriverError, Error};

pub(crate) type Db = sqlx::Sqlite;
pub(crate) type Pool = sqlx::SqlitePool;

/// How an insert that hits an existing row's key adds one instead.
pub(crate) const INCREMENT_ON_CONFLICT: &str =
    "ON CONFLICT (name) DO UPDATE SET greeted = greeting_counts.greeted + 1";

/// How a statement marks its `number`th bound value (from 1).
pub(crate) fn placeholder(_number: usize) -> String {
    "?".to_owned()
}

/// Whether an insert can hand back the row it wrote (`RETURNING`).
pub(crate) const RETURNING: bool = true;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

/// Applies the migrations the binary carries that the database lacks.
pub(crate) async fn migrate(pool: &Pool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

pub(crate) async fn connect(
    conf: &conf::Database,
    pool: PoolOptions<Db>,
) -> Result<Pool, DriverError> {
    let options = SqliteConnectOptions::from_str(&conf.url)
        .map_err(|err| DriverError::Fatal(Error::BadUrl(err)))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // WAL's recommended setting: a commit no longer waits for an fsync (2.4x
        // the SayHello throughput in make bench). The database cannot corrupt; a
        // power cut may lose the last commits, a process crash loses none.
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(conf.statement_timeout)
        .foreign_keys(true);
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|reason| {
            DriverError::Fatal(Error::CreateDir {
                path: dir.to_owned(),
                reason,
            })
        })?;
    }
    // No ping before each acquire (sqlx's `test_before_acquire`): an embedded
    // database cannot hang up, so the ping was a trip to the connection's worker
    // thread and back on every request for nothing (docs/bench.md).
    pool.test_before_acquire(false)
        .connect_with(options)
        .await
        .map_err(DriverError::Retry)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::Data;

    /// A migrated database in a fresh directory, removed when the guard drops.
    pub(crate) async fn data() -> (Data, tempfile::TempDir) {
        let scratch = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/nested/test.db", scratch.path().display());
        let data = Data::connect(&crate::testing::database(url))
            .await
            .expect("sqlite in a temp dir");
        (data, scratch)
    }
}
