//! PostgreSQL.

use std::str::FromStr;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;

use crate::{DriverError, Error};

pub(crate) type Db = sqlx::Postgres;
pub(crate) type Pool = sqlx::PgPool;

/// How an insert that hits an existing row's key adds one instead.
pub(crate) const INCREMENT_ON_CONFLICT: &str =
    "ON CONFLICT (name) DO UPDATE SET greeted = greeting_counts.greeted + 1";

/// How a statement marks its `number`th bound value (from 1).
pub(crate) fn placeholder(number: usize) -> String {
    format!("${number}")
}

/// Whether an insert can hand back the row it wrote (`RETURNING`).
pub(crate) const RETURNING: bool = true;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Applies the migrations the binary carries that the database lacks.
pub(crate) async fn migrate(pool: &Pool) -> Result<(), MigrateError> {
    MIGRATOR.run(pool).await
}

pub(crate) async fn connect(
    conf: &conf::Database,
    pool: PoolOptions<Db>,
) -> Result<Pool, DriverError> {
    let statement_timeout = format!("{}ms", conf.statement_timeout.as_millis());
    let options = PgConnectOptions::from_str(&conf.url)
        .map_err(|err| DriverError::Fatal(Error::BadUrl(err)))?
        .options([("statement_timeout", statement_timeout.as_str())]);
    pool.connect_with(options).await.map_err(DriverError::Retry)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::Data;

    /// The test database: `DATABASE_URL`, or the local default.
    pub(crate) async fn data() -> (Data, ()) {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let data = Data::connect(&crate::testing::database(url.clone()))
            .await
            .unwrap_or_else(|err| {
                panic!("{err}: is PostgreSQL running at {url}? Set DATABASE_URL.")
            });
        (data, ())
    }
}
