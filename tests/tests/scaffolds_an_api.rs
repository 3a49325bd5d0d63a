//! Slow tier: in a generated repository, `make scaffold` writes a CRUD resource
//! through every layer that lints, passes its tests and answers over HTTP and
//! gRPC from the running binary; `make proto-add` writes a proto with its first
//! `buf.validate` rules and `make proto-server` registers its skeleton itself; in
//! a repository with a second service, `SERVICE=` scaffolds into that one; refused
//! commands leave `git status` as it was.

use std::path::Path;
use std::process::Command;

use strata_tests::{Service, Variant, cargo, exclusive, generate, make, make_ok};
use tonic::codegen::http::uri::PathAndQuery;

/// Its own name: the scaffolded binary must not overwrite the sample's in the
/// shared target directory.
const SCAFFOLDED: Variant = Variant {
    name: "hello-scaffold",
    defines: &[],
};

/// The first service of the repository `scaffolds_into_an_added_service` grows.
const GROWN: Variant = Variant {
    name: "hello-grown",
    defines: &[],
};

fn git(root: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=strata tests",
            "-c",
            "user.email=tests@strata.invalid",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?} in {}: {}",
        root.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Commits everything in `root`, as a team's repository is between commands.
fn commit_all(root: &Path, message: &str) {
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", message]);
}

fn git_status(root: &Path) -> String {
    git(root, &["status", "--porcelain", "--untracked-files=all"])
}

/// `make scaffold` with `args` must fail, say `says`, and write nothing.
fn refused(root: &Path, args: &[&str], says: &str) {
    let before = git_status(root);
    let made = make(root, &[&["scaffold"][..], args].concat());
    assert!(!made.ok, "make scaffold {args:?} succeeded:\n{}", made.text);
    assert!(
        made.text.contains(says),
        "make scaffold {args:?} should say {says:?}:\n{}",
        made.text
    );
    assert_eq!(
        git_status(root),
        before,
        "make scaffold {args:?} wrote files"
    );
}

#[derive(Clone, PartialEq, prost::Message)]
struct GetBookRequest {
    #[prost(string, tag = "1")]
    id: String,
}

/// The fields of `books.v1.Book` this test sends, by their numbers.
#[derive(Clone, PartialEq, prost::Message)]
struct Book {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    title: String,
    #[prost(int32, tag = "3")]
    pages: i32,
    #[prost(bool, tag = "4")]
    published: bool,
}

async fn get_book_over_grpc(addr: std::net::SocketAddr, id: &str) -> Book {
    let channel = strata_tests::grpc::connect(addr)
        .await
        .expect("gRPC connects");
    let mut client = tonic::client::Grpc::new(channel);
    client.ready().await.expect("ready");
    client
        .unary(
            tonic::Request::new(GetBookRequest { id: id.to_owned() }),
            PathAndQuery::from_static("/books.v1.BookService/GetBook"),
            tonic_prost::ProstCodec::<GetBookRequest, Book>::default(),
        )
        .await
        .expect("GetBook")
        .into_inner()
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn scaffold_writes_a_resource_that_lints_tests_and_serves() {
    let repo = generate(SCAFFOLDED);
    let _target = exclusive(&repo.root);
    let root = &repo.root;
    git(root, &["init", "-q"]);
    commit_all(root, "generated");

    refused(
        root,
        &["RESOURCE=note", "FIELDS=title:string"],
        "exists already",
    );
    refused(
        root,
        &["RESOURCE=Book", "FIELDS=title:string"],
        "snake_case",
    );
    refused(
        root,
        &["RESOURCE=book", "FIELDS=title:float"],
        "string, bool, int32, int64, uint32, double, bytes, timestamp",
    );
    refused(
        root,
        &["RESOURCE=type", "FIELDS=title:string"],
        "these are taken",
    );
    refused(
        root,
        &["RESOURCE=book", "FIELDS=title:string", "SERVICE=billing"],
        "it has: hello-scaffold",
    );

    let printed = make_ok(
        root,
        &[
            "scaffold",
            "RESOURCE=book",
            "FIELDS=title:string pages:int32 published:bool",
        ],
    );
    for names in [
        "plural     books (Books)",
        "table      books",
        "POST /v1/books, GET /v1/books/{id}",
        "api/books/v1/book.proto",
    ] {
        assert!(printed.contains(names), "should show {names:?}:\n{printed}");
    }
    let status = git_status(root);
    assert!(
        status.contains("internal/data/migrations/sqlite/") && status.contains("_create_books.sql"),
        "{status}"
    );
    refused(
        root,
        &["RESOURCE=book", "FIELDS=title:string"],
        "exists already",
    );

    // proto-add writes its first rules; proto-server registers its skeleton too.
    make_ok(root, &["proto-add", "NAME=api/library/v1/library.proto"]);
    make_ok(root, &["api"]);
    let openapi = std::fs::read_to_string(root.join("api/openapi.json")).expect("openapi");
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
    let printed = make_ok(
        root,
        &["proto-server", "PROTO=api/library/v1/library.proto"],
    );
    assert!(
        printed.contains("registered LibraryService in internal/server/src/grpc.rs"),
        "{printed}"
    );

    make_ok(root, &["lint"]);
    make_ok(root, &["test"]);
    cargo(root, &["build"]);

    let scratch = tempfile::tempdir().expect("scratch");
    let url = format!("sqlite://{}/data/books.db", scratch.path().display());
    let env = [(
        format!("{}__DATA__DATABASE__URL", SCAFFOLDED.env_prefix()),
        url,
    )];
    let service = Service::start_in(root, scratch.path(), SCAFFOLDED, &env);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let created: serde_json::Value = client
            .post(format!("http://{}/v1/books", service.http))
            .header("content-type", "application/json")
            .body(r#"{"title":"Dune","pages":412}"#)
            .send()
            .await
            .expect("POST /v1/books")
            .json()
            .await
            .expect("JSON");
        let id = created["id"].as_str().expect("an id").to_owned();
        assert_eq!(created["title"], "Dune", "{created}");

        let response = client
            .get(format!("http://{}/v1/books/{id}", service.http))
            .send()
            .await
            .expect("GET /v1/books/{id}");
        assert_eq!(response.status(), 200);
        let got: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(got, created);
        assert_eq!(got["pages"], 412);

        let over_grpc = get_book_over_grpc(service.grpc, &id).await;
        assert_eq!(
            over_grpc,
            Book {
                id,
                title: "Dune".into(),
                pages: 412,
                published: false,
            }
        );

        // The proto's rules guard the running binary too.
        let response = client
            .post(format!("http://{}/v1/books", service.http))
            .header("content-type", "application/json")
            .body(format!(r#"{{"title":"{}"}}"#, "a".repeat(1001)))
            .send()
            .await
            .expect("POST a long title");
        assert_eq!(response.status(), 400);
        let refusal: serde_json::Value = response.json().await.expect("JSON");
        assert_eq!(refusal["metadata"]["field"], "book.title", "{refusal}");

        // The skeleton proto-server registered is mounted: it answers 501.
        let response = client
            .get(format!("http://{}/v1/libraries/x", service.http))
            .send()
            .await
            .expect("GET a skeleton route");
        assert_eq!(response.status(), 501);
    });
    drop(service);
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn scaffolds_into_an_added_service() {
    let repo = generate(GROWN);
    let _target = exclusive(&repo.root);
    let root = &repo.root;
    git(root, &["init", "-q"]);
    commit_all(root, "generated");
    make_ok(root, &["service-add", "NAME=billing"]);
    commit_all(root, "billing");

    refused(
        root,
        &["RESOURCE=invoice", "FIELDS=total:int64", "SERVICE=shipping"],
        "it has: hello-grown, billing",
    );
    make_ok(
        root,
        &[
            "scaffold",
            "RESOURCE=invoice",
            "FIELDS=number:string total:int64 paid:optional:timestamp",
            "SERVICE=billing",
        ],
    );

    let status = git_status(root);
    for file in [
        "services/billing/api/invoices/v1/invoice.proto",
        "services/billing/internal/biz/src/invoices.rs",
        "services/billing/internal/data/src/invoices.rs",
        "services/billing/internal/service/src/invoices.rs",
        "services/billing/cmd/billing/tests/invoices.rs",
        " M services/billing/internal/server/src/grpc.rs",
    ] {
        assert!(status.contains(file), "{file} in:\n{status}");
    }
    assert!(
        !status
            .lines()
            .any(|line| !line.contains("services/billing/")),
        "only the billing service changes:\n{status}"
    );

    make_ok(root, &["lint"]);
    cargo(
        root,
        &[
            "test",
            "-p",
            "billing",
            "-p",
            "billing-biz",
            "-p",
            "billing-data",
            "-p",
            "billing-service",
        ],
    );
}
