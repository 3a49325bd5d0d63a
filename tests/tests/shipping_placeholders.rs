//! Fast tier: the shipping placeholders (docker, kubernetes, github_ci, gitlab_ci)
//! each keep or drop their files whole, and the Makefile offers exactly the targets
//! whose files exist, each listed by `make help`.

use strata_tests::shipping::{SHIPPED, database_choices, read};
use strata_tests::{Made, Variant, generate, make};

#[test]
fn covers_every_database() {
    let shipped: Vec<&str> = SHIPPED.iter().map(|variant| variant.database()).collect();
    assert_eq!(
        shipped,
        database_choices(),
        "tests/src/shipping.rs SHIPPED must list every database choice"
    );
}

const DOCKER_FILES: [&str; 5] = [
    "deploy/Dockerfile",
    ".dockerignore",
    "deploy/docker-compose.yaml",
    "deploy/prometheus/prometheus.yml",
    "deploy/grafana/dashboards/red.json",
];

#[test]
fn defaults_ship_docker_kubernetes_and_github() {
    let repo = generate(Variant::SQLITE);
    for path in DOCKER_FILES.into_iter().chain([
        "deploy/kubernetes/base/kustomization.yaml",
        "deploy/kubernetes/overlays/dev/kustomization.yaml",
        "deploy/kubernetes/overlays/prod/kustomization.yaml",
        ".github/workflows/ci.yml",
        ".github/workflows/rust-service.yml",
        "ci/scripts/rust-checks.sh",
        "deny.toml",
    ]) {
        assert!(repo.root.join(path).is_file(), "{path} is missing");
    }
    // GitLab CI is opt-in.
    assert!(!repo.root.join(".gitlab-ci.yml").exists());
    assert!(!repo.root.join("ci/gitlab").exists());

    let Made { ok, text: help } = make(&repo.root, &["help"]);
    assert!(ok, "{help}");
    for target in ["docker", "compose-up", "compose-down", "k8s-render", "deny"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(&format!("{target} "))),
            "`make help` does not list {target}:\n{help}"
        );
    }
    // Dry runs: each target exists and says what it would run.
    for (target, command) in [
        (
            "docker",
            "docker build -f deploy/Dockerfile -t hello-sqlite:dev .",
        ),
        (
            "compose-up",
            "docker compose -f deploy/docker-compose.yaml up --build --detach",
        ),
        (
            "compose-down",
            "docker compose -f deploy/docker-compose.yaml down",
        ),
        (
            "k8s-render",
            "kubectl kustomize deploy/kubernetes/overlays/dev",
        ),
        ("deny", "cargo deny check"),
    ] {
        let Made { ok, text: out } = make(&repo.root, &["-n", target]);
        assert!(ok && out.contains(command), "make -n {target}:\n{out}");
    }
}

#[test]
fn each_placeholder_drops_its_files() {
    let repo = generate(Variant {
        name: "ship-bare",
        defines: &[
            ("docker", "false"),
            ("kubernetes", "false"),
            ("github_ci", "false"),
            ("gitlab_ci", "false"),
        ],
    });
    for path in DOCKER_FILES {
        assert!(!repo.root.join(path).exists(), "{path} is still there");
    }
    for path in ["deploy", ".github", ".gitlab-ci.yml", "ci"] {
        assert!(!repo.root.join(path).exists(), "{path} is still there");
    }
    assert!(
        repo.root.join("deny.toml").is_file(),
        "cargo-deny is not a shipping choice"
    );
    let makefile = read(&repo.root, "Makefile");
    for target in ["docker:", "compose-up:", "compose-down:", "k8s-render:"] {
        assert!(!makefile.contains(target), "{target} without its files");
    }
    assert!(makefile.contains("deny:"));
    let Made { ok, text: help } = make(&repo.root, &["help"]);
    assert!(ok, "{help}");
}

#[test]
fn gitlab_alone_keeps_the_shared_scripts() {
    let repo = generate(Variant {
        name: "ship-gitlab",
        defines: &[
            ("github_ci", "false"),
            ("gitlab_ci", "true"),
            ("docker", "false"),
        ],
    });
    assert!(!repo.root.join(".github").exists());
    assert!(repo.root.join(".gitlab-ci.yml").is_file());
    assert!(repo.root.join("ci/gitlab/rust-service.yml").is_file());
    assert!(repo.root.join("ci/scripts/rust-checks.sh").is_file());
    let pipeline = read(&repo.root, ".gitlab-ci.yml");
    assert!(
        pipeline.contains("RUST_SERVICE_DOCKER: \"false\""),
        "{pipeline}"
    );
}
