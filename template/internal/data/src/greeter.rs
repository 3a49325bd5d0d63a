use std::sync::LazyLock;

use biz::Greeter;
use time::OffsetDateTime;

use crate::driver::{INCREMENT_ON_CONFLICT, RETURNING};
use crate::{Data, statement};

/// A greeting: name, message, time.
static INSERT_GREETING: LazyLock<String> = LazyLock::new(|| {
    statement("INSERT INTO greetings (name, message, created_at) VALUES (?, ?, ?)")
});

/// One more greeting of a name, handing the new count back where the database
/// can (`RETURNING`).
static COUNT_GREETING: LazyLock<String> = LazyLock::new(|| {
    let returning = if RETURNING { " RETURNING greeted" } else { "" };
    statement(&format!(
        "INSERT INTO greeting_counts (name, greeted) VALUES (?, 1) {INCREMENT_ON_CONFLICT}{returning}"
    ))
});

/// How often a name was greeted.
static GREETED: LazyLock<String> =
    LazyLock::new(|| statement("SELECT greeted FROM greeting_counts WHERE name = ?"));

/// Greetings (`greetings`) and how often each name was greeted
/// (`greeting_counts`), both written in one database transaction per save.
#[derive(Debug, Clone)]
pub struct GreeterRepo {
    data: Data,
}

impl GreeterRepo {
    /// Greetings kept in the database of `data`.
    pub fn new(data: Data) -> Self {
        Self { data }
    }
}

#[async_trait::async_trait]
impl biz::GreeterRepo for GreeterRepo {
    async fn save(&self, greeter: &Greeter) -> biz::Result<u64> {
        // Dropped without a commit (any `?` below), sqlx rolls the transaction back:
        // the greeting and its count are stored both or neither.
        let mut transaction = self
            .data
            .pool()?
            .begin()
            .await
            .map_err(|err| self.data.to_biz(err, "transaction"))?;
        sqlx::query(INSERT_GREETING.as_str())
            .bind(&greeter.name)
            .bind(&greeter.message)
            .bind(OffsetDateTime::from(greeter.created_at))
            .execute(&mut *transaction)
            .await
            .map_err(|err| self.data.to_biz(err, "greeting"))?;
        let greeted: i64 = if RETURNING {
            // The new count comes back with the upsert: one round trip, not two.
            sqlx::query_scalar(COUNT_GREETING.as_str())
                .bind(&greeter.name)
                .fetch_one(&mut *transaction)
                .await
                .map_err(|err| self.data.to_biz(err, "greeting count"))?
        } else {
            sqlx::query(COUNT_GREETING.as_str())
                .bind(&greeter.name)
                .execute(&mut *transaction)
                .await
                .map_err(|err| self.data.to_biz(err, "greeting count"))?;
            sqlx::query_scalar(GREETED.as_str())
                .bind(&greeter.name)
                .fetch_one(&mut *transaction)
                .await
                .map_err(|err| self.data.to_biz(err, "greeting count"))?
        };
        transaction
            .commit()
            .await
            .map_err(|err| self.data.to_biz(err, "transaction"))?;
        Ok(u64::try_from(greeted).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use biz::GreeterRepo as _;

    use super::*;
    use crate::driver::testing;

    /// The greeting stored for a name.
    static STORED_GREETING: LazyLock<String> =
        LazyLock::new(|| statement("SELECT message, created_at FROM greetings WHERE name = ?"));

    /// A count stored as it is, for a test to start from.
    static SEED_COUNT: LazyLock<String> =
        LazyLock::new(|| statement("INSERT INTO greeting_counts (name, greeted) VALUES (?, ?)"));

    /// A name no other test run uses: a shared test database keeps old rows.
    fn unique(prefix: &str) -> String {
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        format!("{prefix}-{nanos}")
    }

    fn greeting(name: &str) -> Greeter {
        Greeter {
            name: name.to_owned(),
            message: format!("Hello {name}"),
            created_at: SystemTime::now(),
            times_greeted: 0,
        }
    }

    async fn stored(data: &Data, name: &str) -> (Option<(String, OffsetDateTime)>, Option<i64>) {
        let greeting = sqlx::query_as(STORED_GREETING.as_str())
            .bind(name)
            .fetch_optional(&data.pool)
            .await
            .expect("greetings readable");
        let count = sqlx::query_scalar(GREETED.as_str())
            .bind(name)
            .fetch_optional(&data.pool)
            .await
            .expect("counts readable");
        (greeting, count)
    }

    #[tokio::test]
    async fn a_save_stores_the_greeting_and_counts_it() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        let name = unique("save");

        assert_eq!(repo.save(&greeting(&name)).await.expect("saved"), 1);
        assert_eq!(repo.save(&greeting(&name)).await.expect("saved"), 2);

        let (greeting, count) = stored(&data, &name).await;
        let (message, created_at) = greeting.expect("greeting stored");
        assert_eq!(message, format!("Hello {name}"));
        let age = OffsetDateTime::now_utc() - created_at;
        assert!(age.whole_seconds().abs() < 60, "created_at is {created_at}");
        assert_eq!(count, Some(2));
    }

    #[tokio::test]
    async fn a_count_that_fails_takes_the_greeting_back() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        let name = unique("rollback");
        // A count that cannot go up one more: the second write of the save fails
        // after the first succeeded.
        sqlx::query(SEED_COUNT.as_str())
            .bind(&name)
            .bind(i64::MAX)
            .execute(&data.pool)
            .await
            .expect("count seeded");

        let err = repo
            .save(&greeting(&name))
            .await
            .expect_err("count overflows");

        assert!(matches!(err, biz::Error::Storage(_)), "{err:?}");
        assert_eq!(stored(&data, &name).await, (None, Some(i64::MAX)));
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
            .save(&greeting(&unique("closed")))
            .await
            .expect_err("pool is closed");

        assert!(matches!(err, biz::Error::Unavailable(_)), "{err:?}");
    }
}
