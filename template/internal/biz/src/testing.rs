//! In-memory storage for tests of biz and of the layers above it: a [`Transactor`]
//! whose writes land in a buffer and reach the store only on commit, and a
//! [`NoteRepo`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::{Error, Greeter, Note, NoteRepo, Result, Transactor, UnitOfWork};

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

/// In-memory notes, kept in id order like the database keeps them.
#[derive(Debug, Clone, Default)]
pub struct FakeNotes {
    notes: Arc<Mutex<BTreeMap<String, Note>>>,
    /// When set, every call fails with this error.
    fail: Option<fn() -> Error>,
}

impl FakeNotes {
    /// Notes whose every call fails with `error()`, to show an error mapping.
    pub fn failing_with(error: fn() -> Error) -> Self {
        Self {
            fail: Some(error),
            ..Self::default()
        }
    }

    /// The notes stored now, in id order.
    pub fn notes(&self) -> Vec<Note> {
        self.lock().values().cloned().collect()
    }

    fn check(&self) -> Result<()> {
        self.fail.map_or(Ok(()), |error| Err(error()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Note>> {
        self.notes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn note_not_found(id: &str) -> Error {
    Error::NotFound(format!("note {id}"))
}

#[async_trait::async_trait]
impl NoteRepo for FakeNotes {
    async fn create(&self, note: &Note) -> Result<()> {
        self.check()?;
        let mut notes = self.lock();
        if notes.contains_key(&note.id) {
            return Err(Error::AlreadyExists(format!("note {}", note.id)));
        }
        notes.insert(note.id.clone(), note.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Note> {
        self.check()?;
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| note_not_found(id))
    }

    async fn list(&self, after_id: Option<&str>, limit: usize) -> Result<Vec<Note>> {
        self.check()?;
        let notes = self.lock();
        let after = notes
            .values()
            .filter(|note| after_id.is_none_or(|after_id| note.id.as_str() > after_id));
        Ok(after.take(limit).cloned().collect())
    }

    async fn update(&self, note: &Note) -> Result<()> {
        self.check()?;
        match self.lock().get_mut(&note.id) {
            Some(stored) => {
                *stored = note.clone();
                Ok(())
            }
            None => Err(note_not_found(&note.id)),
        }
    }

    async fn delete(&self, id: &str) -> Result<()> {
        self.check()?;
        self.lock()
            .remove(id)
            .map(drop)
            .ok_or_else(|| note_not_found(id))
    }
}
