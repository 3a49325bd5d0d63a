//! Notes as CSV: what `ExportNotes` writes and `ImportNotes` reads. A file
//! written by one imports with the other (as new notes with new ids).

use api::notes::v1::{CreateNoteRequest, Note, error_invalid_note};
use tonic::Status;

/// The media type of both.
pub(crate) const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The columns `ExportNotes` writes, in order; an import reads `title` and
/// `body` and ignores the rest.
const COLUMNS: [&str; 5] = ["id", "title", "body", "create_time", "update_time"];

/// `notes` as CSV rows, after the header row when `header` is set.
pub(crate) fn rows(notes: &[Note], header: bool) -> Result<Vec<u8>, Status> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |err: csv::Error| {
        tracing::error!(error = %err, "writing notes as CSV failed");
        Status::internal("internal error")
    };
    if header {
        writer.write_record(COLUMNS).map_err(failed)?;
    }
    for note in notes {
        let time = |time: &Option<prost_types::Timestamp>| {
            time.as_ref().map(ToString::to_string).unwrap_or_default()
        };
        writer
            .write_record([
                note.id.as_str(),
                &note.title,
                &note.body,
                &time(&note.create_time),
                &time(&note.update_time),
            ])
            .map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|err| failed(err.into_error().into()))
}

/// The notes to create from an uploaded file: its `content_type` must be
/// text/csv and its header must name a `title` column (`body` is optional).
/// Each row is checked against `CreateNoteRequest`'s rules; an error names
/// the row (1 is the first after the header).
pub(crate) fn drafts(content_type: &str, data: &[u8]) -> Result<Vec<CreateNoteRequest>, Status> {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("text/csv") {
        return Err(error_invalid_note(format!(
            "send the notes as text/csv (got {content_type:?})"
        ))
        .with_metadata("field", "content_type")
        .into());
    }
    let invalid = |message: String| -> Status {
        error_invalid_note(message)
            .with_metadata("field", "data")
            .into()
    };
    let mut reader = csv::Reader::from_reader(data);
    let header = reader
        .headers()
        .map_err(|err| invalid(format!("the CSV header cannot be read: {err}")))?
        .clone();
    let column = |name: &str| header.iter().position(|h| h.trim() == name);
    let title = column("title").ok_or_else(|| {
        invalid(format!(
            "the CSV header has no title column (it has: {})",
            header.iter().collect::<Vec<_>>().join(", ")
        ))
    })?;
    let body = column("body");
    let mut drafts = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let row = index + 1;
        let record = record.map_err(|err| invalid(format!("row {row}: {err}")))?;
        let draft = CreateNoteRequest {
            title: record.get(title).unwrap_or_default().to_owned(),
            body: body
                .and_then(|body| record.get(body))
                .unwrap_or_default()
                .to_owned(),
        };
        // The rules a CreateNote request is held to, row by row.
        api::validation_rules()
            .check("notes.v1.CreateNoteRequest", &draft)
            .map_err(|status| invalid(format!("row {row}: {}", status.message())))?;
        drafts.push(draft);
    }
    Ok(drafts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(status: Status) -> strata::Error {
        strata::Error::from(status)
    }

    #[test]
    fn rows_quote_what_csv_must_quote() {
        let note = Note {
            id: "n1".into(),
            title: "milk, eggs".into(),
            body: "line one\n\"two\"".into(),
            ..Note::default()
        };

        let csv = rows(&[note], true).expect("written");

        assert_eq!(
            String::from_utf8(csv).expect("utf-8"),
            "id,title,body,create_time,update_time\n\
             n1,\"milk, eggs\",\"line one\n\"\"two\"\"\",,\n"
        );
    }

    #[test]
    fn an_export_imports_back() {
        let note = Note {
            id: "n1".into(),
            title: "milk, eggs".into(),
            body: "line one\n\"two\"".into(),
            ..Note::default()
        };
        let csv = rows(&[note], true).expect("written");

        let drafts = drafts(CONTENT_TYPE, &csv).expect("read");

        assert_eq!(
            drafts,
            [CreateNoteRequest {
                title: "milk, eggs".into(),
                body: "line one\n\"two\"".into(),
            }]
        );
    }

    #[test]
    fn a_file_that_is_not_csv_names_content_type() {
        let status = drafts("application/json", b"{}").expect_err("not CSV");

        let error = error(status);
        assert_eq!(error.metadata()["field"], "content_type");
        assert!(error.message().contains("text/csv"), "{error}");
    }

    #[test]
    fn a_header_without_title_says_what_it_has() {
        let status = drafts("text/csv", b"name,text\na,b\n").expect_err("no title");

        assert!(
            status
                .message()
                .contains("no title column (it has: name, text)"),
            "{status:?}"
        );
    }

    #[test]
    fn a_row_breaking_the_create_rules_is_named() {
        let long = "x".repeat(201);
        let file = format!("title,body\nfine,\n{long},\n");

        let status = drafts("text/csv", file.as_bytes()).expect_err("too long");

        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(status.message().starts_with("row 2: "), "{status:?}");
        assert_eq!(error(status).metadata()["field"], "data");
    }
}
