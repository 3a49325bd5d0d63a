//! A database of its own for each test that runs a PostgreSQL or MySQL variant.
//!
//! The local servers' `test` database is shared by everyone on the machine: a
//! migration a developer applied by hand (a scaffolded resource, say) stays in its
//! `_sqlx_migrations`, and the next service started against it refuses to boot
//! ("previously applied but is missing"). So each test creates an empty database,
//! hands its URL to the service (and to the render's own `cargo test`), and drops
//! it when the test ends.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

use crate::Variant;

/// A database that lives as long as this value: a fresh one on the variant's
/// server, or a SQLite file under the test's scratch directory.
#[derive(Debug)]
pub struct TestDatabase {
    /// What the service's `data.database.url` (or `DATABASE_URL`) should be.
    pub url: String,
    /// The server's URL and the database's name, to drop it; `None` for SQLite.
    created: Option<(String, String)>,
}

impl TestDatabase {
    /// An empty database for `variant`. The server is `DATABASE_URL`'s, or the
    /// local default; SQLite needs no server and gets `scratch/data/e2e.db`.
    pub fn create(variant: Variant, scratch: &Path) -> Self {
        let server = match variant.database() {
            "postgres" => "postgres://postgres@127.0.0.1:5432/test",
            "mysql" => "mysql://root@127.0.0.1:3306/test",
            _ => {
                return Self {
                    url: format!("sqlite://{}/data/e2e.db", scratch.display()),
                    created: None,
                };
            }
        };
        let server = std::env::var("DATABASE_URL").unwrap_or_else(|_| server.to_owned());
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "strata_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let quote = if variant.database() == "postgres" {
            '"'
        } else {
            '`'
        };
        if let Err(err) = run(&server, format!("CREATE DATABASE {quote}{name}{quote}")) {
            panic!("cannot create the test's database: {err}");
        }
        Self {
            url: with_database(&server, &name),
            created: Some((server, name)),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, name)) = self.created.take() {
            // FORCE ends a connection the service left behind (PostgreSQL 13+).
            let sql = if server.starts_with("postgres") {
                format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
            } else {
                format!("DROP DATABASE IF EXISTS `{name}`")
            };
            // Never panic here: a drop during a failed test's unwinding would
            // abort the process and hide the test's own message.
            if let Err(err) = run(&server, sql) {
                eprintln!("cannot drop the test's database {name}: {err}");
            }
        }
    }
}

/// Runs one statement on `server` from a thread of its own, so it works both
/// inside a test's tokio runtime and outside any.
fn run(server: &str, sql: String) -> Result<(), String> {
    let server = server.to_owned();
    let outcome = std::thread::spawn(move || {
        sqlx::any::install_default_drivers();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| err.to_string())?
            .block_on(async {
                let mut connection = AnyConnection::connect(&server).await?;
                connection.execute(AssertSqlSafe(sql.as_str())).await?;
                connection.close().await
            })
            .map_err(|err| format!("`{sql}` on {server}: {err}"))
    })
    .join();
    outcome.unwrap_or_else(|_| Err("the database thread panicked".to_owned()))
}

/// `server` with its path (the database name) replaced by `name`, keeping the
/// query string.
fn with_database(server: &str, name: &str) -> String {
    let authority = server.find("://").map_or(0, |at| at + 3);
    let path = server[authority..]
        .find('/')
        .map_or(server.len(), |at| authority + at);
    let query = server[path..]
        .find('?')
        .map_or("", |at| &server[path + at..]);
    format!("{}/{name}{query}", &server[..path])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("mysql://root@localhost:3306/test?ssl-mode=disabled", "x"),
            "mysql://root@localhost:3306/x?ssl-mode=disabled"
        );
        assert_eq!(
            with_database("postgres://u@db:5432", "x"),
            "postgres://u@db:5432/x"
        );
    }
}
