//! The data layer: connections, migrations and the repositories that implement the
//! biz traits, and the clients of other services that implement the others. Every
//! SQL string of the service lives here.

mod error;
mod greeter;
mod greeter_upstream;
mod notes;
// strata:scaffold mod
// The driver this service was generated with: connection options and migrations.
mod {{database}};

use {{database}} as driver;

use std::time::Duration;

use sqlx::pool::PoolOptions;

pub use error::Error;
pub use greeter::GreeterRepo;
pub use greeter_upstream::GreeterUpstream;
pub use notes::NoteRepo;
// strata:scaffold use

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

/// The connection pool every repository shares, and whether the database is
/// known to be down. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Data {
    pool: driver::Pool,
    breaker: strata::Breaker,
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
        // The probe holds the pool, not `Data`: dropping the last `Data` stops it.
        let probed = pool.clone();
        let breaker = strata::Breaker::spawn(
            "database",
            conf.probe_interval,
            conf.acquire_timeout,
            move || ping(probed.clone()),
        );
        let data = Self { pool, breaker };
        if conf.migrate {
            data.migrate().await?;
        }
        Ok(data)
    }

    /// The pool, or at once `Unavailable` while the database is known to be down:
    /// a request then fails in microseconds instead of waiting `acquire_timeout`.
    pub(crate) fn pool(&self) -> biz::Result<&driver::Pool> {
        self.breaker
            .check()
            .map_err(|down| biz::Error::Unavailable(down.into()))?;
        Ok(&self.pool)
    }

    /// A query's failure as a biz error; one that says the database is unreachable
    /// also opens the breaker, so the requests behind this one fail fast.
    pub(crate) fn to_biz(&self, err: sqlx::Error, what: &str) -> biz::Error {
        // A full pool that timed out was busy, not cut off: shedding a burst is the
        // concurrency limit's job, and tripping here would turn overload into an
        // outage.
        let busy = matches!(err, sqlx::Error::PoolTimedOut) && saturated(&self.pool);
        let err = error::to_biz(err, what);
        if let biz::Error::Unavailable(cause) = &err
            && !busy
        {
            self.breaker.trip(cause);
        }
        err
    }

    /// Whether the database is known to be down, from its last probe: readiness
    /// answers from this at once.
    pub fn breaker(&self) -> &strata::Breaker {
        &self.breaker
    }

    /// Connections the pool holds now, busy or idle.
    pub fn pool_size(&self) -> u32 {
        self.pool.size()
    }

    /// Connections the pool holds that are idle.
    pub fn pool_idle(&self) -> usize {
        self.pool.num_idle()
    }

    /// Closes every connection once the ones in use come back; after this, the
    /// pool refuses to hand out more. The breaker stops first: a closed pool is
    /// not an outage, to log or to fail readiness with.
    pub async fn close(&self) {
        self.breaker.stop();
        self.pool.close().await;
    }

    /// Applies the migrations the binary was built with that the database lacks.
    pub async fn migrate(&self) -> Result<(), Error> {
        driver::migrate(&self.pool).await.map_err(Error::Migrate)?;
        tracing::info!("database migrations applied");
        Ok(())
    }
}

/// `sql`, written with `?` for each bound value, as the driver wants it: as
/// written on SQLite and MySQL, numbered `$1`, `$2`... on PostgreSQL. A `?` inside
/// quotes ('text', "name" or `name`) is left alone. Repositories build each fixed
/// statement once per process, in a `static LazyLock` (docs/data.md).
fn statement(sql: &str) -> String {
    let mut statement = String::with_capacity(sql.len());
    let mut bound = 0;
    let mut quote = None;
    for c in sql.chars() {
        match (quote, c) {
            (None, '?') => {
                bound += 1;
                statement.push_str(&driver::placeholder(bound));
                continue;
            }
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(open), c) if c == open => quote = None,
            _ => {}
        }
        statement.push(c);
    }
    statement
}

/// Every connection the pool may open is open and busy: the database is answering
/// someone.
fn saturated(pool: &driver::Pool) -> bool {
    pool.num_idle() == 0 && pool.size() >= pool.options().get_max_connections()
}

/// Checks that a connection can be had and answers: the breaker's probe. It does
/// not queue behind a saturated pool, where waiting out `acquire_timeout` would
/// read as an outage; requests on those connections trip the breaker themselves
/// if the database goes away.
async fn ping(pool: driver::Pool) -> Result<(), Error> {
    if saturated(&pool) {
        return Ok(());
    }
    sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .map(drop)
        .map_err(Error::Unreachable)
}

#[cfg(test)]
mod tests {
    use super::{driver, statement};

    #[test]
    fn a_statement_marks_each_bound_value_as_the_driver_does() {
        let expected = format!(
            "UPDATE notes SET title = {}, body = {} WHERE id = {}",
            driver::placeholder(1),
            driver::placeholder(2),
            driver::placeholder(3)
        );

        assert_eq!(
            statement("UPDATE notes SET title = ?, body = ? WHERE id = ?"),
            expected
        );
    }

    #[test]
    fn a_question_mark_in_quotes_is_not_a_bound_value() {
        let expected = format!(
            r#"SELECT 'why?', "a?" FROM `t?` WHERE name = {}"#,
            driver::placeholder(1)
        );

        assert_eq!(
            statement(r#"SELECT 'why?', "a?" FROM `t?` WHERE name = ?"#),
            expected
        );
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
            probe_interval: Duration::from_secs(1),
        }
    }
}
