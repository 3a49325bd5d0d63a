//! In-memory repositories for tests of biz and of the layers above it, one per
//! repository trait and all alike: `default()` is empty, `failing_with(error)`
//! fails every call, and an accessor shows what the fake holds now.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{Error, Greeter, GreeterRepo, GreetingSource, Note, NoteRepo, Result};

// The fakes `make scaffold` writes, one file each under testing/.
// strata:scaffold mod

// strata:scaffold use

/// In-memory greetings and how often each name was greeted.
#[derive(Debug, Clone, Default)]
pub struct FakeGreeterRepo {
    greetings: Arc<Mutex<Greetings>>,
    /// When set, every call fails with this error.
    fail: Option<fn() -> Error>,
}

#[derive(Debug, Default)]
struct Greetings {
    saved: Vec<Greeter>,
    counts: HashMap<String, u64>,
}

impl FakeGreeterRepo {
    /// A repo whose every call fails with `error()` and stores nothing, to show an
    /// error mapping.
    pub fn failing_with(error: fn() -> Error) -> Self {
        Self {
            fail: Some(error),
            ..Self::default()
        }
    }

    /// The greetings saved so far, oldest first.
    pub fn greetings(&self) -> Vec<Greeter> {
        lock(&self.greetings).saved.clone()
    }
}

#[async_trait::async_trait]
impl GreeterRepo for FakeGreeterRepo {
    async fn save(&self, greeter: &Greeter) -> Result<u64> {
        check(self.fail)?;
        // One lock for both writes: both or neither, as the trait asks.
        let mut greetings = lock(&self.greetings);
        greetings.saved.push(greeter.clone());
        let count = greetings.counts.entry(greeter.name.clone()).or_default();
        *count += 1;
        Ok(*count)
    }
}

/// In-memory notes, kept in id order like the database keeps them.
#[derive(Debug, Clone, Default)]
pub struct FakeNoteRepo {
    notes: Arc<Mutex<BTreeMap<String, Note>>>,
    /// When set, every call fails with this error.
    fail: Option<fn() -> Error>,
}

impl FakeNoteRepo {
    /// A repo whose every call fails with `error()` and stores nothing, to show an
    /// error mapping.
    pub fn failing_with(error: fn() -> Error) -> Self {
        Self {
            fail: Some(error),
            ..Self::default()
        }
    }

    /// The notes stored now, in id order.
    pub fn notes(&self) -> Vec<Note> {
        lock(&self.notes).values().cloned().collect()
    }
}

fn note_not_found(id: &str) -> Error {
    Error::NotFound(format!("note {id}"))
}

#[async_trait::async_trait]
impl NoteRepo for FakeNoteRepo {
    async fn create(&self, note: &Note) -> Result<()> {
        check(self.fail)?;
        let mut notes = lock(&self.notes);
        if notes.contains_key(&note.id) {
            return Err(Error::AlreadyExists(format!("note {}", note.id)));
        }
        notes.insert(note.id.clone(), note.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Note> {
        check(self.fail)?;
        lock(&self.notes)
            .get(id)
            .cloned()
            .ok_or_else(|| note_not_found(id))
    }

    async fn list(&self, after_id: Option<&str>, limit: usize) -> Result<Vec<Note>> {
        check(self.fail)?;
        let notes = lock(&self.notes);
        let after = notes
            .values()
            .filter(|note| after_id.is_none_or(|after_id| note.id.as_str() > after_id));
        Ok(after.take(limit).cloned().collect())
    }

    async fn update(&self, note: &Note) -> Result<()> {
        check(self.fail)?;
        match lock(&self.notes).get_mut(&note.id) {
            Some(stored) => {
                *stored = note.clone();
                Ok(())
            }
            None => Err(note_not_found(&note.id)),
        }
    }

    async fn delete(&self, id: &str) -> Result<()> {
        check(self.fail)?;
        lock(&self.notes)
            .remove(id)
            .map(drop)
            .ok_or_else(|| note_not_found(id))
    }
}

/// Fails with `fail()` when a fake was built `failing_with` it.
fn check(fail: Option<fn() -> Error>) -> Result<()> {
    fail.map_or(Ok(()), |error| Err(error()))
}

/// The fake's state, even after a test panicked while holding it.
fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Greetings as the Greeter gives them (`Hello <name>`), without a network.
#[derive(Debug, Clone, Default)]
pub struct FakeGreetingSource {
    /// When set, every call fails with this error.
    fail: Option<fn() -> Error>,
}

impl FakeGreetingSource {
    /// A source whose every call fails with `error()`.
    pub fn failing_with(error: fn() -> Error) -> Self {
        Self { fail: Some(error) }
    }
}

#[async_trait::async_trait]
impl GreetingSource for FakeGreetingSource {
    async fn greet(&self, name: &str) -> Result<String> {
        match self.fail {
            Some(error) => Err(error()),
            None => Ok(format!("Hello {name}")),
        }
    }
}
