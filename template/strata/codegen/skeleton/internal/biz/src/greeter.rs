use std::sync::Arc;
use std::time::SystemTime;

use crate::{Error, Result};

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

/// Where greetings are kept. The data layer implements it.
#[async_trait::async_trait]
pub trait GreeterRepo: Send + Sync {
    /// Stores `greeter` and counts one more greeting for its name, both or neither:
    /// when it fails, nothing was stored. Returns how many times the name has been
    /// greeted, this one included (`greeter.times_greeted` is not read).
    async fn save(&self, greeter: &Greeter) -> Result<u64>;
}

/// The greeting use cases.
#[derive(Clone)]
pub struct GreeterUsecase {
    repo: Arc<dyn GreeterRepo>,
}

impl GreeterUsecase {
    /// A use case keeping greetings in `repo`.
    pub fn new(repo: impl GreeterRepo + 'static) -> Self {
        Self {
            repo: Arc::new(repo),
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
        greeter.times_greeted = self.repo.save(&greeter).await?;
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
        return Err(Error::invalid_argument("name", "name must not be empty"));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(Error::invalid_argument(
            "name",
            format!("name must be at most {MAX_NAME_LEN} characters, got {len}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeGreeterRepo;

    fn usecase() -> (GreeterUsecase, FakeGreeterRepo) {
        let greetings = FakeGreeterRepo::default();
        (GreeterUsecase::new(greetings.clone()), greetings)
    }

    fn invalid_field(err: &Error) -> &str {
        match err {
            Error::InvalidArgument { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn greets_stores_and_counts_the_greeting() {
        let (usecase, store) = usecase();

        let first = usecase.say_hello("world").await.expect("greeting");
        let second = usecase.say_hello("world").await.expect("greeting");

        assert_eq!(first.message, "Hello world");
        assert_eq!((first.times_greeted, second.times_greeted), (1, 2));
        assert_eq!(store.greetings().len(), 2);
    }

    #[tokio::test]
    async fn a_failed_save_stores_nothing_and_reaches_the_caller() {
        let store = FakeGreeterRepo::failing_with(|| Error::storage("counter table is locked"));
        let usecase = GreeterUsecase::new(store.clone());

        let err = usecase.say_hello("world").await.expect_err("save fails");

        assert!(matches!(err, Error::Storage(_)), "got {err:?}");
        assert!(store.greetings().is_empty(), "neither greeting nor count");
    }

    #[tokio::test]
    async fn refuses_an_empty_name_without_storing() {
        let (usecase, store) = usecase();

        let err = usecase.say_hello("  ").await.expect_err("empty name");

        assert_eq!(invalid_field(&err), "name");
        assert_eq!(err.to_string(), "name must not be empty");
        assert!(store.greetings().is_empty());
    }

    #[tokio::test]
    async fn accepts_64_characters_and_refuses_65() {
        let (usecase, _) = usecase();

        assert!(usecase.say_hello(&"é".repeat(MAX_NAME_LEN)).await.is_ok());
        let err = usecase
            .say_hello(&"a".repeat(MAX_NAME_LEN + 1))
            .await
            .expect_err("too long");
        assert_eq!(invalid_field(&err), "name");
        assert_eq!(
            err.to_string(),
            "name must be at most 64 characters, got 65"
        );
    }
}
