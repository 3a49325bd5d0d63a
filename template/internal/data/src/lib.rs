//! The data layer: connections, migrations and the repositories that implement the
//! biz traits. Every SQL string of the service lives here.

mod error;
mod greeter;
mod notes;
// The driver this service was generated with: connection options and migrations.
mod {{database}};

use {{database}} as driver;

use std::time::Duration;

use sqlx::pool::PoolOptions;

pub use error::Error;
pub use greeter::GreeterRepo;
pub use notes::NoteRepo;

/// A failed connection attempt: worth retrying (the server is not up yet) or not
/// (the URL is wrong).
enum DriverError {
    Retry(sqlx::Error),
    Fatal(Error),
}

/// The pool settings every driver shares.
fn pool_options<DB: sqlx::Database>(conf: &conf::Database) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(conf.max_connections)
        .min_connections(conf.min_connections)
        .acquire_timeout(conf.acquire_timeout)
        .idle_timeout(conf.idle_timeout)
}

/// The connection pool every repository shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Data {
    pool: driver::Pool,
}

impl Data {
    /// Connects to the configured database, retrying with backoff up to
    /// `connect_attempts` times (the database may start after the service), and,
    /// when `migrate` is set, applies the embedded migrations.
    pub async fn connect(conf: &conf::Database) -> Result<Self, Error> {
        let mut backoff = Duration::from_millis(200);
        let mut attempt = 1;
        let pool = loop {
            match driver::connect(conf, pool_options(conf)).await {
                Ok(pool) => break pool,
                Err(DriverError::Fatal(err)) => return Err(err),
                Err(DriverError::Retry(last)) if attempt >= conf.connect_attempts => {
                    return Err(Error::Connect {
                        attempts: attempt,
                        last,
                    });
                }
                Err(DriverError::Retry(err)) => {
                    tracing::warn!(attempt, %err, retry_in = ?backoff, "database not reachable yet");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    attempt += 1;
                }
            }
        };
        let data = Self { pool };
        if conf.migrate {
            data.migrate().await?;
        }
        Ok(data)
    }

    /// Checks that a connection can be had and answers, for the readiness probe. The
    /// future owns a pool handle, so it can outlive `self`.
    pub fn ping(&self) -> impl Future<Output = Result<(), Error>> + Send + use<> {
        let pool = self.pool.clone();
        async move {
            sqlx::query("SELECT 1")
                .execute(&pool)
                .await
                .map(drop)
                .map_err(Error::Unreachable)
        }
    }

    /// Connections the pool holds now, busy or idle.
    pub fn pool_size(&self) -> u32 {
        self.pool.size()
    }

    /// Connections the pool holds that are idle.
    pub fn pool_idle(&self) -> usize {
        self.pool.num_idle()
    }

    /// Applies the migrations the binary was built with that the database lacks.
    pub async fn migrate(&self) -> Result<(), Error> {
        driver::migrate(&self.pool).await.map_err(Error::Migrate)?;
        tracing::info!("database migrations applied");
        Ok(())
    }
}

#[cfg(test)]
mod testing {
    use std::time::Duration;

    /// Test settings for the database at `url`.
    pub(crate) fn database(url: String) -> conf::Database {
        conf::Database {
            url,
            max_connections: 2,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_secs(60),
            statement_timeout: Duration::from_secs(5),
            connect_attempts: 1,
            migrate: true,
        }
    }
}
