//! `proto-add`, `proto-server` and `scaffold` in a scratch copy of the repository
//! layout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_codegen::scaffold::{Layout, Resource, plan, proto_add, proto_server, write};

/// A scratch repository with `api/`, `third_party/` and `internal/service/src/`.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("api")).expect("api");
    std::fs::create_dir_all(dir.path().join("internal/service/src")).expect("service");
    let third_party = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../third_party");
    copy_dir(&third_party, &dir.path().join("third_party"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

#[test]
fn proto_add_writes_a_crud_proto_that_compiles_and_generates() {
    let repo = scratch();

    proto_add(repo.path(), Path::new("api/library/v1/library.proto")).expect("written");

    let compiled =
        strata_codegen::compile(&repo.path().join("api"), &repo.path().join("third_party"))
            .expect("compiles");
    let service = compiled
        .pool
        .get_service_by_name("library.v1.LibraryService")
        .expect("service");
    let rpcs: Vec<String> = service.methods().map(|m| m.name().to_owned()).collect();
    assert_eq!(
        rpcs,
        [
            "CreateLibrary",
            "GetLibrary",
            "ListLibraries",
            "UpdateLibrary",
            "DeleteLibrary"
        ]
    );
    let document = strata_codegen::openapi::document(&compiled).expect("openapi");
    assert!(
        document["paths"]["/v1/libraries/{id}"]["patch"].is_object(),
        "{document}"
    );
    let out = tempfile::tempdir().expect("out");
    strata_codegen::generate(&compiled, out.path()).expect("generates");
}

#[test]
fn proto_add_routes_use_english_plurals() {
    let repo = scratch();

    proto_add(repo.path(), Path::new("api/library/v1/shelf.proto")).expect("written");

    let compiled =
        strata_codegen::compile(&repo.path().join("api"), &repo.path().join("third_party"))
            .expect("compiles");
    let document = strata_codegen::openapi::document(&compiled).expect("openapi");
    assert!(
        document["paths"]["/v1/shelves/{id}"]["get"].is_object(),
        "{document}"
    );
    assert!(
        compiled
            .pool
            .get_service_by_name("library.v1.ShelfService")
            .is_some_and(|service| service.methods().any(|m| m.name() == "ListShelves"))
    );
}

#[test]
fn proto_add_never_overwrites_and_refuses_bad_paths() {
    let repo = scratch();
    let proto = Path::new("api/library/v1/library.proto");
    proto_add(repo.path(), proto).expect("first time");
    std::fs::write(repo.path().join(proto), "// edited").expect("edit");

    let err = proto_add(repo.path(), proto).expect_err("exists");
    assert!(err.to_string().contains("never overwrites"), "{err}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join(proto)).expect("kept"),
        "// edited"
    );

    for (bad, says) in [
        ("library.proto", "not under api/"),
        ("api/library/v1/library.txt", "does not end in .proto"),
        (
            "api/Library/v1/library.proto",
            "not a lowercase proto identifier",
        ),
    ] {
        let err = proto_add(repo.path(), Path::new(bad)).expect_err(bad);
        assert!(err.to_string().contains(says), "{bad}: {err}");
    }
}

/// A scratch copy of this repository's service layers (one database's
/// migrations), with its marker comments.
fn service_repo() -> (tempfile::TempDir, Layout) {
    let repo = scratch();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for dir in ["internal", "cmd"] {
        copy_dir(&root.join(dir), &repo.path().join(dir));
    }
    let migrations = repo.path().join("internal/data/migrations");
    for other in ["postgres", "mysql"] {
        let _ = std::fs::remove_dir_all(migrations.join(other));
    }
    let layout = Layout::find(repo.path(), None).expect("one service");
    (repo, layout)
}

/// Every file under `dir` with its bytes, to compare before and after.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("file");
                files.insert(path, bytes);
            }
        }
    }
    files
}

#[test]
fn proto_server_writes_a_skeleton_once_and_registers_it_at_the_markers() {
    let (repo, layout) = service_repo();
    let proto = Path::new("api/library/v1/library.proto");
    proto_add(repo.path(), proto).expect("proto");

    let written = proto_server(repo.path(), &layout, proto).expect("skeleton");

    assert_eq!(written.len(), 1);
    let skeleton = std::fs::read_to_string(&written[0].file).expect("written");
    assert!(
        written[0]
            .file
            .ends_with("internal/service/src/library_service.rs")
    );
    assert!(
        skeleton.contains("impl pb::library_service_server::LibraryService for LibraryService"),
        "{skeleton}"
    );
    assert_eq!(
        skeleton.matches("Status::unimplemented").count(),
        5,
        "{skeleton}"
    );
    let read = |file: &str| std::fs::read_to_string(repo.path().join(file)).expect(file);
    let service = read("internal/service/src/lib.rs");
    for line in [
        "mod library_service;",
        "pub use library_service::LibraryService;",
        "pub library_service: LibraryService,",
    ] {
        assert!(service.contains(line), "{line}:\n{service}");
    }
    let grpc = read("internal/server/src/grpc.rs");
    assert!(
        grpc.contains("LibraryServiceServer::new(")
            && grpc.contains("services.library_service.clone()")
            && grpc
                .matches("max_decoding_message_size(max_message)")
                .count()
                == 3,
        "{grpc}"
    );
    assert!(
        read("internal/server/src/http.rs").contains("library_service_http_routes("),
        "http.rs"
    );

    let before = snapshot(repo.path());
    let err = proto_server(repo.path(), &layout, proto).expect_err("exists");
    assert!(err.to_string().contains("never overwrites"), "{err}");
    assert_eq!(snapshot(repo.path()), before);
}

#[test]
fn scaffold_writes_every_layer_and_registers_it() {
    let (repo, layout) = service_repo();
    let resource = Resource::parse(
        "book",
        None,
        "title:string pages:int32 published:bool subtitle:optional:string \
         isbn:int64 copies:uint32 price:double cover:optional:bytes released:timestamp \
         withdrawn:optional:timestamp",
    )
    .expect("valid");

    let plan = plan(repo.path(), &layout, resource).expect("plan");
    write(repo.path(), &plan).expect("written");

    let created: Vec<String> = plan
        .created
        .iter()
        .map(|(file, _)| file.display().to_string())
        .collect();
    assert_eq!(created.len(), 7, "{created:?}");
    for file in &created {
        assert!(repo.path().join(file).is_file(), "{file}");
        let text = std::fs::read_to_string(repo.path().join(file)).expect("text");
        assert!(
            !text.contains('@'),
            "{file} has an unfilled marker:\n{text}"
        );
    }
    assert!(
        created
            .iter()
            .any(|f| f.starts_with("internal/data/migrations/sqlite/")
                && f.ends_with("_create_books.sql"))
    );
    let compiled =
        strata_codegen::compile(&repo.path().join("api"), &repo.path().join("third_party"))
            .expect("the proto compiles");
    let document = strata_codegen::openapi::document(&compiled).expect("openapi");
    assert!(
        document["paths"]["/v1/books/{id}"]["get"].is_object(),
        "{document}"
    );
    assert!(
        document["paths"]["/v1/books"]["post"].is_object(),
        "{document}"
    );
    // The field limits are proto rules, checked before the service; biz keeps
    // only what the proto cannot say (a required text is not empty).
    let read = |file: &str| std::fs::read_to_string(repo.path().join(file)).expect(file);
    let proto = read("api/books/v1/book.proto");
    for rule in [
        "string title = 2 [\n    (buf.validate.field).string = {max_len: 1000, pattern: \"\\\\S\"},\n    \
         (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE\n  ];",
        "optional string subtitle = 5 [(buf.validate.field).string.max_len = 1000];",
        "int32 page_size = 1 [(buf.validate.field).int32 = {gte: 0, lte: 100}];",
        "Book book = 1 [(buf.validate.field).required = true];",
    ] {
        assert!(proto.contains(rule), "{rule}\nin\n{proto}");
    }
    let biz = read("internal/biz/src/books.rs");
    assert!(biz.contains("not_empty(\"title\", &book.title)?;"), "{biz}");
    assert!(
        !biz.contains("chars().count()"),
        "biz repeats a length rule:\n{biz}"
    );
    let cmd =
        std::fs::read_to_string(repo.path().join(layout.cmd.join("src/lib.rs"))).expect("cmd");
    assert!(
        cmd.contains("let books = biz::BookUsecase::new(data::BookRepo::new(data.clone()));"),
        "{cmd}"
    );
    assert!(
        cmd.contains("books: service::BookService::new(books),"),
        "{cmd}"
    );
}

#[test]
fn refused_scaffolds_write_nothing() {
    let (repo, layout) = service_repo();
    let before = snapshot(repo.path());

    // The sample's own resource exists already.
    let note = Resource::parse("note", None, "title:string").expect("valid name");
    let err = plan(repo.path(), &layout, note).expect_err("notes exist");
    assert!(err.to_string().contains("exists already"), "{err}");

    // A registration marker removed by hand: the whole scaffold is refused.
    let grpc = repo.path().join("internal/server/src/grpc.rs");
    let kept = std::fs::read_to_string(&grpc).expect("grpc.rs");
    std::fs::write(&grpc, kept.replace("// strata:scaffold grpc", "")).expect("edit");
    let book = Resource::parse("book", None, "title:string").expect("valid");
    let err = plan(repo.path(), &layout, book).expect_err("no marker");
    assert!(
        format!("{err:#}").contains("strata:scaffold grpc"),
        "{err:#}"
    );
    std::fs::write(&grpc, kept).expect("restore");

    let err = Layout::find(repo.path(), Some("billing")).expect_err("no such service");
    assert!(err.to_string().contains("it has: "), "{err}");

    assert_eq!(snapshot(repo.path()), before);
}

#[test]
fn proto_server_writes_a_stub_for_every_kind_of_rpc() {
    let (repo, layout) = service_repo();
    let dir = repo.path().join("api/feed/v1");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("feed.proto"),
        "syntax = \"proto3\";\npackage feed.v1;\nmessage Item { string id = 1; }\n\
         service Feed {\n  rpc Get(Item) returns (Item);\n  rpc Watch(Item) returns (stream Item);\n\
         \x20 rpc Upload(stream Item) returns (Item);\n  rpc Chat(stream Item) returns (stream Item);\n}\n",
    )
    .expect("proto");

    let written =
        proto_server(repo.path(), &layout, Path::new("api/feed/v1/feed.proto")).expect("skeleton");
    let skeleton = std::fs::read_to_string(&written[0].file).expect("written");
    // Compared with the spaces collapsed: rustfmt decides where lines break.
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = words(&skeleton);

    for expected in [
        "async fn get(&self, _request: Request<pb::Item>) -> Result<Response<pb::Item>, Status>",
        "type WatchStream = std::pin::Pin<",
        "async fn watch( &self, _request: Request<pb::Item>, ) -> Result<Response<Self::WatchStream>, Status>",
        "async fn upload( &self, _request: Request<tonic::Streaming<pb::Item>>, ) -> Result<Response<pb::Item>, Status>",
        "type ChatStream = std::pin::Pin<",
        "_request: Request<tonic::Streaming<pb::Item>>, ) -> Result<Response<Self::ChatStream>, Status>",
    ] {
        assert!(flat.contains(expected), "{expected}\nin\n{skeleton}");
    }
    assert_eq!(skeleton.matches("Status::unimplemented").count(), 4);
    assert!(!skeleton.contains("implement it by hand"), "{skeleton}");
}

#[test]
fn an_added_service_is_found_under_services() {
    let (repo, first) = service_repo();
    let added = repo.path().join("services/billing");
    copy_dir(&repo.path().join("internal"), &added.join("internal"));
    copy_dir(&repo.path().join(&first.cmd), &added.join("cmd/billing"));

    let billing = Layout::find(repo.path(), Some("billing")).expect("billing");
    let default = Layout::find(repo.path(), None).expect("the first");

    assert_eq!(default, first);
    assert_eq!(billing.api, Path::new("services/billing/api"));
    assert_eq!(billing.cmd, Path::new("services/billing/cmd/billing"));
    assert_eq!(billing.data, Path::new("services/billing/internal/data"));
    let err = Layout::find(repo.path(), Some("shipping")).expect_err("no such service");
    assert!(
        err.to_string()
            .contains(&format!("it has: {}, billing", first.name)),
        "{err}"
    );
}
