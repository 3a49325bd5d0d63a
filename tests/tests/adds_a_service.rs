//! Slow tier: `make service-add NAME=billing` in a generated repository adds a
//! second service under services/billing/ that lints, tests and runs beside the
//! first (each binary answering HTTP and gRPC on ports of its own), touching only
//! the shared files; the Cargo.lock it writes builds `--locked --offline`; and a
//! refused name writes nothing (`git status` stays clean).

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use strata_tests::shipping::yaml_file;
use strata_tests::validators::{
    check_jsonschema, check_schema, kubectl, kubernetes_validate, kustomize, validate_manifests,
};
use strata_tests::{Rendered, Service, Variant, cargo, exclusive, generate, grpc, make, make_ok};

const FIRST: Variant = Variant {
    name: "hello-services",
    defines: &[],
};
/// The added service, started as a variant of its own: binary `billing`, env
/// prefix `BILLING`.
const BILLING: Variant = Variant {
    name: "billing",
    defines: &[],
};

fn git(root: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=strata",
            "-c",
            "user.email=strata@example.com",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A generated repository, committed, so `git status` shows what a command wrote.
fn committed() -> Rendered {
    let repo = generate(FIRST);
    git(&repo.root, &["init", "-q"]);
    git(&repo.root, &["add", "-A"]);
    git(&repo.root, &["commit", "-qm", "generated"]);
    repo
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn refused_names_write_nothing() {
    let repo = committed();
    let _target = exclusive(&repo.root);
    let root = &repo.root;
    for (name, problem) in [
        ("fn", "`fn` is a Rust keyword"),
        ("test", "`test` is reserved by Rust/cargo"),
        ("9lives", "it starts with a digit"),
        ("Billing", "it has uppercase letters; use `billing`"),
        (
            "biz",
            "`biz` is the name of one of the generated workspace's crates",
        ),
        (
            "tokio",
            "`tokio` is the name of a crate the service depends on",
        ),
        ("hello-services", "a service of that name exists already"),
        ("hello_services", "a service of that name exists already"),
    ] {
        let refused = make(root, &["service-add", &format!("NAME={name}")]);
        assert!(
            !refused.ok,
            "service-add accepted {name:?}:\n{}",
            refused.text
        );
        assert!(
            refused
                .text
                .contains(&format!("invalid service name `{name}`: {problem}")),
            "{name}: {}",
            refused.text
        );
        assert!(
            refused.text.contains("make service-add NAME="),
            "{name}: says what to run instead: {}",
            refused.text
        );
        assert_eq!(
            git(root, &["status", "--porcelain", "--untracked-files=all"]),
            "",
            "service-add {name} wrote files"
        );
    }
    let usage = make(root, &["service-add"]);
    assert!(
        !usage.ok && usage.text.contains("usage: make service-add NAME="),
        "{}",
        usage.text
    );
}

/// The skeleton renders as cargo-generate renders the template: every file of the
/// added service but the ones moved under services/ on purpose (manifests, the
/// paths in build.rs, main.rs and the Dockerfile) is byte for byte the file of a
/// repository generated with its name, ports and description.
fn same_as_cargo_generate_renders(billing: &Path) {
    const DEFINES: &[(&str, &str)] = &[
        ("http_port", "8001"),
        ("grpc_port", "9001"),
        ("admin_port", "8082"),
        ("description", "The billing service"),
    ];
    let fresh = generate(Variant {
        name: "billing",
        defines: DEFINES,
    });
    let moved = ["Cargo.toml", "build.rs", "main.rs", "Dockerfile"];
    let mut compared = 0;
    for file in strata_tests::shipping::files_under(billing) {
        let relative = file.strip_prefix(billing).expect("inside");
        let name = relative
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let expected = fresh.root.join(relative);
        assert!(
            expected.is_file(),
            "services/billing/{} is not in a generated repository",
            relative.display()
        );
        if moved.contains(&name) {
            continue;
        }
        assert!(
            std::fs::read(&file).ok() == std::fs::read(&expected).ok(),
            "services/billing/{} differs from the generated file",
            relative.display()
        );
        compared += 1;
    }
    assert!(compared > 40, "compared {compared} files");
}

/// The compose stack with both services passes the Compose schema, and each
/// overlay of the new service renders to valid Kubernetes manifests, when the
/// validators are installed (`make tools`; a skip outside CI, a failure in it).
fn deploy_files_validate(root: &Path, billing: &Path) {
    for file in [
        "deploy/docker-compose.yaml",
        "deploy/prometheus/prometheus.yml",
    ] {
        yaml_file(root, file);
    }
    if let Some(tool) = check_jsonschema() {
        let compose = [root.join("deploy/docker-compose.yaml")];
        check_schema(&tool, "vendor.compose-spec", &compose)
            .unwrap_or_else(|err| panic!("compose-spec:\n{err}"));
    }
    if let (Some(kubectl), Some(validator)) = (kubectl(), kubernetes_validate()) {
        for overlay in ["dev", "prod"] {
            let dir = billing.join("deploy/kubernetes/overlays").join(overlay);
            let manifests = kustomize(&kubectl, &dir)
                .unwrap_or_else(|err| panic!("kustomize {overlay}: {err}"));
            assert!(manifests.contains("name: billing"), "{manifests}");
            validate_manifests(&validator, &manifests)
                .unwrap_or_else(|err| panic!("{overlay}: {err}"));
        }
    }
}

async fn answers_both_transports(service: &Service, who: &str) {
    let response = reqwest::get(format!("http://{}/helloworld/{who}", service.http))
        .await
        .expect("HTTP response");
    assert_eq!(response.status().as_u16(), 200, "{}", service.output());
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(body, json!({ "message": format!("Hello {who}") }));
    let reply = grpc::say_hello(service.grpc, who).await.expect("SayHello");
    assert_eq!(reply, format!("Hello {who}"));
}

#[tokio::test]
#[ignore = "slow tier: builds a generated repository (make test)"]
async fn a_second_service_lints_tests_and_runs_beside_the_first() {
    let repo = committed();
    let _target = exclusive(&repo.root);
    let root = &repo.root;

    let added = make_ok(root, &["service-add", "NAME=billing"]);
    assert!(
        added.contains("HTTP 8001, gRPC 9001, admin 8082"),
        "{added}"
    );
    // Only the shared files changed; everything else is new, under services/billing/.
    let changed = git(root, &["status", "--porcelain", "--untracked-files=no"]);
    let mut changed: Vec<&str> = changed.lines().map(|line| &line[3..]).collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [
            "Cargo.lock",
            "Cargo.toml",
            "README.md",
            "deploy/docker-compose.yaml",
            "deploy/prometheus/prometheus.yml"
        ]
    );
    let untracked = git(root, &["status", "--porcelain", "--untracked-files=all"]);
    for line in untracked.lines().filter(|line| line.starts_with("??")) {
        assert!(line.starts_with("?? services/billing/"), "{line}");
    }
    let billing = root.join("services/billing");
    for file in [
        "api/Cargo.toml",
        "cmd/billing/src/main.rs",
        "internal/biz/src/lib.rs",
        "internal/data/migrations/sqlite",
        "configs/config.yaml",
        "deploy/Dockerfile",
        "deploy/kubernetes/base/deployment.yaml",
        "deploy/kubernetes/overlays/prod/kustomization.yaml",
    ] {
        assert!(billing.join(file).exists(), "services/billing/{file}");
    }
    let config = std::fs::read_to_string(billing.join("configs/config.yaml")).expect("config");
    for addr in [
        "addr: 0.0.0.0:8001",
        "addr: 0.0.0.0:9001",
        // Spans are named after the binary unless OTEL_SERVICE_NAME says otherwise.
        "Empty: OTEL_SERVICE_NAME, else billing.",
    ] {
        assert!(config.contains(addr), "billing's config has {addr}");
    }
    let manifest =
        std::fs::read_to_string(billing.join("internal/service/Cargo.toml")).expect("manifest");
    assert!(
        manifest.contains("name = \"billing-service\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("biz = { package = \"billing-biz\", path = \"../biz\" }"),
        "{manifest}"
    );
    // The shared protos, for the build and for cargo's rebuild check.
    let build = std::fs::read_to_string(billing.join("api/build.rs")).expect("build.rs");
    assert!(!build.contains("\"../third_party"), "{build}");
    assert!(
        build.contains("rerun-if-changed=../../../third_party"),
        "{build}"
    );
    let compose =
        std::fs::read_to_string(root.join("deploy/docker-compose.yaml")).expect("compose");
    assert!(
        compose.contains("dockerfile: services/billing/deploy/Dockerfile"),
        "{compose}"
    );
    assert!(compose.contains("\"8001:8001\""), "{compose}");
    let prometheus =
        std::fs::read_to_string(root.join("deploy/prometheus/prometheus.yml")).expect("prometheus");
    assert!(
        prometheus.contains("- targets: [\"billing:8082\"]"),
        "{prometheus}"
    );

    same_as_cargo_generate_renders(&billing);
    deploy_files_validate(root, &billing);

    // A second service of that name is refused, and writes nothing.
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "billing"]);
    let again = make(root, &["service-add", "NAME=billing"]);
    assert!(!again.ok, "{}", again.text);
    assert!(
        again.text.contains("invalid service name `billing`: a service of that name exists already (services/billing)"),
        "{}",
        again.text
    );
    assert_eq!(
        git(root, &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );

    // The lock holds the new crates: `fetch --locked` refuses a lock that
    // needs changing, and once the crates are here it builds with no network
    // (the fetch is what a fresh machine's empty registry cache needs).
    cargo(root, &["fetch", "--locked"]);
    cargo(root, &["build", "--locked", "--offline"]);
    make_ok(root, &["lint"]);
    make_ok(root, &["test"]);
    let run = make_ok(root, &["-n", "run", "SERVICE=billing"]);
    assert!(
        run.contains("run -p billing -- --conf services/billing/configs/config.yaml"),
        "{run}"
    );
    assert_eq!(
        git(root, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );

    // Both binaries at once, each on ports of its own (free ones, through each
    // service's own environment prefix).
    let scratch = tempfile::tempdir().expect("temp dir");
    let start = |repo: &Path, variant: Variant| {
        let dir = scratch.path().join(variant.name);
        std::fs::create_dir_all(dir.join("data")).expect("data dir");
        let url = format!("sqlite://{}/data/{}.db", dir.display(), variant.name);
        let env = [(
            format!("{}__DATA__DATABASE__URL", variant.env_prefix()),
            url,
        )];
        Service::start_in(repo, &dir, variant, &env)
    };
    let first = start(root, FIRST);
    let second = start(&billing, BILLING);
    assert_ne!(first.http, second.http);
    answers_both_transports(&first, "first").await;
    answers_both_transports(&second, "billing").await;
    for service in [first, second] {
        let (exit, output) = service.terminate();
        assert!(
            exit.success(),
            "exit status {exit} after SIGTERM:\n{output}"
        );
    }
}
