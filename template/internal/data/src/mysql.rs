//! MySQL and MariaDB.

use std::str::FromStr;

use sqlx::migrate::{MigrateError, Migrator};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::pool::PoolOptions;
use sqlx::{AssertSqlSafe, Executor};

use crate::{DriverError, Error};

pub(crate) type Db = sqlx::MySql;
pub(crate) type Pool = sqlx::MySqlPool;

/// How an insert that hits an existing row's key adds one instead.
pub(crate) const INCREMENT_ON_CONFLICT: &str = "ON DUPLICATE KEY UPDATE greeted = greeted + 1";

/// How a statement marks its `number`th bound value (from 1).
pub(crate) fn placeholder(_number: usize) -> String {
    "?".to_owned()
}

/// Whether an insert can hand back the row it wrote: MySQL has no `RETURNING`,
/// so the count is read with a SELECT in the same transaction.
pub(crate) const RETURNING: bool = false;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/mysql");

/// Applies the migrations under a named lock of our own: replicas starting together
/// must not run them twice (sqlx's own lock does not hold on MariaDB, and a race
/// leaves a migration marked partially applied).
pub(crate) async fn migrate(pool: &Pool) -> Result<(), MigrateError> {
    let mut lock_holder = pool.acquire().await?;
    let locked: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('strata_migrations', 300)")
        .fetch_one(&mut *lock_holder)
        .await?;
    if locked != Some(1) {
        return Err(MigrateError::Execute(sqlx::Error::Protocol(
            "could not take the migrations lock within 300 s".into(),
        )));
    }
    let migrated = MIGRATOR.run(pool).await;
    sqlx::query("DO RELEASE_LOCK('strata_migrations')")
        .execute(&mut *lock_holder)
        .await?;
    migrated
}

pub(crate) async fn connect(
    conf: &conf::Database,
    pool: PoolOptions<Db>,
) -> Result<Pool, DriverError> {
    let options = MySqlConnectOptions::from_str(&conf.url)
        .map_err(|err| DriverError::Fatal(Error::BadUrl(err)))?;
    let timeout = conf.statement_timeout;
    pool.after_connect(move |connection, _| {
        Box::pin(async move {
            // MariaDB and MySQL name the statement timeout differently.
            let version: String = sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut *connection)
                .await?;
            let limit = if version.contains("MariaDB") {
                format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64())
            } else {
                format!("SET SESSION max_execution_time = {}", timeout.as_millis())
            };
            // Built from a Duration, never from input: safe to send as is.
            connection.execute(AssertSqlSafe(limit)).await.map(drop)
        })
    })
    .connect_with(options)
    .await
    .map_err(DriverError::Retry)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::Data;

    /// The test database: `DATABASE_URL`, or the local default.
    pub(crate) async fn data() -> (Data, ()) {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned());
        let data = Data::connect(&crate::testing::database(url.clone()))
            .await
            .unwrap_or_else(|err| {
                panic!("{err}: is MySQL/MariaDB running at {url}? Set DATABASE_URL.")
            });
        (data, ())
    }
}
