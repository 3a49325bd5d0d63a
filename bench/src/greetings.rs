//! The sample's SayHello write, by hand: the statements of
//! template/internal/data/src/greeter.rs in the same transaction (BEGIN, insert the
//! greeting, upsert its count returning the new value, COMMIT), on the tables of
//! the template's own migrations, with the sample's connection settings and pool
//! size. What the bare server does per SayHello when it is given a database, so
//! the sample's SayHello rows compare like with like.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, PgPool, SqlitePool};
use time::OffsetDateTime;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../template/internal/data/migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator =
    sqlx::migrate!("../template/internal/data/migrations/postgres");

/// The sample's configs/config.yaml: `statement_timeout`, `acquire_timeout`,
/// `idle_timeout`, and `max_connections` per database.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
const SQLITE_CONNECTIONS: u32 = 1;
const POSTGRES_CONNECTIONS: u32 = 10;

/// The statements, as the sample's `QueryBuilder` writes them for each database.
const SQLITE_INSERT: &str = "INSERT INTO greetings (name, message, created_at) VALUES (?, ?, ?)";
const SQLITE_COUNT: &str = "INSERT INTO greeting_counts (name, greeted) VALUES (?, 1) \
     ON CONFLICT (name) DO UPDATE SET greeted = greeting_counts.greeted + 1 RETURNING greeted";
const POSTGRES_INSERT: &str =
    "INSERT INTO greetings (name, message, created_at) VALUES ($1, $2, $3)";
const POSTGRES_COUNT: &str = "INSERT INTO greeting_counts (name, greeted) VALUES ($1, 1) \
     ON CONFLICT (name) DO UPDATE SET greeted = greeting_counts.greeted + 1 RETURNING greeted";

/// Where greetings go: a pool on SQLite or PostgreSQL. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Greetings {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Greetings {
    /// Connects as the sample does and applies the template's migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(STATEMENT_TIMEOUT)
                .foreign_keys(true);
            let pool = pool_options(SQLITE_CONNECTIONS)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            SQLITE_MIGRATIONS.run(&pool).await?;
            Ok(Self::Sqlite(pool))
        } else {
            let timeout = format!("{}ms", STATEMENT_TIMEOUT.as_millis());
            let options =
                PgConnectOptions::from_str(url)?.options([("statement_timeout", timeout.as_str())]);
            let pool = pool_options(POSTGRES_CONNECTIONS)
                .connect_with(options)
                .await
                .with_context(|| format!("connecting to {url}"))?;
            POSTGRES_MIGRATIONS.run(&pool).await?;
            Ok(Self::Postgres(pool))
        }
    }

    /// Stores the greeting and counts it, in one transaction; returns the count.
    pub async fn save(&self, name: &str, message: &str) -> Result<i64, sqlx::Error> {
        let created_at = OffsetDateTime::now_utc();
        match self {
            Self::Sqlite(pool) => {
                let mut transaction = pool.begin().await?;
                sqlx::query(SQLITE_INSERT)
                    .bind(name)
                    .bind(message)
                    .bind(created_at)
                    .execute(&mut *transaction)
                    .await?;
                let greeted = sqlx::query_scalar(SQLITE_COUNT)
                    .bind(name)
                    .fetch_one(&mut *transaction)
                    .await?;
                transaction.commit().await?;
                Ok(greeted)
            }
            Self::Postgres(pool) => {
                let mut transaction = pool.begin().await?;
                sqlx::query(POSTGRES_INSERT)
                    .bind(name)
                    .bind(message)
                    .bind(created_at)
                    .execute(&mut *transaction)
                    .await?;
                let greeted = sqlx::query_scalar(POSTGRES_COUNT)
                    .bind(name)
                    .fetch_one(&mut *transaction)
                    .await?;
                transaction.commit().await?;
                Ok(greeted)
            }
        }
    }
}

/// The sample's pool settings (template/internal/data/src/lib.rs).
fn pool_options<DB: sqlx::Database>(max_connections: u32) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(IDLE_TIMEOUT)
}

/// Drops and recreates `schemas` in the database at `url`: each server under test
/// gets empty tables of its own. Fails when PostgreSQL is not reachable.
pub async fn prepare_postgres(url: &str, schemas: &[String]) -> anyhow::Result<()> {
    let options = PgConnectOptions::from_str(url)?;
    let mut connection = tokio::time::timeout(
        Duration::from_secs(5),
        sqlx::PgConnection::connect_with(&options),
    )
    .await
    .context("timed out")??;
    for schema in schemas {
        let quoted = format!("\"{}\"", schema.replace('"', "\"\""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {quoted} CASCADE; CREATE SCHEMA {quoted}"
        )))
        .execute(&mut connection)
        .await?;
    }
    connection.close().await?;
    Ok(())
}
