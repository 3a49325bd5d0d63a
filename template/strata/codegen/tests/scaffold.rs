//! `proto-add` and `proto-server` in a scratch copy of the repository layout.

use std::path::Path;

use strata_codegen::scaffold::{proto_add, proto_server};

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

#[test]
fn proto_server_writes_a_skeleton_once_and_says_how_to_register_it() {
    let repo = scratch();
    let proto = Path::new("api/library/v1/library.proto");
    proto_add(repo.path(), proto).expect("proto");

    let written = proto_server(repo.path(), proto).expect("skeleton");

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
    assert!(
        written[0]
            .registration
            .contains("library_service_http_routes"),
        "{}",
        written[0].registration
    );

    let err = proto_server(repo.path(), proto).expect_err("exists");
    assert!(err.to_string().contains("never overwrites"), "{err}");
}

#[test]
fn proto_server_writes_a_stub_for_every_kind_of_rpc() {
    let repo = scratch();
    let dir = repo.path().join("api/feed/v1");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("feed.proto"),
        "syntax = \"proto3\";\npackage feed.v1;\nmessage Item { string id = 1; }\n\
         service Feed {\n  rpc Get(Item) returns (Item);\n  rpc Watch(Item) returns (stream Item);\n\
         \x20 rpc Upload(stream Item) returns (Item);\n  rpc Chat(stream Item) returns (stream Item);\n}\n",
    )
    .expect("proto");

    let written = proto_server(repo.path(), Path::new("api/feed/v1/feed.proto")).expect("skeleton");
    let skeleton = std::fs::read_to_string(&written[0].file).expect("written");

    for expected in [
        "async fn get(\n        &self,\n        _request: Request<pb::Item>,\n    ) -> Result<Response<pb::Item>, Status>",
        "type WatchStream = std::pin::Pin<",
        "async fn watch(\n        &self,\n        _request: Request<pb::Item>,\n    ) -> Result<Response<Self::WatchStream>, Status>",
        "async fn upload(\n        &self,\n        _request: Request<tonic::Streaming<pb::Item>>,\n    ) -> Result<Response<pb::Item>, Status>",
        "type ChatStream = std::pin::Pin<",
        "_request: Request<tonic::Streaming<pb::Item>>,\n    ) -> Result<Response<Self::ChatStream>, Status>",
    ] {
        assert!(skeleton.contains(expected), "{expected}\nin\n{skeleton}");
    }
    assert_eq!(skeleton.matches("Status::unimplemented").count(), 4);
    assert!(!skeleton.contains("implement it by hand"), "{skeleton}");
}
