use biz::{Greeter, UnitOfWork};
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::Data;
use crate::driver::{Db, INCREMENT_ON_CONFLICT};
use crate::error::to_biz;

/// Greetings (`greetings`) and how often each name was greeted
/// (`greeting_counts`), written in one database transaction per unit of work.
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
impl biz::Transactor for GreeterRepo {
    async fn begin(&self) -> biz::Result<Box<dyn UnitOfWork>> {
        let transaction = self
            .data
            .pool
            .begin()
            .await
            .map_err(|err| to_biz(err, "transaction"))?;
        Ok(Box::new(GreeterWork { transaction }))
    }
}

/// One transaction. sqlx rolls it back when dropped without a commit.
struct GreeterWork {
    transaction: sqlx::Transaction<'static, Db>,
}

#[async_trait::async_trait]
impl UnitOfWork for GreeterWork {
    async fn save_greeting(&mut self, greeter: &Greeter) -> biz::Result<()> {
        // QueryBuilder writes each database's own placeholders (`?` or `$1`).
        QueryBuilder::<Db>::new("INSERT INTO greetings (name, message, created_at) VALUES (")
            .push_bind(&greeter.name)
            .push(", ")
            .push_bind(&greeter.message)
            .push(", ")
            .push_bind(OffsetDateTime::from(greeter.created_at))
            .push(")")
            .build()
            .execute(&mut *self.transaction)
            .await
            .map_err(|err| to_biz(err, "greeting"))?;
        Ok(())
    }

    async fn count_greeting(&mut self, name: &str) -> biz::Result<u64> {
        QueryBuilder::<Db>::new("INSERT INTO greeting_counts (name, greeted) VALUES (")
            .push_bind(name)
            .push(", 1) ")
            .push(INCREMENT_ON_CONFLICT)
            .build()
            .execute(&mut *self.transaction)
            .await
            .map_err(|err| to_biz(err, "greeting count"))?;
        let greeted: i64 =
            QueryBuilder::<Db>::new("SELECT greeted FROM greeting_counts WHERE name = ")
                .push_bind(name)
                .build_query_scalar()
                .fetch_one(&mut *self.transaction)
                .await
                .map_err(|err| to_biz(err, "greeting count"))?;
        Ok(u64::try_from(greeted).unwrap_or_default())
    }

    async fn commit(self: Box<Self>) -> biz::Result<()> {
        self.transaction
            .commit()
            .await
            .map_err(|err| to_biz(err, "transaction"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use biz::Transactor as _;

    use super::*;
    use crate::driver::testing;

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
        let greeting =
            QueryBuilder::<Db>::new("SELECT message, created_at FROM greetings WHERE name = ")
                .push_bind(name)
                .build_query_as()
                .fetch_optional(&data.pool)
                .await
                .expect("greetings readable");
        let count = QueryBuilder::<Db>::new("SELECT greeted FROM greeting_counts WHERE name = ")
            .push_bind(name)
            .build_query_scalar()
            .fetch_optional(&data.pool)
            .await
            .expect("counts readable");
        (greeting, count)
    }

    #[tokio::test]
    async fn a_committed_unit_stores_the_greeting_and_its_count() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        let name = unique("commit");

        let mut work = repo.begin().await.expect("begin");
        work.save_greeting(&greeting(&name)).await.expect("saved");
        assert_eq!(work.count_greeting(&name).await.expect("counted"), 1);
        work.commit().await.expect("committed");
        let mut again = repo.begin().await.expect("begin");
        assert_eq!(again.count_greeting(&name).await.expect("counted"), 2);
        again.commit().await.expect("committed");

        let (greeting, count) = stored(&data, &name).await;
        let (message, created_at) = greeting.expect("greeting stored");
        assert_eq!(message, format!("Hello {name}"));
        let age = OffsetDateTime::now_utc() - created_at;
        assert!(age.whole_seconds().abs() < 60, "created_at is {created_at}");
        assert_eq!(count, Some(2));
    }

    #[tokio::test]
    async fn an_uncommitted_unit_leaves_nothing_behind() {
        let (data, _scratch) = testing::data().await;
        let repo = GreeterRepo::new(data.clone());
        let name = unique("rollback");

        let mut work = repo.begin().await.expect("begin");
        work.save_greeting(&greeting(&name)).await.expect("saved");
        work.count_greeting(&name).await.expect("counted");
        drop(work);

        assert_eq!(stored(&data, &name).await, (None, None));
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

        let err = repo.begin().await.err().expect("pool is closed");

        assert!(matches!(err, biz::Error::Unavailable(_)), "{err:?}");
    }
}
