//! The data layer: connections, migrations and the repositories that implement the
//! biz traits. Every SQL string of the service lives here.

mod error;
mod greeter;
// The driver this service was generated with: connection options and migrations.
mod {{database}};

use {{database}} as driver;

pub use error::Error;
pub use greeter::GreeterRepo;

/// The connection pool every repository shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Data {
    pool: driver::Pool,
}

impl Data {
    /// Connects to the configured database and, when `migrate` is set, applies the
    /// embedded migrations.
    pub async fn connect(conf: &conf::Database) -> Result<Self, Error> {
        let pool = driver::connect(conf).await?;
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
        driver::MIGRATOR
            .run(&self.pool)
            .await
            .map_err(Error::Migrate)?;
        tracing::info!("database migrations applied");
        Ok(())
    }
}
