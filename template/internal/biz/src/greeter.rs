use std::sync::Arc;
use std::time::SystemTime;

use crate::{Error, Result, Transactor};

/// The longest name a greeting accepts, in characters.
pub const MAX_NAME_LEN: usize = 64;

/// A greeting said to someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeter {
    /// Who was greeted.
    pub name: String,
    /// What they were told.
    pub message: String,
    /// When.
    pub created_at: SystemTime,
    /// How many times `name` has been greeted, this one included.
    pub times_greeted: u64,
}

/// The greeting use cases.
#[derive(Clone)]
pub struct GreeterUsecase {
    transactor: Arc<dyn Transactor>,
}

impl GreeterUsecase {
    /// A use case writing through `transactor`.
    pub fn new(transactor: impl Transactor + 'static) -> Self {
        Self {
            transactor: Arc::new(transactor),
        }
    }

    /// Greets `name`: stores the greeting and counts it, both or neither.
    pub async fn say_hello(&self, name: &str) -> Result<Greeter> {
        validate_name(name)?;
        let mut greeter = Greeter {
            name: name.to_owned(),
            message: format!("Hello {name}"),
            created_at: SystemTime::now(),
            times_greeted: 0,
        };
        let mut work = self.transactor.begin().await?;
        work.save_greeting(&greeter).await?;
        greeter.times_greeted = work.count_greeting(name).await?;
        work.commit().await?;
        Ok(greeter)
    }
}

impl std::fmt::Debug for GreeterUsecase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreeterUsecase").finish_non_exhaustive()
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::InvalidName("name must not be empty".into()));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(Error::InvalidName(format!(
            "name must be at most {MAX_NAME_LEN} characters, got {len}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeStore;

    #[tokio::test]
    async fn greets_stores_and_counts_the_greeting() {
        let store = FakeStore::default();
        let usecase = GreeterUsecase::new(store.clone());

        let first = usecase.say_hello("world").await.expect("greeting");
        let second = usecase.say_hello("world").await.expect("greeting");

        assert_eq!(first.message, "Hello world");
        assert_eq!((first.times_greeted, second.times_greeted), (1, 2));
        assert_eq!(store.greetings().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_count_stores_nothing() {
        let store = FakeStore::failing_with(|| Error::storage("counter table is locked"));
        let usecase = GreeterUsecase::new(store.clone());

        let err = usecase.say_hello("world").await.expect_err("count fails");

        assert!(matches!(err, Error::Storage(_)), "got {err:?}");
        assert!(store.greetings().is_empty(), "the greeting was rolled back");
    }

    #[tokio::test]
    async fn refuses_an_empty_name_without_storing() {
        let store = FakeStore::default();
        let usecase = GreeterUsecase::new(store.clone());

        let err = usecase.say_hello("  ").await.expect_err("empty name");

        assert_eq!(err.to_string(), "invalid name: name must not be empty");
        assert!(store.greetings().is_empty());
    }

    #[tokio::test]
    async fn accepts_64_characters_and_refuses_65() {
        let usecase = GreeterUsecase::new(FakeStore::default());

        assert!(usecase.say_hello(&"é".repeat(MAX_NAME_LEN)).await.is_ok());
        let err = usecase
            .say_hello(&"a".repeat(MAX_NAME_LEN + 1))
            .await
            .expect_err("too long");
        assert_eq!(
            err.to_string(),
            "invalid name: name must be at most 64 characters, got 65"
        );
    }
}
