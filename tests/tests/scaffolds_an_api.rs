//! Slow tier: `make proto-add` and `make proto-server` in a generated repository
//! write a proto and a service skeleton that build, lint clean and serve once
//! registered with the lines proto-server prints.

use std::path::Path;

use strata_tests::{Variant, cargo, generate, make, make_ok};

/// Inserts `line` into `file` after the first line containing `anchor`.
fn insert_after(file: &Path, anchor: &str, line: &str) {
    let text = std::fs::read_to_string(file).expect("readable");
    let at = text
        .find(anchor)
        .unwrap_or_else(|| panic!("{} has no {anchor:?}", file.display()));
    let end = at + text[at..].find('\n').expect("a line end") + 1;
    let updated = format!("{}{line}\n{}", &text[..end], &text[end..]);
    std::fs::write(file, updated).expect("writable");
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn proto_add_and_proto_server_build_once_registered() {
    let repo = generate(Variant::SQLITE);
    let root = &repo.root;
    let proto = "api/library/v1/library.proto";

    make_ok(root, &["proto-add", &format!("NAME={proto}")]);
    let refused = make(root, &["proto-add", &format!("NAME={proto}")]);
    assert!(!refused.ok, "proto-add overwrote {proto}");
    assert!(
        refused.text.contains("never overwrites"),
        "{}",
        refused.text
    );

    // The proto alone builds: routes, errors and OpenAPI come from `make api`.
    make_ok(root, &["api"]);
    let openapi = std::fs::read_to_string(root.join("api/openapi.json")).expect("openapi");
    assert!(
        openapi.contains("/v1/libraries/{id}"),
        "api/openapi.json lists the new routes"
    );
    for rule in [
        r#""maxLength": 200"#,
        r#""maximum": 100"#,
        r#""pattern": "\\S""#,
    ] {
        assert!(
            openapi.contains(rule),
            "proto-add writes buf.validate rules, shown as {rule} in api/openapi.json"
        );
    }

    let printed = make_ok(root, &["proto-server", &format!("PROTO={proto}")]);
    assert!(
        root.join("internal/service/src/library_service.rs")
            .is_file()
    );
    for line in [
        "mod library_service;",
        "pub use library_service::LibraryService;",
        "pub library_service: LibraryService,",
        "library_service: service::LibraryService::new(),",
        ".add_service(api::library::v1::library_service_server::LibraryServiceServer::new(Validated::new(services.library_service.clone())))",
        ".merge(api::library::v1::library_service_http_routes(Validated::new(services.library_service.clone()), options))",
    ] {
        assert!(
            printed.contains(line),
            "proto-server should print {line:?}:\n{printed}"
        );
    }

    // Register it exactly as printed.
    let service = root.join("internal/service/src/lib.rs");
    insert_after(&service, "mod notes;", "mod library_service;");
    insert_after(
        &service,
        "pub use notes::NotesService;",
        "pub use library_service::LibraryService;",
    );
    insert_after(
        &service,
        "pub notes: NotesService,",
        "    pub library_service: LibraryService,",
    );
    let cmd = root.join(format!("cmd/{}/src/lib.rs", Variant::SQLITE.name));
    insert_after(
        &cmd,
        "notes: service::NotesService::new(notes),",
        "        library_service: service::LibraryService::new(),",
    );
    insert_after(
        &root.join("internal/server/src/grpc.rs"),
        ".add_service(notes.max_decoding_message_size(max_message))",
        "        .add_service(api::library::v1::library_service_server::LibraryServiceServer::new(Validated::new(services.library_service.clone())))",
    );
    insert_after(
        &root.join("internal/server/src/http.rs"),
        ".merge(notes_http_routes(notes, options))",
        "        .merge(api::library::v1::library_service_http_routes(Validated::new(services.library_service.clone()), options))",
    );

    cargo(root, &["fmt", "--all"]);
    cargo(root, &["clippy", "--all-targets", "--", "-D", "warnings"]);
    cargo(root, &["test", "-p", "service"]);
}
