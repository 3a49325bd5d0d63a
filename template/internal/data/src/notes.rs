use std::sync::LazyLock;

use biz::Note;
use sqlx::QueryBuilder;
use time::OffsetDateTime;

use crate::driver::Db;
use crate::{Data, statement};

/// Every column of a note, as `NoteRow` reads them.
const SELECT: &str = "SELECT id, title, body, author, create_time, update_time FROM notes";

/// A new note, every column.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    statement(
        "INSERT INTO notes (id, title, body, author, create_time, update_time) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
});

/// One note by id.
static GET: LazyLock<String> = LazyLock::new(|| statement(&format!("{SELECT} WHERE id = ?")));

/// What an update may change, by id: not the author, not the create time.
static UPDATE: LazyLock<String> = LazyLock::new(|| {
    statement("UPDATE notes SET title = ?, body = ?, update_time = ? WHERE id = ?")
});

/// A note gone, by id.
static DELETE: LazyLock<String> = LazyLock::new(|| statement("DELETE FROM notes WHERE id = ?"));

/// Notes (`notes`), one statement per call.
#[derive(Debug, Clone)]
pub struct NoteRepo {
    data: Data,
}

impl NoteRepo {
    /// Notes kept in the database of `data`.
    pub fn new(data: Data) -> Self {
        Self { data }
    }
}

/// A row of `notes`.
#[derive(sqlx::FromRow)]
struct NoteRow {
    id: String,
    title: String,
    body: String,
    author: String,
    create_time: OffsetDateTime,
    update_time: OffsetDateTime,
}

impl From<NoteRow> for Note {
    fn from(row: NoteRow) -> Self {
        Self {
            id: row.id,
            title: row.title,
            body: row.body,
            author: row.author,
            create_time: row.create_time.into(),
            update_time: row.update_time.into(),
        }
    }
}

/// What errors call the note `id`.
fn note_label(id: &str) -> String {
    format!("note {id}")
}

#[async_trait::async_trait]
impl biz::NoteRepo for NoteRepo {
    async fn create(&self, note: &Note) -> biz::Result<()> {
        sqlx::query(INSERT.as_str())
            .bind(&note.id)
            .bind(&note.title)
            .bind(&note.body)
            .bind(&note.author)
            .bind(OffsetDateTime::from(note.create_time))
            .bind(OffsetDateTime::from(note.update_time))
            .execute(self.data.pool()?)
            .await
            .map_err(|err| self.data.to_biz(err, &note_label(&note.id)))?;
        Ok(())
    }

    async fn get(&self, id: &str) -> biz::Result<Note> {
        let row: NoteRow = sqlx::query_as(GET.as_str())
            .bind(id)
            .fetch_one(self.data.pool()?)
            .await
            .map_err(|err| self.data.to_biz(err, &note_label(id)))?;
        Ok(row.into())
    }

    async fn list(&self, after_id: Option<&str>, limit: usize) -> biz::Result<Vec<Note>> {
        // Built per call: the WHERE is there only when the page starts after an id.
        let mut query = QueryBuilder::<Db>::new(SELECT);
        if let Some(after_id) = after_id {
            query.push(" WHERE id > ").push_bind(after_id);
        }
        let rows: Vec<NoteRow> = query
            .push(" ORDER BY id LIMIT ")
            .push_bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .build_query_as()
            .fetch_all(self.data.pool()?)
            .await
            .map_err(|err| self.data.to_biz(err, "notes"))?;
        Ok(rows.into_iter().map(Note::from).collect())
    }

    async fn update(&self, note: &Note) -> biz::Result<()> {
        let updated = sqlx::query(UPDATE.as_str())
            .bind(&note.title)
            .bind(&note.body)
            .bind(OffsetDateTime::from(note.update_time))
            .bind(&note.id)
            .execute(self.data.pool()?)
            .await
            .map_err(|err| self.data.to_biz(err, &note_label(&note.id)))?;
        found(updated.rows_affected(), &note.id)
    }

    async fn delete(&self, id: &str) -> biz::Result<()> {
        let deleted = sqlx::query(DELETE.as_str())
            .bind(id)
            .execute(self.data.pool()?)
            .await
            .map_err(|err| self.data.to_biz(err, &note_label(id)))?;
        found(deleted.rows_affected(), id)
    }
}

/// A write that touched no row found no note `id` to write to.
fn found(rows_affected: u64, id: &str) -> biz::Result<()> {
    if rows_affected == 0 {
        return Err(biz::Error::NotFound(note_label(id)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use biz::NoteRepo as _;

    use super::*;
    use crate::driver::testing;

    /// An id no other test run uses: a shared test database keeps old rows. Under
    /// the 36 characters a UUID takes, which is all MySQL's column holds. The
    /// leading `-` sorts before every UUID, so services paging through real ids
    /// in the same database (the end-to-end tests) never meet these rows.
    fn unique(prefix: &str) -> String {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        format!("-{prefix}-{nanos}")
    }

    /// A note with times to the microsecond, as biz makes them.
    fn note(id: &str) -> Note {
        let time = UNIX_EPOCH + Duration::from_micros(1_767_225_600_123_456);
        Note {
            id: id.to_owned(),
            title: format!("Note {id}"),
            body: "Ünïcode and emoji 📝 survive the round trip".to_owned(),
            author: "ada@example.com".to_owned(),
            create_time: time,
            update_time: time,
        }
    }

    #[tokio::test]
    async fn a_created_note_reads_back_unchanged() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let note = note(&unique("create"));

        repo.create(&note).await.expect("created");

        assert_eq!(repo.get(&note.id).await.expect("found"), note);
    }

    #[tokio::test]
    async fn a_taken_id_already_exists() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let note = note(&unique("taken"));
        repo.create(&note).await.expect("created");

        let err = repo.create(&note).await.expect_err("duplicate");

        assert!(
            matches!(&err, biz::Error::AlreadyExists(what) if *what == format!("note {}", note.id)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn lists_page_by_page_in_id_order() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let prefix = unique("list");
        // Created out of order: the listing sorts by id, not by insertion.
        for suffix in ["c", "a", "b"] {
            repo.create(&note(&format!("{prefix}-{suffix}")))
                .await
                .expect("created");
        }
        let ids = |notes: Vec<Note>| notes.into_iter().map(|note| note.id).collect::<Vec<_>>();

        // Every id of this run sorts after the bare prefix; later runs' sort after "c".
        let first = repo.list(Some(&prefix), 2).await.expect("first page");
        let second = repo
            .list(Some(&format!("{prefix}-b")), 1)
            .await
            .expect("second page");

        assert_eq!(ids(first), [format!("{prefix}-a"), format!("{prefix}-b")]);
        assert_eq!(ids(second), [format!("{prefix}-c")]);
    }

    #[tokio::test]
    async fn lists_from_the_first_note_without_a_start() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        for n in 1..=2 {
            repo.create(&note(&unique(&format!("first{n}"))))
                .await
                .expect("created");
        }

        let page = repo.list(None, 2).await.expect("page");

        assert_eq!(page.len(), 2);
        assert!(
            page[0].id < page[1].id,
            "{} then {}",
            page[0].id,
            page[1].id
        );
    }

    #[tokio::test]
    async fn an_update_writes_title_body_and_update_time_only() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let created = note(&unique("update"));
        repo.create(&created).await.expect("created");

        let changed = Note {
            title: "New title".to_owned(),
            body: String::new(),
            author: "mallory".to_owned(),
            create_time: created.create_time + Duration::from_secs(3_600),
            update_time: created.update_time + Duration::from_micros(1),
            ..created.clone()
        };
        repo.update(&changed).await.expect("updated");

        let stored = repo.get(&created.id).await.expect("found");
        assert_eq!(
            stored,
            Note {
                author: created.author.clone(),
                create_time: created.create_time,
                ..changed
            }
        );
    }

    #[tokio::test]
    async fn a_deleted_note_is_gone() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let note = note(&unique("delete"));
        repo.create(&note).await.expect("created");

        repo.delete(&note.id).await.expect("deleted");

        let err = repo.get(&note.id).await.expect_err("gone");
        assert!(matches!(err, biz::Error::NotFound(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_missing_note_is_not_found() {
        let (data, _scratch) = testing::data().await;
        let repo = NoteRepo::new(data);
        let missing = note(&unique("missing"));
        let expected = format!("not found: note {}", missing.id);

        let got = repo.get(&missing.id).await.expect_err("get");
        let updated = repo.update(&missing).await.expect_err("update");
        let deleted = repo.delete(&missing.id).await.expect_err("delete");

        for err in [got, updated, deleted] {
            assert_eq!(err.to_string(), expected);
        }
    }
}
