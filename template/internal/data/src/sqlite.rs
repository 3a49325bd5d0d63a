//! SQLite: one file, created (with its directory) on first start.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::Error;

pub(crate) type Pool = sqlx::SqlitePool;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

pub(crate) async fn connect(conf: &conf::Database) -> Result<Pool, Error> {
    let options = SqliteConnectOptions::from_str(&conf.url)
        .map_err(Error::BadUrl)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    if let Some(dir) = options
        .get_filename()
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|reason| Error::CreateDir {
            path: dir.to_owned(),
            reason,
        })?;
    }
    SqlitePoolOptions::new()
        .max_connections(conf.max_connections)
        .connect_with(options)
        .await
        .map_err(Error::Connect)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::Data;

    /// A migrated database in a fresh directory, removed when the guard drops.
    pub(crate) async fn data() -> (Data, tempfile::TempDir) {
        let scratch = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/nested/test.db", scratch.path().display());
        let data = Data::connect(&conf::Database {
            url,
            max_connections: 2,
            migrate: true,
        })
        .await
        .expect("sqlite in a temp dir");
        (data, scratch)
    }
}
