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
}

/// Where greetings are kept. Implemented by the data layer.
#[async_trait::async_trait]
pub trait GreeterRepo: Send + Sync {
    /// Stores a greeting and returns it as stored.
    async fn save(&self, greeter: Greeter) -> Result<Greeter>;
}

/// The greeting use cases.
#[derive(Clone)]
pub struct GreeterUsecase {
    repo: Arc<dyn GreeterRepo>,
}

impl GreeterUsecase {
    /// A use case over the given repository.
    pub fn new(repo: impl GreeterRepo + 'static) -> Self {
        Self {
            repo: Arc::new(repo),
        }
    }

    /// Greets `name` and records the greeting.
    pub async fn say_hello(&self, name: &str) -> Result<Greeter> {
        validate_name(name)?;
        let greeter = Greeter {
            name: name.to_owned(),
            message: format!("Hello {name}"),
            created_at: SystemTime::now(),
        };
        self.repo.save(greeter).await
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
    use std::sync::Mutex;

    use super::*;

    /// An in-memory repository that remembers what it saved.
    #[derive(Default, Clone)]
    struct FakeRepo {
        saved: Arc<Mutex<Vec<Greeter>>>,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl GreeterRepo for FakeRepo {
        async fn save(&self, greeter: Greeter) -> Result<Greeter> {
            if self.fail {
                return Err(Error::storage("disk on fire"));
            }
            self.saved.lock().expect("lock").push(greeter.clone());
            Ok(greeter)
        }
    }

    #[tokio::test]
    async fn greets_and_stores_the_greeting() {
        let repo = FakeRepo::default();
        let usecase = GreeterUsecase::new(repo.clone());

        let greeter = usecase.say_hello("world").await.expect("greeting");

        assert_eq!(greeter.message, "Hello world");
        let saved = repo.saved.lock().expect("lock");
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].name, "world");
    }

    #[tokio::test]
    async fn refuses_an_empty_name_without_storing() {
        let repo = FakeRepo::default();
        let usecase = GreeterUsecase::new(repo.clone());

        let err = usecase.say_hello("  ").await.expect_err("empty name");

        assert_eq!(err.to_string(), "invalid name: name must not be empty");
        assert!(repo.saved.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn accepts_64_characters_and_refuses_65() {
        let usecase = GreeterUsecase::new(FakeRepo::default());

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

    #[tokio::test]
    async fn passes_storage_failures_on() {
        let usecase = GreeterUsecase::new(FakeRepo {
            fail: true,
            ..FakeRepo::default()
        });

        let err = usecase.say_hello("world").await.expect_err("storage fails");

        assert!(matches!(err, Error::Storage(_)), "got {err:?}");
    }
}
