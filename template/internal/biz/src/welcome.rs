use std::sync::Arc;

use crate::{Caller, Note, NoteUsecase, Result};

/// Where greetings come from: the Greeter service, which the data layer calls
/// over the network.
#[async_trait::async_trait]
pub trait GreetingSource: Send + Sync {
    /// The greeting for `name`, e.g. `Hello ada`.
    async fn greet(&self, name: &str) -> Result<String>;
}

/// Welcome notes: a note for a newcomer that carries the Greeter's greeting.
#[derive(Clone)]
pub struct WelcomeUsecase {
    notes: NoteUsecase,
    greetings: Arc<dyn GreetingSource>,
}

impl WelcomeUsecase {
    /// Welcome notes written through `notes`, greeting from `greetings`.
    pub fn new(notes: NoteUsecase, greetings: impl GreetingSource + 'static) -> Self {
        Self {
            notes,
            greetings: Arc::new(greetings),
        }
    }

    /// Creates the note welcoming `name`, written by `caller`: titled
    /// `Welcome, <name>`, its body the greeting. Nothing is stored when the
    /// greeting cannot be had.
    pub async fn welcome(&self, caller: Option<&Caller>, name: &str) -> Result<Note> {
        let greeting = self.greetings.greet(name).await?;
        self.notes
            .create(caller, &format!("Welcome, {name}"), &greeting)
            .await
    }
}

impl std::fmt::Debug for WelcomeUsecase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WelcomeUsecase").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::testing::{FakeGreetingSource, FakeNoteRepo};

    #[tokio::test]
    async fn a_welcome_note_carries_the_greeting() {
        let notes = FakeNoteRepo::default();
        let welcome = WelcomeUsecase::new(
            NoteUsecase::new(notes.clone()),
            FakeGreetingSource::default(),
        );

        let note = welcome.welcome(None, "ada").await.expect("welcomed");

        assert_eq!(note.title, "Welcome, ada");
        assert_eq!(note.body, "Hello ada");
        assert_eq!(notes.notes(), vec![note]);
    }

    #[tokio::test]
    async fn without_a_greeting_nothing_is_stored() {
        let notes = FakeNoteRepo::default();
        let greetings =
            FakeGreetingSource::failing_with(|| Error::Unavailable("greeter down".into()));
        let welcome = WelcomeUsecase::new(NoteUsecase::new(notes.clone()), greetings);

        let err = welcome.welcome(None, "ada").await.expect_err("no greeting");

        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(notes.notes().is_empty());
    }
}
