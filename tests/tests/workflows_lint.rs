//! Fast tier: actionlint accepts strata's reusable workflow, strata's own workflow
//! and every generated workflow; the GitLab template and every generated
//! .gitlab-ci.yml pass GitLab's CI schema; every script a pipeline runs exists.

use std::path::PathBuf;

use strata_tests::shipping::{SHIPPED, files_under, read};
use strata_tests::validators::{actionlint, check_jsonschema, check_schema};
use strata_tests::{generate, template_root};

#[test]
fn actionlint_accepts_every_workflow() {
    let Some(actionlint) = actionlint() else {
        return;
    };
    let root = template_root();
    let mut workflows = vec![
        root.join("ci/github/rust-service.yml"),
        root.join(".github/workflows/ci.yml"),
    ];
    let mut repos = Vec::new();
    for variant in SHIPPED {
        let repo = generate(variant);
        workflows.extend(files_under(&repo.root.join(".github/workflows")));
        repos.push(repo);
    }
    assert_eq!(workflows.len(), 2 + 2 * SHIPPED.len(), "{workflows:?}");
    if let Err(findings) = actionlint.lint(&workflows) {
        panic!("actionlint:\n{findings}");
    }
}

#[test]
fn actionlint_rejects_a_broken_workflow() {
    let Some(actionlint) = actionlint() else {
        return;
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    let workflow = scratch.path().join("broken.yml");
    std::fs::write(
        &workflow,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ inputs.nope }}\n",
    )
    .expect("write");
    assert!(actionlint.lint(&[workflow]).is_err());
}

#[test]
fn gitlab_pipelines_pass_the_schema() {
    let Some(tool) = check_jsonschema() else {
        return;
    };
    let mut files = vec![template_root().join("ci/gitlab/rust-service.yml")];
    let mut repos = Vec::new();
    for variant in SHIPPED {
        let repo = generate(variant);
        let pipeline = repo.root.join(".gitlab-ci.yml");
        // The include resolves inside the generated repository.
        assert!(read(&repo.root, ".gitlab-ci.yml").contains("local: ci/gitlab/rust-service.yml"));
        assert!(
            repo.root.join("ci/gitlab/rust-service.yml").is_file(),
            "{}",
            variant.name
        );
        assert!(
            read(&repo.root, ".gitlab-ci.yml")
                .contains(&format!("RUST_SERVICE_DATABASE: {}", variant.database())),
            "{}",
            variant.name
        );
        files.push(pipeline);
        repos.push(repo);
    }
    if let Err(err) = check_schema(&tool, "vendor.gitlab-ci", &files) {
        panic!("GitLab CI schema:\n{err}");
    }
    let scratch = tempfile::tempdir().expect("temp dir");
    let broken = scratch.path().join(".gitlab-ci.yml");
    std::fs::write(&broken, "test:\n  script: 1\n  stage: [a]\n").expect("write");
    assert!(check_schema(&tool, "vendor.gitlab-ci", &[broken]).is_err());
}

/// `ci/scripts/<name>.sh` mentioned in `text`.
fn scripts_named(text: &str) -> Vec<String> {
    text.match_indices("ci/scripts/")
        .filter_map(|(at, prefix)| {
            let rest = &text[at + prefix.len()..];
            let name_len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            rest[name_len..]
                .starts_with(".sh")
                .then(|| format!("ci/scripts/{}.sh", &rest[..name_len]))
        })
        .collect()
}

#[test]
fn every_script_a_pipeline_runs_exists() {
    let root = template_root();
    for pipeline in ["ci/github/rust-service.yml", "ci/gitlab/rust-service.yml"] {
        let scripts = scripts_named(&read(&root, pipeline));
        assert!(scripts.len() >= 4, "{pipeline}: {scripts:?}");
        for script in scripts {
            assert!(
                root.join(&script).is_file(),
                "{pipeline} runs {script}, which is missing"
            );
        }
    }
}

#[test]
fn every_script_is_valid_bash() {
    let scripts: Vec<PathBuf> = files_under(&template_root().join("ci/scripts"));
    assert!(scripts.len() >= 5, "{scripts:?}");
    for script in scripts {
        let status = std::process::Command::new("bash")
            .arg("-n")
            .arg(&script)
            .status()
            .expect("bash runs");
        assert!(status.success(), "{} does not parse", script.display());
    }
}
