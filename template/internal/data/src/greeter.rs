use biz::Greeter;
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::Data;
use crate::driver::Db;
use crate::error::to_biz;

/// Greetings in the `greetings` table.
#[derive(Debug, Clone)]
pub struct GreeterRepo {
    data: Data,
}

impl GreeterRepo {
    pub fn new(data: Data) -> Self {
        Self { data }
    }
}

#[async_trait::async_trait]
impl biz::GreeterRepo for GreeterRepo {
    async fn save(&self, greeter: Greeter) -> biz::Result<Greeter> {
        // QueryBuilder writes each database's own placeholders (`?` or `$1`).
        QueryBuilder::<Db>::new("INSERT INTO greetings (name, message, created_at) VALUES (")
            .push_bind(&greeter.name)
            .push(", ")
            .push_bind(&greeter.message)
            .push(", ")
            .push_bind(OffsetDateTime::from(greeter.created_at))
            .push(")")
            .build()
            .execute(&self.data.pool)
            .await
            .map_err(|err| to_biz(err, "greeting"))?;
        Ok(greeter)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use biz::GreeterRepo as _;

    use super::*;
    use crate::driver::testing;

    /// A value no other test run uses.
    fn unique() -> u128 {
        SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn saves_a_greeting() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        // Unique per run: a shared test database keeps rows from earlier runs.
        let name = format!("saves-{}", unique());

        let saved = repo
            .save(Greeter {
                name: name.clone(),
                message: format!("Hello {name}"),
                created_at: SystemTime::now(),
            })
            .await
            .expect("saved");

        assert_eq!(saved.message, format!("Hello {name}"));
        let stored: (String, OffsetDateTime) =
            QueryBuilder::<Db>::new("SELECT message, created_at FROM greetings WHERE name = ")
                .push_bind(&name)
                .build_query_as()
                .fetch_one(&data.pool)
                .await
                .expect("stored row");
        assert_eq!(stored.0, format!("Hello {name}"));
        let age = OffsetDateTime::now_utc() - stored.1;
        assert!(age.whole_seconds().abs() < 60, "created_at is {}", stored.1);
    }

    #[tokio::test]
    async fn migrating_twice_is_harmless() {
        let (data, _scratch) = testing::data().await;

        data.migrate().await.expect("second migration run");
    }

    #[tokio::test]
    async fn a_closed_pool_is_unavailable_not_a_storage_failure() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        data.pool.close().await;

        let err = repo
            .save(Greeter {
                name: "closed".into(),
                message: "Hello closed".into(),
                created_at: SystemTime::now(),
            })
            .await
            .expect_err("pool is closed");

        assert!(matches!(err, biz::Error::Unavailable(_)), "{err:?}");
    }
}
