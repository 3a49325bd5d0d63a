//! The generator against proto fixtures: every google.api.http rule kind becomes
//! the route, path fields, body and response body expected; the OpenAPI document
//! and the error reasons follow the same descriptors; bad protos are build errors
//! that say what to fix.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use strata_codegen::http_rule::{Body, methods};
use strata_codegen::path_template::Part;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn third_party() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../third_party")
}

fn library() -> strata_codegen::Compiled {
    strata_codegen::compile(&fixtures().join("good"), &third_party()).expect("the fixture compiles")
}

/// `(rpc, method, axum path, path fields, body, response_body)`.
type Row = (String, String, String, Vec<String>, Body, Option<String>);

/// A row for every binding of the fixture's service.
fn bindings() -> Vec<Row> {
    let compiled = library();
    let service = compiled
        .pool
        .get_service_by_name("library.v1.Library")
        .expect("service");
    let mut rows = Vec::new();
    for method in methods(&compiled.pool, &service).expect("valid rules") {
        let rpc = method.descriptor.name().to_owned();
        for binding in method.bindings.iter().chain(&method.default_binding) {
            let fields = binding
                .route
                .params
                .iter()
                .map(|p| p.field.clone())
                .collect();
            rows.push((
                rpc.clone(),
                binding.method.clone(),
                binding.route.path.clone(),
                fields,
                binding.body.clone(),
                binding.response_body.clone(),
            ));
        }
    }
    rows
}

#[test]
fn every_rule_kind_becomes_its_route() {
    let s = |text: &str| text.to_owned();
    let none: Vec<String> = Vec::new();
    let expected = vec![
        (
            s("GetBook"),
            s("GET"),
            s("/v1/shelves/{name_1}/books/{name_3}"),
            vec![s("name")],
            Body::None,
            None,
        ),
        (
            s("GetBook"),
            s("GET"),
            s("/v1/books/{book_id}"),
            vec![s("book_id")],
            Body::None,
            None,
        ),
        (
            s("CreateShelf"),
            s("POST"),
            s("/v1/shelves"),
            none.clone(),
            Body::All,
            None,
        ),
        (
            s("UpdateBook"),
            s("PATCH"),
            s("/v1/books/{book_id}"),
            vec![s("book.book_id")],
            Body::Field(s("book")),
            None,
        ),
        (
            s("MoveBook"),
            s("PUT"),
            s("/v1/users/{id}/books"),
            vec![s("user.id")],
            Body::All,
            None,
        ),
        (
            s("DeleteShelf"),
            s("DELETE"),
            s("/v1/shelves/{shelf_id}"),
            vec![s("shelf_id")],
            Body::None,
            None,
        ),
        (
            s("SearchBooks"),
            s("SEARCH"),
            s("/v1/books"),
            none.clone(),
            Body::None,
            Some(s("books")),
        ),
        (
            s("ReadFile"),
            s("GET"),
            s("/v1/files/{path}"),
            vec![s("path")],
            Body::None,
            None,
        ),
        (
            s("ReadFile"),
            s("POST"),
            s("/v1/files:read"),
            none.clone(),
            Body::All,
            None,
        ),
        (
            s("MergeShelves"),
            s("POST"),
            s("/v1/shelves/{name_1}:merge"),
            vec![s("name")],
            Body::All,
            None,
        ),
        (
            s("RenameBook"),
            s("POST"),
            s("/v1/shelves/{name_1}/books/{name_3}:move"),
            vec![s("name")],
            Body::All,
            None,
        ),
        (
            s("UndeleteShelf"),
            s("POST"),
            s("/v1/shelves/{shelf_id}:undelete"),
            vec![s("shelf_id")],
            Body::None,
            None,
        ),
        (
            s("BatchGetBooks"),
            s("GET"),
            s("/v1/books:batchGet"),
            none.clone(),
            Body::None,
            None,
        ),
        (
            s("DownloadFile"),
            s("GET"),
            s("/v1/files/{path_1}:download"),
            vec![s("path")],
            Body::None,
            None,
        ),
        (
            s("GetShelf"),
            s("GET"),
            s("/v1/shelves/{theme}"),
            vec![s("theme")],
            Body::None,
            None,
        ),
        (
            s("Ping"),
            s("POST"),
            s("/library.v1.Library/Ping"),
            none.clone(),
            Body::All,
            None,
        ),
        (
            s("WatchShelves"),
            s("GET"),
            s("/v1/shelves:watch"),
            none.clone(),
            Body::None,
            None,
        ),
        (
            s("ImportBooks"),
            s("POST"),
            s("/v1/books:import"),
            none.clone(),
            Body::All,
            None,
        ),
        (
            s("UploadCover"),
            s("POST"),
            s("/v1/covers"),
            none.clone(),
            Body::All,
            None,
        ),
        (
            s("AttachScan"),
            s("PUT"),
            s("/v1/shelves/{name_1}/books/{name_3}/scan"),
            vec![s("name")],
            Body::Field(s("scan")),
            None,
        ),
        (
            s("GetCover"),
            s("GET"),
            s("/v1/books/{book_id}/cover"),
            vec![s("book_id")],
            Body::None,
            None,
        ),
        (
            s("ExportShelf"),
            s("GET"),
            s("/v1/shelves/{shelf_id}:export"),
            vec![s("shelf_id")],
            Body::None,
            None,
        ),
    ];
    assert_eq!(bindings(), expected);
}

#[test]
fn a_multi_segment_variable_is_reassembled_from_its_captures() {
    let compiled = library();
    let service = compiled
        .pool
        .get_service_by_name("library.v1.Library")
        .expect("service");
    let methods = methods(&compiled.pool, &service).expect("valid rules");
    let get_book = &methods[0].bindings[0];

    assert_eq!(
        get_book.route.params[0].parts,
        [
            Part::Literal("shelves/".into()),
            Part::Capture("name_1".into()),
            Part::Literal("/books/".into()),
            Part::Capture("name_3".into()),
        ]
    );
    assert!(
        methods
            .iter()
            .any(|m| m.is_streaming() && m.descriptor.name() == "WatchShelves")
    );
}

/// What the runtime matches for each custom-method shape: the segments, the
/// verb apart, and which segments each variable spans.
#[test]
fn custom_methods_match_their_segments_and_verb() {
    use strata_codegen::path_template::RouteSegment::{Literal, One, Rest};
    let compiled = library();
    let service = compiled
        .pool
        .get_service_by_name("library.v1.Library")
        .expect("service");
    let methods = methods(&compiled.pool, &service).expect("valid rules");
    let route = |rpc: &str| {
        let method = methods
            .iter()
            .find(|m| m.descriptor.name() == rpc)
            .unwrap_or_else(|| panic!("{rpc}"));
        let route = method.bindings[0].route.clone();
        let spans: Vec<(usize, usize)> = route.params.iter().map(|p| (p.first, p.end)).collect();
        (route.segments, route.verb, spans)
    };
    let lit = |text: &str| Literal(text.to_owned());
    let verb = |text: &str| Some(text.to_owned());

    assert_eq!(
        route("MergeShelves"),
        (
            vec![lit("v1"), lit("shelves"), One],
            verb("merge"),
            vec![(1, 3)]
        )
    );
    assert_eq!(
        route("RenameBook"),
        (
            vec![lit("v1"), lit("shelves"), One, lit("books"), One],
            verb("move"),
            vec![(1, 5)]
        )
    );
    assert_eq!(
        route("UndeleteShelf"),
        (
            vec![lit("v1"), lit("shelves"), One],
            verb("undelete"),
            vec![(2, 3)]
        )
    );
    assert_eq!(
        route("BatchGetBooks"),
        (vec![lit("v1"), lit("books")], verb("batchGet"), vec![])
    );
    assert_eq!(
        route("DownloadFile"),
        (
            vec![lit("v1"), lit("files"), Rest],
            verb("download"),
            vec![(1, 3)]
        )
    );
}

#[test]
fn the_openapi_document_describes_every_route() {
    let document = strata_codegen::openapi::document(&library()).expect("document");
    let paths = &document["paths"];

    let get = &paths["/v1/books/{book_id}"]["get"];
    assert_eq!(get["operationId"], "Library_GetBook_1");
    let names: Vec<&Value> = get["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(
        names,
        [
            &json!("book_id"),
            &json!("name"),
            &json!("with_reviews"),
            &json!("filter.shelf_id"),
            &json!("filter.theme")
        ],
        "the path field, then the rest from the query, nested ones dotted"
    );
    assert_eq!(get["parameters"][0]["in"], "path");
    assert_eq!(get["parameters"][2]["schema"], json!({"type": "boolean"}));
    assert_eq!(get["summary"], "No body: the path and the query string.");

    let patch = &paths["/v1/books/{book_id}"]["patch"];
    assert_eq!(
        patch["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/library.v1.Book"
    );
    assert_eq!(
        paths["/v1/shelves"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/library.v1.Shelf"
    );
    assert!(paths["/v1/shelves/{shelf_id}"]["delete"]["requestBody"].is_null());
    assert_eq!(
        paths["/v1/books"]["search"]["responses"]["200"]["content"]["application/json"]["schema"]["items"]
            ["$ref"],
        "#/components/schemas/library.v1.Book",
        "response_body sends the books field"
    );
    assert_eq!(
        paths["/v1/files/{path}"]["get"]["parameters"][0]["in"],
        "path"
    );

    // Custom methods: the verb is part of the path.
    let merge = &paths["/v1/shelves/{name_1}:merge"]["post"];
    assert_eq!(merge["operationId"], "Library_MergeShelves");
    assert_eq!(merge["parameters"][0]["name"], "name_1");
    assert_eq!(
        merge["parameters"][0]["description"],
        "Part of `name`, matched by /v1/{name=shelves/*}:merge. The shelf that stays: shelves/*."
    );
    assert!(paths["/v1/shelves/{name_1}/books/{name_3}:move"]["post"].is_object());
    assert!(paths["/v1/shelves/{shelf_id}:undelete"]["post"].is_object());
    assert!(paths["/v1/books:batchGet"]["get"].is_object());
    assert!(paths["/v1/files/{path_1}:download"]["get"].is_object());
    // One OpenAPI path per shape: GetShelf's {theme} is spelled as DeleteShelf's.
    let shelf = &paths["/v1/shelves/{shelf_id}"];
    assert!(shelf["delete"].is_object(), "{shelf}");
    assert_eq!(shelf["get"]["operationId"], "Library_GetShelf");
    assert_eq!(shelf["get"]["parameters"][0]["name"], "shelf_id");
    assert!(paths.get("/v1/shelves/{theme}").is_none());
    assert!(paths["/library.v1.Library/Ping"]["post"].is_object());
    let watch = &paths["/v1/shelves:watch"]["get"]["responses"]["200"]["content"];
    assert_eq!(watch["text/event-stream"]["schema"]["type"], "string");
    assert_eq!(
        watch["application/x-ndjson"]["schema"]["$ref"],
        "#/components/schemas/library.v1.Shelf"
    );
    assert!(
        paths.get("/v1/books:import").is_none(),
        "client streams are gRPC-only"
    );
    assert!(
        paths
            .as_object()
            .expect("paths")
            .keys()
            .all(|p| !p.contains("Tail")),
        "a stream without a rule has no default route"
    );
    assert_eq!(
        get["responses"]["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error"
    );

    let book = &document["components"]["schemas"]["library.v1.Book"];
    assert_eq!(book["description"], "A book on a shelf.");
    assert_eq!(
        book["properties"]["bookId"],
        json!({"type": "string"}),
        "lowerCamelCase names"
    );
    assert_eq!(
        book["properties"]["pages"]["type"], "string",
        "int64 is a string in proto3 JSON"
    );
    assert_eq!(
        book["properties"]["genre"]["enum"],
        json!(["GENRE_UNSPECIFIED", "FICTION", "POETRY"])
    );
    assert_eq!(book["properties"]["published"]["format"], "date-time");
    assert_eq!(
        book["properties"]["published"]["description"],
        "When it was published."
    );
    assert_eq!(book["properties"]["tags"]["type"], "array");
}

/// `google.api.HttpBody` requests and replies are raw bytes of any media type,
/// not JSON: a binary schema under `*/*`, and no schema for the message itself.
#[test]
fn the_openapi_document_describes_http_bodies_as_raw_bytes() {
    let document = strata_codegen::openapi::document(&library()).expect("document");
    let paths = &document["paths"];
    let binary = json!({ "*/*": { "schema": { "type": "string", "format": "binary" } } });

    let upload = &paths["/v1/covers"]["post"];
    assert_eq!(upload["requestBody"]["content"], binary, "{upload}");
    assert!(
        upload["parameters"].is_null(),
        "body \"*\" leaves no query: {upload}"
    );
    assert_eq!(
        upload["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/library.v1.Book"
    );

    let attach = &paths["/v1/shelves/{name_1}/books/{name_3}/scan"]["put"];
    assert_eq!(attach["requestBody"]["content"], binary, "{attach}");
    let names: Vec<&Value> = attach["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(
        names,
        [&json!("name_1"), &json!("name_3")],
        "the path, no query"
    );

    let cover = &paths["/v1/books/{book_id}/cover"]["get"]["responses"];
    assert_eq!(cover["200"]["content"], binary, "{cover}");
    assert_eq!(
        cover["default"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Error",
        "errors stay JSON"
    );
    assert!(
        cover["200"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("content_type")),
        "{cover}"
    );

    let export = &paths["/v1/shelves/{shelf_id}:export"]["get"]["responses"]["200"];
    assert_eq!(export["content"], binary, "not SSE: {export}");
    assert!(
        export["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("A download")),
        "{export}"
    );
    assert!(
        document["components"]["schemas"]
            .get("google.api.HttpBody")
            .is_none(),
        "raw bytes need no message schema"
    );
}

#[test]
fn error_reasons_get_their_codes() {
    let enums =
        strata_codegen::errors::error_enums(&library().pool, "library.v1").expect("valid codes");
    let reasons: Vec<(&str, u32)> = enums[0]
        .reasons
        .iter()
        .map(|r| (r.name.as_str(), r.code))
        .collect();

    assert_eq!(
        reasons,
        [
            ("BOOK_NOT_FOUND", 404),
            ("SHELF_FULL", 409),
            ("CATALOG_BROKEN", 500)
        ]
    );
    let code = strata_codegen::errors::generate("library.v1", &enums).to_string();
    assert!(code.contains("fn error_book_not_found"), "{code}");
    assert!(code.contains("fn is_shelf_full"), "{code}");
    assert!(
        !code.contains("unspecified"),
        "the zero value is no error: {code}"
    );
}

#[test]
fn generates_compilable_rust_and_the_module_tree() {
    let out = tempfile::tempdir().expect("tempdir");

    strata_codegen::generate(&library(), out.path()).expect("generates");

    for name in [
        "library.v1.http.rs",
        "library.v1.validate.rs",
        "library.v1.errors.rs",
        "api.rs",
        "openapi.json",
    ] {
        assert!(out.path().join(name).is_file(), "{name} written");
    }
    let tree = std::fs::read_to_string(out.path().join("api.rs")).expect("api.rs");
    assert!(
        tree.contains("/google.api.rs\"))") && !tree.contains("google.api.http.rs"),
        "google.api.HttpBody's package holds prost's types only: {tree}"
    );
    let http = std::fs::read_to_string(out.path().join("library.v1.http.rs")).expect("http");
    assert!(
        http.contains("pub fn library_http_routes<T: library_server::Library>"),
        "{http}"
    );
    assert!(
        http.contains("if options.default_routes"),
        "Ping has no rule: {http}"
    );
    assert!(
        http.contains(".server_stream("),
        "the server stream with a rule is routed: {http}"
    );
    assert!(
        !http.contains("import_books") && !http.contains("tail_shelves"),
        "client streams and streams without a rule are not: {http}"
    );
}

#[test]
fn every_rpc_checks_its_request_before_the_service_runs() {
    let out = tempfile::tempdir().expect("tempdir");
    strata_codegen::generate(&library(), out.path()).expect("generates");

    let code =
        std::fs::read_to_string(out.path().join("library.v1.validate.rs")).expect("validate.rs");
    let code: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        code.contains(
            "impl<T: library_server::Library> library_server::Library for ::strata::Validated<T>"
        ),
        "{code}"
    );
    assert!(
        code.contains(
            ".check(\"library.v1.UpdateBookRequest\", request.get_ref())?; \
             self.inner().update_book(request).await"
        ),
        "{code}"
    );
    assert!(
        code.contains("type WatchShelvesStream = T::WatchShelvesStream;"),
        "a server-streaming rpc keeps the inner stream type: {code}"
    );
    assert!(
        code.contains("request: ::tonic::Request<crate::library::v1::Shelf>"),
        "types by their module path: {code}"
    );
}

#[test]
fn the_openapi_document_carries_the_validation_rules() {
    let document = strata_codegen::openapi::document(&library()).expect("document");
    let schemas = &document["components"]["schemas"];

    let shelf = &schemas["library.v1.Shelf"]["properties"];
    assert_eq!(
        shelf["theme"],
        json!({ "type": "string", "minLength": 1, "maxLength": 50, "pattern": "^[a-z ]+$" })
    );
    assert_eq!(shelf["shelfId"]["format"], "uuid");

    let book = &schemas["library.v1.Book"]["properties"];
    assert_eq!(book["format"]["enum"], json!(["paper", "ebook"]));
    assert_eq!(book["rating"]["minimum"], 0.0);
    assert_eq!(book["rating"]["exclusiveMinimum"], true);
    assert_eq!(book["rating"]["maximum"], 5.0);
    assert_eq!(
        (&book["tags"]["maxItems"], &book["tags"]["uniqueItems"]),
        (&json!(10), &json!(true))
    );
    assert_eq!(
        book["tags"]["items"],
        json!({ "type": "string", "minLength": 1, "maxLength": 20 })
    );
    assert_eq!(
        book["pages"],
        json!({ "type": "string", "format": "int64" }),
        "a JSON string carries no numeric bounds"
    );
    assert_eq!(
        schemas["library.v1.MoveBookRequest"]["required"],
        json!(["user"])
    );

    let search = &document["paths"]["/v1/books"]["search"]["parameters"];
    let param = |name: &str| {
        search
            .as_array()
            .and_then(|params| params.iter().find(|p| p["name"] == name))
            .map(|p| p["schema"].clone())
            .unwrap_or_default()
    };
    assert_eq!(
        param("page_size"),
        json!({ "type": "integer", "format": "int32", "minimum": 0, "maximum": 100 })
    );
    assert_eq!(param("query")["maxLength"], 100);
    assert_eq!(
        schemas["Error"]["properties"]["violations"]["items"]["properties"]["rule"]["type"],
        "string"
    );
}

/// Each bad fixture, and what its error must say.
#[test]
fn bad_rules_are_build_errors_that_say_what_to_fix() {
    let cases = [
        ("unknown_path_field", "bad.v1.Req has no field \"idd\""),
        (
            "repeated_path_field",
            "can only set a single scalar or enum",
        ),
        ("unknown_body", "body: \"nope\" names no field"),
        ("get_with_body", "GET and DELETE requests carry none"),
        (
            "duplicate_route",
            "GET /v1/a/{id} of /bad.v1.S/B and GET /v1/a/{id} of /bad.v1.S/A match the same requests",
        ),
        ("bad_code", "errors code 418 has no gRPC code"),
        ("no_package", "declares no package"),
        (
            "unsupported_rule",
            "bad.v1.Req.contact: (buf.validate.field).string.email is not evaluated by strata",
        ),
        (
            "cel_rule",
            "bad.v1.Req.high: (buf.validate.field).cel is not evaluated",
        ),
        (
            "same_shape",
            "POST /v1/{name=a/*}:cancel of /bad.v1.S/B and POST /v1/a/{id}:cancel of /bad.v1.S/A match the same requests",
        ),
    ];
    for (fixture, says) in cases {
        let result = strata_codegen::compile(&fixtures().join("bad").join(fixture), &third_party())
            .and_then(|compiled| {
                let out = tempfile::tempdir()?;
                strata_codegen::generate(&compiled, out.path())
            });
        let err = format!("{:#}", result.expect_err(fixture));
        assert!(err.contains(says), "{fixture}: {err:?} should say {says:?}");
    }
}
