use std::sync::Arc;
use std::time::SystemTime;

use crate::Result;

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

    /// Greets `name`: stores the greeting and counts it, both or neither. The
    /// name's length and non-blankness are rules of the proto, checked before a
    /// request gets here.
    pub async fn say_hello(&self, name: &str) -> Result<Greeter> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::testing::FakeGreeterRepo;

    fn usecase() -> (GreeterUsecase, FakeGreeterRepo) {
        let greetings = FakeGreeterRepo::default();
        (GreeterUsecase::new(greetings.clone()), greetings)
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
}
