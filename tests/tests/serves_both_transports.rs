//! Slow tier: the built binary of each variant answers SayHello on gRPC and HTTP,
//! answers the quickstart `curl` commands of both READMEs as written, reports
//! itself alive and ready, counts both calls in /metrics (which promtool
//! accepts), refuses a bad config naming the key, and exits 0 on SIGTERM.

use std::process::Command;

use serde_json::{Value, json};
use strata_tests::process::shared_target_dir;
use strata_tests::quickstart::{curl_commands, send};
use strata_tests::{
    Rendered, Service, TestDatabase, Variant, cargo, database_available, generate, grpc,
    promtool_available, promtool_check,
};

/// Env overrides that point the variant at a database the test owns.
fn database_env(variant: Variant, database: &TestDatabase) -> Vec<(String, String)> {
    vec![(
        format!("{}__DATA__DATABASE__URL", variant.env_prefix()),
        database.url.clone(),
    )]
}

async fn http_get(service: &Service, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("http://{}{path}", service.http))
        .await
        .expect("HTTP response");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

async fn serves_both_transports(variant: Variant) {
    let repo = generate(variant);
    cargo(&repo.root, &["build"]);
    let database = TestDatabase::create(variant, &repo.root);
    let service = Service::start(&repo.root, variant, &database_env(variant, &database));

    let (status, body) = http_get(&service, "/helloworld/world").await;
    assert_eq!(status, 200, "{}", service.output());
    assert_eq!(body, json!({ "message": "Hello world" }));

    let reply = grpc::say_hello(service.grpc, "grpc")
        .await
        .expect("SayHello");
    assert_eq!(reply, "Hello grpc");

    let (status, body) = http_get(&service, &format!("/helloworld/{}", "x".repeat(65))).await;
    assert_eq!(status, 400);
    assert_eq!(body["reason"], "INVALID_ARGUMENT");
    let err = grpc::say_hello(service.grpc, "")
        .await
        .expect_err("empty name");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);

    let metrics = reqwest::get(format!("http://{}/metrics", service.http))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for line in [
        r#"server_requests_total{transport="http",operation="/helloworld.v1.Greeter/SayHello",code="200",reason=""} 1"#,
        r#"server_requests_total{transport="grpc",operation="/helloworld.v1.Greeter/SayHello",code="200",reason=""} 1"#,
        r#"server_requests_total{transport="grpc",operation="/helloworld.v1.Greeter/SayHello",code="400",reason="INVALID_ARGUMENT"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in:\n{metrics}");
    }
    if promtool_available() {
        promtool_check(&metrics).unwrap_or_else(|complaint| panic!("promtool: {complaint}"));
    }

    answers_the_quickstart(&service, &repo).await;

    for probe in ["/healthz", "/readyz"] {
        let (status, body) = http_get(&service, probe).await;
        assert_eq!(
            (status, body),
            (200, json!({ "status": "SERVING" })),
            "{probe}"
        );
    }

    let (exit, output) = service.terminate();
    assert!(
        exit.success(),
        "exit status {exit} after SIGTERM:\n{output}"
    );
    assert!(output.contains("shutdown requested"), "{output}");

    // The rolling log file (configs/config.yaml: log.file) got the access lines.
    let logs: String = std::fs::read_dir(repo.root.join("logs"))
        .expect("logs/ written")
        .map(|entry| std::fs::read_to_string(entry.expect("entry").path()).expect("log file"))
        .collect();
    assert!(
        logs.lines()
            .any(|line| line.contains(r#""message":"access""#)
                && line.contains(r#""operation":"/helloworld.v1.Greeter/SayHello""#)),
        "no access line in the log file:\n{logs}"
    );
}

/// The `curl` lines of this repository's README and of the generated one, sent as
/// curl sends them (`-d` without `-H` is a form): each answers 2xx, with the JSON
/// its comment shows when it shows JSON, and a note created is listed.
async fn answers_the_quickstart(service: &Service, repo: &Rendered) {
    let ours = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let generated = std::fs::read_to_string(repo.root.join("README.md")).expect("README.md");
    for readme in [ours, generated] {
        let commands = curl_commands(&readme);
        assert!(
            commands.iter().any(|curl| curl.method == "POST"),
            "{commands:#?}"
        );
        let mut created = None;
        for curl in commands {
            let (status, body) = send(&curl, service.http).await;
            assert!(
                (200..300).contains(&status),
                "{}: {status} {body}\n{}",
                curl.line,
                service.output()
            );
            let reply: Option<Value> = serde_json::from_str(&body).ok();
            if let Some(expected) = &curl.expected {
                assert_eq!(reply.as_ref(), Some(expected), "{}", curl.line);
            }
            if curl.method == "POST" && curl.path == "/v1/notes" {
                created = reply.and_then(|note| note["id"].as_str().map(str::to_owned));
            } else if curl.path == "/v1/notes" {
                // The other README's notes may fill the first page, so the new one
                // need not be listed there: it is fetched by id below.
                let listed = reply.as_ref().and_then(|list| list["notes"].as_array());
                assert!(listed.is_some(), "{}: {body}", curl.line);
            }
        }
        let id = created.expect("the README creates a note");
        let (status, note) = http_get(service, &format!("/v1/notes/{id}")).await;
        assert_eq!(status, 200, "the note the README created: {note}");
        assert_eq!(note["title"], "first", "{note}");
    }
}

fn refuses_a_bad_config_value(variant: Variant) {
    let repo = generate(variant);
    cargo(&repo.root, &["build"]);
    let output = Command::new(shared_target_dir().join("debug").join(variant.name))
        .current_dir(&repo.root)
        .env(
            format!("{}__SERVER__HTTP__ADDR", variant.env_prefix()),
            "not-an-address",
        )
        .output()
        .expect("binary runs");

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The message names the variable that set the bad value, and the key.
    let variable = format!("{}__SERVER__HTTP__ADDR", variant.env_prefix());
    assert!(
        stderr.contains(&format!("config environment variable {variable}")),
        "{stderr}"
    );
    assert!(stderr.contains("server.http.addr"), "{stderr}");
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn sqlite_variant_serves_both_transports() {
    serves_both_transports(Variant::SQLITE).await;
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn postgres_variant_serves_both_transports() {
    if database_available(Variant::POSTGRES) {
        serves_both_transports(Variant::POSTGRES).await;
    }
}

#[tokio::test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
async fn mysql_variant_serves_both_transports() {
    if database_available(Variant::MYSQL) {
        serves_both_transports(Variant::MYSQL).await;
    }
}

#[test]
#[ignore = "slow tier: builds and runs a generated service (make test)"]
fn sqlite_variant_refuses_a_bad_config_value() {
    refuses_a_bad_config_value(Variant::SQLITE);
}
