use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::broadcast;

use crate::paging::{self, now};
use crate::{Caller, Error, Result};

/// The scope that lets a caller change or delete any note, not only its own.
pub const NOTES_ADMIN_SCOPE: &str = "notes:admin";

/// A note someone wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Assigned by the service: a UUID v7, so ids sort in creation order.
    pub id: String,
    /// One line saying what the note is about; never blank.
    pub title: String,
    /// The text; may be empty.
    pub body: String,
    /// Who wrote it: the subject of the caller that created it; empty when
    /// nobody was authenticated. Only the author (or an admin) may change it.
    pub author: String,
    /// When the note was created.
    pub create_time: SystemTime,
    /// When the note last changed; `create_time` until the first update.
    pub update_time: SystemTime,
}

/// What an update changes: the fields that are `Some`. The others keep their value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoteChanges {
    /// A new title.
    pub title: Option<String>,
    /// A new body.
    pub body: Option<String>,
}

/// One page of notes, in id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotePage {
    /// The notes of this page.
    pub notes: Vec<Note>,
    /// Pass it back to get the next page; empty on the last page.
    pub next_page_token: String,
}

/// Where notes are kept. The data layer implements it.
#[async_trait::async_trait]
pub trait NoteRepo: Send + Sync {
    /// Stores a new note; `AlreadyExists` if its id is taken.
    async fn create(&self, note: &Note) -> Result<()>;
    /// The note `id`; `NotFound` if there is none.
    async fn get(&self, id: &str) -> Result<Note>;
    /// Up to `limit` notes in id order, starting after the id `after_id` (from the
    /// first note when `None`).
    async fn list(&self, after_id: Option<&str>, limit: usize) -> Result<Vec<Note>>;
    /// Writes the title, body and update time of the note `note.id`; `NotFound` if
    /// there is none.
    async fn update(&self, note: &Note) -> Result<()>;
    /// Deletes the note `id`; `NotFound` if there is none.
    async fn delete(&self, id: &str) -> Result<()>;
}

/// The note use cases.
#[derive(Clone)]
pub struct NoteUsecase {
    repo: Arc<dyn NoteRepo>,
    /// Every note this process creates, to whoever watches (`watch`).
    created: broadcast::Sender<Note>,
}

/// Notes a watcher may fall behind by before it misses some.
const WATCH_BACKLOG: usize = 64;

impl NoteUsecase {
    /// A use case keeping notes in `repo`.
    pub fn new(repo: impl NoteRepo + 'static) -> Self {
        Self {
            repo: Arc::new(repo),
            created: broadcast::channel(WATCH_BACKLOG).0,
        }
    }

    /// The notes created from now on, for as long as the receiver is kept. One
    /// that falls more than 64 notes behind misses the oldest (`Lagged`).
    pub fn watch(&self) -> broadcast::Receiver<Note> {
        self.created.subscribe()
    }

    /// How many receivers of `watch` are alive.
    pub fn watchers(&self) -> usize {
        self.created.receiver_count()
    }

    /// Creates a note with a new id, written by `caller`.
    pub async fn create(&self, caller: Option<&Caller>, title: &str, body: &str) -> Result<Note> {
        validate_title(title)?;
        let now = now();
        let note = Note {
            id: uuid::Uuid::now_v7().to_string(),
            title: title.to_owned(),
            body: body.to_owned(),
            author: caller.map(|c| c.subject.clone()).unwrap_or_default(),
            create_time: now,
            update_time: now,
        };
        self.repo.create(&note).await?;
        // Nobody watching is no error.
        let _ = self.created.send(note.clone());
        Ok(note)
    }

    /// The note `id`.
    pub async fn get(&self, id: &str) -> Result<Note> {
        self.repo.get(id).await
    }

    /// A page of notes in creation order: `page_size` of them (0 or less means
    /// [`crate::DEFAULT_PAGE_SIZE`], more than [`crate::MAX_PAGE_SIZE`] means that
    /// many), after the page whose `next_page_token` is `page_token` (empty: the
    /// first page).
    pub async fn list(&self, page_size: i32, page_token: &str) -> Result<NotePage> {
        let limit = paging::limit(page_size);
        let after_id = paging::start(page_token)?;
        // One more than asked for tells whether another page follows.
        let mut notes = self.repo.list(after_id.as_deref(), limit + 1).await?;
        let mut next_page_token = String::new();
        if notes.len() > limit {
            notes.truncate(limit);
            next_page_token = notes.last().map(|note| note.id.clone()).unwrap_or_default();
        }
        Ok(NotePage {
            notes,
            next_page_token,
        })
    }

    /// Applies `changes` to the note `id` for `caller` and returns it as stored.
    pub async fn update(
        &self,
        caller: Option<&Caller>,
        id: &str,
        changes: NoteChanges,
    ) -> Result<Note> {
        if let Some(title) = &changes.title {
            validate_title(title)?;
        }
        let mut note = self.repo.get(id).await?;
        may_change(&note, caller)?;
        if let Some(title) = changes.title {
            note.title = title;
        }
        if let Some(body) = changes.body {
            note.body = body;
        }
        // Strictly later, even within one microsecond or when the clock steps back.
        note.update_time = paging::later(now(), note.update_time);
        self.repo.update(&note).await?;
        Ok(note)
    }

    /// Deletes the note `id` for `caller`.
    pub async fn delete(&self, caller: Option<&Caller>, id: &str) -> Result<()> {
        let note = self.repo.get(id).await?;
        may_change(&note, caller)?;
        self.repo.delete(id).await
    }
}

impl std::fmt::Debug for NoteUsecase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteUsecase").finish_non_exhaustive()
    }
}

/// Who may change or delete `note`: anyone while it has no author (it was
/// written with authentication off), else its author or a caller granted
/// [`NOTES_ADMIN_SCOPE`].
fn may_change(note: &Note, caller: Option<&Caller>) -> Result<()> {
    let allowed = note.author.is_empty()
        || caller.is_some_and(|c| c.subject == note.author || c.has_scope(NOTES_ADMIN_SCOPE));
    if allowed {
        return Ok(());
    }
    Err(Error::PermissionDenied(format!(
        "note {} is {}'s: only its author or a caller with scope {NOTES_ADMIN_SCOPE} may change it",
        note.id, note.author
    )))
}

/// A note always has a title: the proto bounds its length and refuses an
/// all-blank one in a create, but an update may carry an empty title its mask
/// names.
fn validate_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::invalid_argument("title", "title must not be empty"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeNoteRepo;
    use crate::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

    fn usecase() -> (NoteUsecase, FakeNoteRepo) {
        let notes = FakeNoteRepo::default();
        (NoteUsecase::new(notes.clone()), notes)
    }

    async fn create_many(usecase: &NoteUsecase, count: usize) -> Vec<Note> {
        let mut created = Vec::new();
        for n in 0..count {
            let note = usecase.create(None, &format!("note {n}"), "").await;
            created.push(note.expect("created"));
        }
        created
    }

    fn invalid_field(err: &Error) -> &str {
        match err {
            Error::InvalidArgument { field, .. } => field,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn creates_a_note_with_a_uuid_v7_id() {
        let (usecase, store) = usecase();

        let note = usecase
            .create(None, "Groceries", "milk, eggs")
            .await
            .expect("created");

        let id = uuid::Uuid::try_parse(&note.id).expect("a uuid");
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(
            (note.title.as_str(), note.body.as_str()),
            ("Groceries", "milk, eggs")
        );
        assert_eq!(note.create_time, note.update_time);
        assert_eq!(store.notes(), vec![note.clone()]);
        assert_eq!(usecase.get(&note.id).await.expect("found"), note);
    }

    #[tokio::test]
    async fn refuses_a_blank_title_without_storing() {
        let (usecase, store) = usecase();

        let err = usecase
            .create(None, " \t ", "body")
            .await
            .expect_err("blank title");

        assert_eq!(invalid_field(&err), "title");
        assert_eq!(err.to_string(), "title must not be empty");
        assert!(store.notes().is_empty());
    }

    #[tokio::test]
    async fn pages_through_every_note_in_creation_order() {
        let (usecase, _) = usecase();
        let created = create_many(&usecase, 5).await;

        let mut listed = Vec::new();
        let mut sizes = Vec::new();
        let mut token = String::new();
        loop {
            let page = usecase.list(2, &token).await.expect("page");
            sizes.push(page.notes.len());
            listed.extend(page.notes);
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }

        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(listed, created);
    }

    #[tokio::test]
    async fn a_full_last_page_has_no_next_page_token() {
        let (usecase, _) = usecase();
        create_many(&usecase, 4).await;

        let first = usecase.list(2, "").await.expect("first page");
        let second = usecase
            .list(2, &first.next_page_token)
            .await
            .expect("second page");

        assert_eq!(second.notes.len(), 2);
        assert_eq!(second.next_page_token, "");
    }

    #[tokio::test]
    async fn page_size_0_means_20_and_more_than_100_means_100() {
        let (usecase, _) = usecase();
        create_many(&usecase, 105).await;

        let default = usecase.list(0, "").await.expect("default page");
        let negative = usecase.list(-1, "").await.expect("default page");
        assert_eq!(negative.notes.len(), DEFAULT_PAGE_SIZE);
        let clamped = usecase.list(1_000, "").await.expect("clamped page");

        assert_eq!(default.notes.len(), DEFAULT_PAGE_SIZE);
        assert_eq!(clamped.notes.len(), MAX_PAGE_SIZE);
        assert_eq!(clamped.next_page_token, clamped.notes[99].id);
    }

    #[tokio::test]
    async fn refuses_a_foreign_page_token() {
        let (usecase, _) = usecase();

        let foreign = usecase.list(10, "page-2").await.expect_err("not a uuid");

        assert_eq!(invalid_field(&foreign), "page_token");
    }

    #[tokio::test]
    async fn an_update_changes_only_the_given_fields() {
        let (usecase, store) = usecase();
        let note = usecase
            .create(None, "Groceries", "milk")
            .await
            .expect("created");

        let changes = NoteChanges {
            body: Some("milk, eggs".into()),
            ..NoteChanges::default()
        };
        let updated = usecase
            .update(None, &note.id, changes)
            .await
            .expect("updated");

        assert_eq!(updated.title, "Groceries");
        assert_eq!(updated.body, "milk, eggs");
        assert_eq!(updated.create_time, note.create_time);
        assert!(updated.update_time > note.update_time);
        assert_eq!(store.notes(), vec![updated]);
    }

    #[tokio::test]
    async fn an_invalid_update_changes_nothing() {
        let (usecase, store) = usecase();
        let note = usecase
            .create(None, "Groceries", "milk")
            .await
            .expect("created");

        let changes = NoteChanges {
            title: Some(String::new()),
            body: Some("eggs".into()),
        };
        let err = usecase
            .update(None, &note.id, changes)
            .await
            .expect_err("blank title");

        assert_eq!(invalid_field(&err), "title");
        assert_eq!(store.notes(), vec![note]);
    }

    #[tokio::test]
    async fn a_missing_note_is_not_found() {
        let (usecase, _) = usecase();
        let id = uuid::Uuid::now_v7().to_string();

        let got = usecase.get(&id).await.expect_err("get");
        let updated = usecase
            .update(None, &id, NoteChanges::default())
            .await
            .expect_err("update");
        let deleted = usecase.delete(None, &id).await.expect_err("delete");

        for err in [got, updated, deleted] {
            assert_eq!(err.to_string(), format!("not found: note {id}"));
        }
    }

    #[tokio::test]
    async fn a_deleted_note_is_gone() {
        let (usecase, store) = usecase();
        let note = usecase
            .create(None, "Groceries", "")
            .await
            .expect("created");

        usecase.delete(None, &note.id).await.expect("deleted");

        assert!(matches!(
            usecase.get(&note.id).await,
            Err(Error::NotFound(_))
        ));
        assert!(store.notes().is_empty());
    }

    fn caller(subject: &str, scopes: &[&str]) -> Caller {
        Caller {
            subject: subject.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[tokio::test]
    async fn only_the_author_or_an_admin_changes_an_authored_note() {
        let (usecase, store) = usecase();
        let ada = caller("ada", &[]);
        let note = usecase
            .create(Some(&ada), "Groceries", "milk")
            .await
            .expect("created");
        assert_eq!(note.author, "ada");

        let changes = || NoteChanges {
            body: Some("eggs".into()),
            ..NoteChanges::default()
        };
        let bob = caller("bob", &["notes:read"]);
        for who in [None, Some(&bob)] {
            let updated = usecase.update(who, &note.id, changes()).await;
            let deleted = usecase.delete(who, &note.id).await;
            for err in [updated.expect_err("update"), deleted.expect_err("delete")] {
                assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
                assert!(err.to_string().contains("only its author"), "{err}");
            }
        }
        assert_eq!(store.notes(), vec![note.clone()]);

        let updated = usecase.update(Some(&ada), &note.id, changes()).await;
        assert_eq!(updated.expect("the author updates").body, "eggs");
        let admin = caller("carol", &[NOTES_ADMIN_SCOPE]);
        usecase
            .delete(Some(&admin), &note.id)
            .await
            .expect("an admin deletes");
        assert!(store.notes().is_empty());
    }

    #[tokio::test]
    async fn a_note_written_without_authentication_is_anyones() {
        let (usecase, store) = usecase();
        let note = usecase
            .create(None, "Groceries", "")
            .await
            .expect("created");
        assert_eq!(note.author, "");

        let bob = caller("bob", &[]);
        let changes = NoteChanges {
            title: Some("Shopping".into()),
            ..NoteChanges::default()
        };
        let updated = usecase.update(Some(&bob), &note.id, changes).await;
        assert_eq!(updated.expect("updated").author, "", "the author stays");
        usecase.delete(Some(&bob), &note.id).await.expect("deleted");
        assert!(store.notes().is_empty());
    }

    #[tokio::test]
    async fn storage_failures_reach_the_caller() {
        let usecase = NoteUsecase::new(FakeNoteRepo::failing_with(|| Error::storage("disk full")));

        let err = usecase
            .create(None, "Groceries", "")
            .await
            .expect_err("fails");

        assert!(matches!(err, Error::Storage(_)), "got {err:?}");
    }
}
