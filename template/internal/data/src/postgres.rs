//! PostgreSQL.

use std::str::FromStr;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::Error;

pub(crate) type Pool = sqlx::PgPool;

pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

pub(crate) async fn connect(conf: &conf::Database) -> Result<Pool, Error> {
    let options = PgConnectOptions::from_str(&conf.url).map_err(Error::BadUrl)?;
    PgPoolOptions::new()
        .max_connections(conf.max_connections)
        .connect_with(options)
        .await
        .map_err(Error::Connect)
}

#[cfg(test)]
pub(crate) mod testing {
    use crate::Data;

    /// The test database: `DATABASE_URL`, or the local default.
    pub(crate) async fn data() -> (Data, ()) {
        let url = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let data = Data::connect(&conf::Database {
            url: url.clone(),
            max_connections: 2,
            migrate: true,
        })
        .await
        .unwrap_or_else(|err| panic!("{err}: is PostgreSQL running at {url}? Set DATABASE_URL."));
        (data, ())
    }
}
