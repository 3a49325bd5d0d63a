use std::pin::Pin;

use api::google::api::HttpBody;
use api::notes::v1::{
    CreateNoteRequest, CreateWelcomeNoteRequest, DeleteNoteRequest, ExportNotesRequest,
    GetNoteRequest, ImportNotesResponse, ListNotesRequest, ListNotesResponse, Note,
    UpdateNoteRequest, WatchNotesRequest, error_invalid_note, error_not_note_author,
    error_note_not_found, notes_server::Notes,
};
use biz::{NoteChanges, NoteUsecase, WelcomeUsecase};
use tonic::codegen::tokio_stream::wrappers::{BroadcastStream, ReceiverStream};
use tonic::codegen::tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::caller::caller;
use crate::{dependency_errors, notes_csv};

/// `notes.v1.Notes`, served on gRPC and HTTP alike.
#[derive(Debug, Clone)]
pub struct NotesService {
    usecase: NoteUsecase,
    welcome: WelcomeUsecase,
}

impl NotesService {
    /// The service answering through `usecase`, and `welcome` for welcome notes.
    pub fn new(usecase: NoteUsecase, welcome: WelcomeUsecase) -> Self {
        Self { usecase, welcome }
    }
}

#[tonic::async_trait]
impl Notes for NotesService {
    type WatchNotesStream = Pin<Box<dyn Stream<Item = Result<Note, Status>> + Send>>;
    type ExportNotesStream = ReceiverStream<Result<HttpBody, Status>>;

    async fn watch_notes(
        &self,
        _request: Request<WatchNotesRequest>,
    ) -> Result<Response<Self::WatchNotesStream>, Status> {
        let left = WatcherLeft(self.usecase.clone());
        let notes = BroadcastStream::new(self.usecase.watch()).filter_map(move |created| {
            let _ = &left;
            // A watcher that fell behind skips what it missed.
            created.ok().map(|note| Ok(to_proto(note)))
        });
        Ok(Response::new(Box::pin(notes)))
    }

    async fn export_notes(
        &self,
        _request: Request<ExportNotesRequest>,
    ) -> Result<Response<Self::ExportNotesStream>, Status> {
        // One page ahead of the caller at most: a slow reader holds the
        // export back, and one that goes away ends it (the send fails).
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let usecase = self.usecase.clone();
        let export = async move {
            let mut page_token = String::new();
            let mut header = true;
            // Bounded: each page starts after the last id of the one before.
            loop {
                let chunk = usecase
                    .list(biz::MAX_PAGE_SIZE as i32, &page_token)
                    .await
                    .map_err(to_status)
                    .and_then(|page| {
                        page_token = page.next_page_token;
                        let notes: Vec<Note> = page.notes.into_iter().map(to_proto).collect();
                        notes_csv::rows(&notes, header)
                    });
                header = false;
                let last = chunk.is_err() || page_token.is_empty();
                let chunk = chunk.map(|data| HttpBody {
                    content_type: notes_csv::CONTENT_TYPE.to_owned(),
                    data,
                    extensions: Vec::new(),
                });
                if sender.send(chunk).await.is_err() || last {
                    break;
                }
            }
        };
        tokio::spawn(export.instrument(tracing::Span::current()));
        let mut response = Response::new(ReceiverStream::new(receiver));
        // Browsers save the HTTP download under this name.
        response.metadata_mut().insert(
            "content-disposition",
            tonic::metadata::MetadataValue::from_static("attachment; filename=\"notes.csv\""),
        );
        Ok(response)
    }

    async fn import_notes(
        &self,
        request: Request<HttpBody>,
    ) -> Result<Response<ImportNotesResponse>, Status> {
        let caller = caller(&request);
        let file = request.into_inner();
        let drafts = notes_csv::drafts(&file.content_type, &file.data)?;
        let mut notes = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let note = self
                .usecase
                .create(caller.as_ref(), &draft.title, &draft.body)
                .await
                .map_err(to_status)?;
            notes.push(to_proto(note));
        }
        Ok(Response::new(ImportNotesResponse { notes }))
    }

    async fn create_note(
        &self,
        request: Request<CreateNoteRequest>,
    ) -> Result<Response<Note>, Status> {
        let caller = caller(&request);
        let CreateNoteRequest { title, body } = request.into_inner();
        let note = self
            .usecase
            .create(caller.as_ref(), &title, &body)
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_proto(note)))
    }

    async fn create_welcome_note(
        &self,
        request: Request<CreateWelcomeNoteRequest>,
    ) -> Result<Response<Note>, Status> {
        let caller = caller(&request);
        let note = self
            .welcome
            .welcome(caller.as_ref(), &request.into_inner().name)
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_proto(note)))
    }

    async fn get_note(&self, request: Request<GetNoteRequest>) -> Result<Response<Note>, Status> {
        let note = self
            .usecase
            .get(&request.into_inner().id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_proto(note)))
    }

    async fn list_notes(
        &self,
        request: Request<ListNotesRequest>,
    ) -> Result<Response<ListNotesResponse>, Status> {
        let ListNotesRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let page = self
            .usecase
            .list(page_size, &page_token)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ListNotesResponse {
            notes: page.notes.into_iter().map(to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_note(
        &self,
        request: Request<UpdateNoteRequest>,
    ) -> Result<Response<Note>, Status> {
        let caller = caller(&request);
        let UpdateNoteRequest { note, update_mask } = request.into_inner();
        let Some(note) = note else {
            return Err(error_invalid_note("note is required")
                .with_metadata("field", "note")
                .into());
        };
        let paths = update_mask.map(|mask| mask.paths).unwrap_or_default();
        let changes = changes(note.title, note.body, &paths)?;
        // Named by their path in the request (note.title), as the proto's rules
        // and HTTP decoding name them.
        let updated = self
            .usecase
            .update(caller.as_ref(), &note.id, changes)
            .await
            .map_err(|err| to_status(err.within("note")))?;
        Ok(Response::new(to_proto(updated)))
    }

    async fn delete_note(
        &self,
        request: Request<DeleteNoteRequest>,
    ) -> Result<Response<()>, Status> {
        let caller = caller(&request);
        self.usecase
            .delete(caller.as_ref(), &request.into_inner().id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(()))
    }
}

/// The fields `paths` names (`title`, `body`; none means both), with their new
/// values. Any other path is the caller's mistake.
fn changes(title: String, body: String, paths: &[String]) -> Result<NoteChanges, Status> {
    if paths.is_empty() {
        return Ok(NoteChanges {
            title: Some(title),
            body: Some(body),
        });
    }
    let mut changes = NoteChanges::default();
    for path in paths {
        match path.as_str() {
            "title" => changes.title = Some(title.clone()),
            "body" => changes.body = Some(body.clone()),
            other => {
                return Err(error_invalid_note(format!(
                    "update_mask names {other:?}; only title and body can change"
                ))
                .with_metadata("field", "update_mask")
                .into());
            }
        }
    }
    Ok(changes)
}

/// Logs when a watch ends: the caller went away and its stream was dropped.
struct WatcherLeft(NoteUsecase);

impl Drop for WatcherLeft {
    fn drop(&mut self) {
        // The stream's receiver is dropped before this guard: the rest remain.
        tracing::info!(watchers = self.0.watchers(), "a note watcher left");
    }
}

fn to_proto(note: biz::Note) -> Note {
    Note {
        id: note.id,
        title: note.title,
        body: note.body,
        author: note.author,
        create_time: Some(note.create_time.into()),
        update_time: Some(note.update_time.into()),
    }
}

/// biz errors as API errors. Causes that are not the caller's business are logged
/// here and never sent.
fn to_status(err: biz::Error) -> Status {
    match err {
        biz::Error::InvalidArgument { field, message } => error_invalid_note(message)
            .with_metadata("field", field)
            .into(),
        biz::Error::NotFound(what) => error_note_not_found(format!("{what} not found")).into(),
        biz::Error::AlreadyExists(what) => Status::aborted(format!("{what} already exists")),
        biz::Error::PermissionDenied(why) => error_not_note_author(why).into(),
        biz::Error::Unavailable(cause) => dependency_errors::unavailable("notes", &cause),
        biz::Error::Storage(cause) => dependency_errors::storage_failed("notes", &cause),
    }
}

#[cfg(test)]
mod tests {
    use api::notes::v1::{is_invalid_note, is_note_not_found};
    use biz::testing::{FakeGreetingSource, FakeNoteRepo};
    use prost_types::FieldMask;
    use tonic::Code;

    use super::*;

    fn service() -> NotesService {
        over(FakeNoteRepo::default())
    }

    /// The service over `repo`, greeting without a network.
    fn over(repo: FakeNoteRepo) -> NotesService {
        let usecase = NoteUsecase::new(repo);
        let welcome = WelcomeUsecase::new(usecase.clone(), FakeGreetingSource::default());
        NotesService::new(usecase, welcome)
    }

    async fn create(service: &NotesService, title: &str) -> Note {
        service
            .create_note(Request::new(CreateNoteRequest {
                title: title.into(),
                body: "text".into(),
            }))
            .await
            .expect("created")
            .into_inner()
    }

    fn error(status: Status) -> strata::Error {
        strata::Error::from(status)
    }

    #[tokio::test]
    async fn a_created_note_can_be_read_back() {
        let service = service();
        let created = create(&service, "groceries").await;

        let got = service
            .get_note(Request::new(GetNoteRequest {
                id: created.id.clone(),
            }))
            .await
            .expect("found")
            .into_inner();

        assert_eq!(got, created);
        assert!(got.create_time.is_some());
    }

    #[tokio::test]
    async fn an_empty_title_is_invalid_and_names_the_field() {
        let status = service()
            .create_note(Request::new(CreateNoteRequest::default()))
            .await
            .expect_err("empty title");

        assert_eq!(status.code(), Code::InvalidArgument);
        let error = error(status);
        assert!(is_invalid_note(&error), "{error}");
        assert_eq!(error.metadata()["field"], "title");
    }

    #[tokio::test]
    async fn a_missing_note_is_note_not_found() {
        let status = service()
            .get_note(Request::new(GetNoteRequest { id: "nope".into() }))
            .await
            .expect_err("missing");

        assert_eq!(status.code(), Code::NotFound);
        assert!(is_note_not_found(&error(status)));
    }

    #[tokio::test]
    async fn update_changes_only_the_masked_fields() {
        let service = service();
        let created = create(&service, "before").await;

        let updated = service
            .update_note(Request::new(UpdateNoteRequest {
                note: Some(Note {
                    id: created.id.clone(),
                    title: "after".into(),
                    body: "ignored".into(),
                    ..Note::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["title".into()],
                }),
            }))
            .await
            .expect("updated")
            .into_inner();

        assert_eq!(updated.title, "after");
        assert_eq!(updated.body, "text");
    }

    #[tokio::test]
    async fn an_unknown_mask_path_names_update_mask() {
        let service = service();
        let created = create(&service, "note").await;

        let status = service
            .update_note(Request::new(UpdateNoteRequest {
                note: Some(Note {
                    id: created.id,
                    ..Note::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["id".into()],
                }),
            }))
            .await
            .expect_err("id cannot change");

        assert_eq!(error(status).metadata()["field"], "update_mask");
    }

    #[tokio::test]
    async fn a_storage_failure_is_internal_and_hides_the_cause() {
        let service = over(FakeNoteRepo::failing_with(|| {
            biz::Error::storage("disk full on 10.0.0.7")
        }));

        let status = service
            .get_note(Request::new(GetNoteRequest { id: "x".into() }))
            .await
            .expect_err("fails");

        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("10.0.0.7"));
    }

    #[tokio::test]
    async fn a_welcome_note_carries_the_greeters_greeting() {
        let note = service()
            .create_welcome_note(Request::new(CreateWelcomeNoteRequest {
                name: "ada".into(),
            }))
            .await
            .expect("created")
            .into_inner();

        assert_eq!(
            (note.title.as_str(), note.body.as_str()),
            ("Welcome, ada", "Hello ada")
        );
    }
}
