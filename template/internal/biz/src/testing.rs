//! An in-memory [`Transactor`] for tests of biz and of the layers above it:
//! writes land in a buffer and reach the store only on commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::{Error, Greeter, Result, Transactor, UnitOfWork};

/// In-memory greetings and counts.
#[derive(Debug, Clone, Default)]
pub struct FakeStore {
    committed: Arc<Mutex<Committed>>,
    /// When set, counting fails with this error.
    fail: Option<fn() -> Error>,
}

#[derive(Debug, Default)]
struct Committed {
    greetings: Vec<Greeter>,
    counts: HashMap<String, u64>,
}

impl FakeStore {
    /// A store whose counting always fails with `error()`, to show a rollback or
    /// an error mapping.
    pub fn failing_with(error: fn() -> Error) -> Self {
        Self {
            fail: Some(error),
            ..Self::default()
        }
    }

    /// The greetings committed so far.
    pub fn greetings(&self) -> Vec<Greeter> {
        self.lock().greetings.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Committed> {
        self.committed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl Transactor for FakeStore {
    async fn begin(&self) -> Result<Box<dyn UnitOfWork>> {
        Ok(Box::new(FakeWork {
            store: self.clone(),
            greetings: Vec::new(),
            counted: Vec::new(),
        }))
    }
}

struct FakeWork {
    store: FakeStore,
    greetings: Vec<Greeter>,
    counted: Vec<String>,
}

#[async_trait::async_trait]
impl UnitOfWork for FakeWork {
    async fn save_greeting(&mut self, greeter: &Greeter) -> Result<()> {
        self.greetings.push(greeter.clone());
        Ok(())
    }

    async fn count_greeting(&mut self, name: &str) -> Result<u64> {
        if let Some(error) = self.store.fail {
            return Err(error());
        }
        self.counted.push(name.to_owned());
        let committed = self.store.lock().counts.get(name).copied().unwrap_or(0);
        let pending = self
            .counted
            .iter()
            .filter(|counted| *counted == name)
            .count();
        Ok(committed + pending as u64)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let mut committed = self.store.lock();
        committed.greetings.extend(self.greetings);
        for name in self.counted {
            *committed.counts.entry(name).or_default() += 1;
        }
        Ok(())
    }
}
