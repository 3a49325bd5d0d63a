//! Fast tier: deploy/Dockerfile passes hadolint and is what docs/deploy.md says:
//! a cached dependency stage, a release build, a distroless runtime running as a
//! non-root user, both ports exposed, the config at /app/configs/config.yaml, and
//! probes on /healthz and /readyz in place of a HEALTHCHECK the image cannot run.

use strata_tests::shipping::{SHIPPED, admin_port_set_in, configured_port, read};
use strata_tests::validators::hadolint;
use strata_tests::{Variant, generate};

/// Instructions with their arguments, continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let joined = dockerfile.replace("\\\n", " ");
    joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
            (keyword.to_uppercase(), rest.trim().to_owned())
        })
        .collect()
}

fn args<'a>(instructions: &'a [(String, String)], keyword: &str) -> Vec<&'a str> {
    instructions
        .iter()
        .filter(|(found, _)| found == keyword)
        .map(|(_, rest)| rest.as_str())
        .collect()
}

#[test]
fn hadolint_accepts_the_dockerfile() {
    let Some(hadolint) = hadolint() else {
        return;
    };
    let ports = Variant {
        name: "ship-ports",
        defines: &[("http_port", "18080"), ("grpc_port", "19090")],
    };
    for variant in SHIPPED.into_iter().chain([ports]) {
        let repo = generate(variant);
        let dockerfile = repo.root.join("deploy/Dockerfile");
        if let Err(findings) = hadolint.run([&dockerfile]) {
            panic!("{}: hadolint:\n{findings}", variant.name);
        }
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let broken = scratch.path().join("Dockerfile");
    std::fs::write(
        &broken,
        "FROM debian\nRUN cd /tmp && apt-get install curl\n",
    )
    .expect("write");
    assert!(hadolint.run([&broken]).is_err());
}

#[test]
fn the_image_is_what_the_docs_say() {
    for variant in SHIPPED {
        let name = variant.name;
        let repo = generate(variant);
        let text = read(&repo.root, "deploy/Dockerfile");
        let steps = instructions(&text);

        let stages: Vec<&str> = args(&steps, "FROM")
            .iter()
            .map(|from| from.rsplit(" AS ").next().expect("stage name"))
            .collect();
        assert_eq!(stages, ["chef", "planner", "builder", "runtime"], "{name}");
        let runtime = args(&steps, "FROM")[3];
        assert!(
            runtime.starts_with("gcr.io/distroless/cc-debian12:nonroot"),
            "{name}: {runtime}"
        );

        // Dependencies are cooked before the sources are copied into the builder.
        let runs = args(&steps, "RUN");
        assert!(
            runs.iter()
                .any(|run| run.starts_with("cargo chef cook --release")),
            "{name}"
        );
        assert!(
            runs.iter()
                .any(|run| run.starts_with(&format!("cargo build --release --bin {name}"))),
            "{name}: {runs:?}"
        );

        let users = args(&steps, "USER");
        assert_eq!(
            users,
            ["65532:65532"],
            "{name}: the last USER is the non-root one"
        );

        let http = configured_port(&repo.root, "http");
        let grpc = configured_port(&repo.root, "grpc");
        let admin = admin_port_set_in(&repo.root, "deploy/Dockerfile", &variant.env_prefix());
        assert_eq!(
            args(&steps, "EXPOSE"),
            [format!("{http} {grpc} {admin}")],
            "{name}: the API ports and the admin port that ENV sets"
        );

        assert_eq!(
            args(&steps, "ENTRYPOINT"),
            [format!("[\"/app/{name}\"]")],
            "{name}"
        );
        assert_eq!(
            args(&steps, "CMD"),
            ["[\"--conf\", \"/app/configs/config.yaml\"]"],
            "{name}"
        );
        assert!(
            args(&steps, "COPY").contains(&"configs /app/configs"),
            "{name}"
        );
        assert!(repo.root.join("configs/config.yaml").is_file());

        // No HEALTHCHECK (no shell in distroless): the probes are documented instead,
        // and the Kubernetes Deployment runs them.
        assert!(args(&steps, "HEALTHCHECK").is_empty(), "{name}");
        assert!(
            text.contains("GET /healthz") && text.contains("GET /readyz"),
            "{name}"
        );
        let deployment = read(&repo.root, "deploy/kubernetes/base/deployment.yaml");
        assert!(deployment.contains("path: /healthz") && deployment.contains("path: /readyz"));

        let ignore = read(&repo.root, ".dockerignore");
        for excluded in ["/target", ".git", "/data"] {
            assert!(
                ignore.lines().any(|line| line == excluded),
                "{name}: {excluded}"
            );
        }
    }
}
