//! Slow tier: `make upgrade` moves a service generated from one strata release to
//! the next while keeping what the team wrote. A copy of this repository is
//! released twice (v0.1.0, then v0.2.0 with a framework, Makefile, deploy and
//! config change); a service generated from the first, edited by its team, is
//! upgraded to the second: edits merged, same-line edits marked as conflicts, a
//! dirty tree and a local framework edit refused, the plan writing nothing, and
//! the result, once resolved, linting and testing clean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use strata_tests::{cargo, make, make_ok, template_root};

/// As long as `hello-sqlite`: code holding the crate name formats the same.
const NAME: &str = "upgraded-svc";

#[test]
#[ignore = "slow tier: renders two releases and builds the upgraded repository (make test)"]
fn upgrade_merges_team_edits_and_marks_conflicts() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let template = scratch.path().join("strata");
    release_a(&template);
    let service = generate(&template, scratch.path());
    team_edits(&service);
    release_b(&template);
    let template_arg = format!("TEMPLATE={}", template.display());

    // A dirty tree is refused, and nothing changes.
    std::fs::write(service.join("scratch-notes.txt"), "wip\n").expect("write");
    let before = snapshot(&service);
    let refused = make(&service, &["upgrade", &template_arg]);
    assert!(
        !refused.ok,
        "upgrade ran on a dirty tree:\n{}",
        refused.text
    );
    assert!(
        refused.text.contains("uncommitted changes"),
        "{}",
        refused.text
    );
    assert_eq!(snapshot(&service), before, "a refused upgrade wrote files");
    std::fs::remove_file(service.join("scratch-notes.txt")).expect("remove");

    // The plan lists what would happen and writes nothing.
    let before = snapshot(&service);
    let plan = make(&service, &["upgrade-plan", &template_arg]);
    assert!(plan.ok, "upgrade-plan failed:\n{}", plan.text);
    for line in [
        "conflict   configs/config.yaml",
        "merged     Makefile",
        "strata/ replaced whole",
    ] {
        assert!(
            plan.text.contains(line),
            "the plan should say {line:?}:\n{}",
            plan.text
        );
    }
    assert_eq!(git_status(&service), "", "upgrade-plan changed the tree");
    assert_eq!(snapshot(&service), before, "upgrade-plan wrote files");

    // A local edit under strata/ fails the integrity check and blocks the upgrade.
    let framework_file = "strata/runtime/src/lib.rs";
    append(&service.join(framework_file), "// a local framework edit\n");
    let verify = make(&service, &["verify-strata"]);
    assert!(!verify.ok, "verify-strata passed a local framework edit");
    assert!(
        verify.text.contains(&format!("changed  {framework_file}")),
        "{}",
        verify.text
    );
    assert!(
        verify.text.contains("git checkout -- strata/"),
        "{}",
        verify.text
    );
    git(&service, &["commit", "-qam", "Edit the framework"]);
    let before = snapshot(&service);
    let blocked = make(&service, &["upgrade", &template_arg]);
    assert!(
        !blocked.ok,
        "upgrade replaced an edited strata/:\n{}",
        blocked.text
    );
    assert!(blocked.text.contains(framework_file), "{}", blocked.text);
    assert!(
        blocked.text.contains("Nothing was written"),
        "{}",
        blocked.text
    );
    assert_eq!(snapshot(&service), before, "a blocked upgrade wrote files");
    git(&service, &["reset", "-q", "--hard", "HEAD~1"]);

    // The upgrade: merges, one conflict, a non-zero exit.
    let upgraded = make(&service, &["upgrade", &template_arg]);
    assert!(
        !upgraded.ok,
        "a conflict must fail the upgrade:\n{}",
        upgraded.text
    );
    assert!(
        upgraded.text.contains("conflict   configs/config.yaml"),
        "{}",
        upgraded.text
    );
    let read = |path: &str| std::fs::read_to_string(service.join(path)).expect("readable");
    let config = read("configs/config.yaml");
    for expected in [
        "<<<<<<< yours",
        "shutdown_grace: 20s",
        "shutdown_grace: 15s",
        ">>>>>>> strata 0.2.0",
    ] {
        assert!(
            config.contains(expected),
            "configs/config.yaml lacks {expected:?}:\n{config}"
        );
    }
    assert!(
        read("internal/biz/src/lib.rs").contains("TEAM_EDIT"),
        "the team's biz edit was lost"
    );
    let makefile = read("Makefile");
    assert!(
        makefile.contains("(debug build)"),
        "the template's Makefile change is missing"
    );
    assert!(
        makefile.contains("team-target:"),
        "the team's Makefile target was lost"
    );
    assert!(read("deploy/kubernetes/base/deployment.yaml").starts_with("# Release B."));
    assert!(
        read(framework_file).ends_with("// Release B.\n"),
        "strata/ was not replaced"
    );
    assert!(read(".strata-answers.toml").contains("strata_version = \"0.2.0\""));
    assert!(
        make(&service, &["verify-strata"]).ok,
        "the new strata/ fails its own check"
    );

    // Resolved (keeping the team's value), it lints and tests clean.
    resolve_keeping_ours(&service.join("configs/config.yaml"));
    assert!(read("configs/config.yaml").contains("shutdown_grace: 20s\n"));
    let lint = make(&service, &["lint"]);
    assert!(lint.ok, "make lint after the upgrade:\n{}", lint.text);
    cargo(&service, &["test"]);

    git(&service, &["add", "-A"]);
    git(&service, &["commit", "-qm", "Upgrade strata to 0.2.0"]);
    let again = make(&service, &["upgrade", &template_arg]);
    assert!(
        again.ok && again.text.contains("already on strata 0.2.0"),
        "{}",
        again.text
    );
}

/// This repository as it is now, committed and tagged v0.1.0 in `dir`.
fn release_a(dir: &Path) {
    let listed = run(Command::new("git")
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .current_dir(template_root()));
    for file in listed.split('\0').filter(|file| !file.is_empty()) {
        let (from, to) = (template_root().join(file), dir.join(file));
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("create dir");
        std::fs::copy(&from, &to).unwrap_or_else(|err| panic!("copy {file}: {err}"));
    }
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "Release A"]);
    git(dir, &["tag", "v0.1.0"]);
}

/// The next release: versions bumped together, and one change each to a
/// framework file, the Makefile, a deploy file and the config value the team edits.
fn release_b(dir: &Path) {
    std::fs::write(dir.join("VERSION"), "0.2.0\n").expect("write VERSION");
    for entry in std::fs::read_dir(dir.join("template/strata")).expect("template/strata") {
        let manifest = entry.expect("entry").path().join("Cargo.toml");
        if manifest.is_file() {
            replace(&manifest, "\nversion = \"0.1.0\"", "\nversion = \"0.2.0\"");
        }
    }
    replace_all(
        &dir.join("template/Cargo.toml"),
        "version = \"=0.1.0\"",
        "version = \"=0.2.0\"",
    );
    replace(
        &dir.join("template/.strata-answers.toml"),
        "strata_version = \"0.1.0\"",
        "strata_version = \"0.2.0\"",
    );
    append(
        &dir.join("template/strata/runtime/src/lib.rs"),
        "// Release B.\n",
    );
    replace(&dir.join("template/Makefile"), "(debug)", "(debug build)");
    let deployment = dir.join("template/deploy/kubernetes/base/deployment.yaml");
    let text = std::fs::read_to_string(&deployment).expect("deployment.yaml");
    std::fs::write(&deployment, format!("# Release B.\n{text}")).expect("write");
    replace(
        &dir.join("template/configs/config.yaml"),
        "shutdown_grace: 10s",
        "shutdown_grace: 15s",
    );
    make_ok(dir, &["sums"]);
    git(dir, &["commit", "-qam", "Release B"]);
    git(dir, &["tag", "v0.2.0"]);
}

/// A service generated from `template`, committed with its lock file.
fn generate(template: &Path, into: &Path) -> PathBuf {
    run(Command::new("cargo")
        .args(["generate", "--path"])
        .arg(template)
        .args(["--name", NAME, "--silent", "--vcs", "none", "--destination"])
        .arg(into));
    let service = into.join(NAME);
    cargo(&service, &["metadata", "--format-version", "1"]);
    git(&service, &["init", "-q"]);
    git(&service, &["add", "-A"]);
    git(&service, &["commit", "-qm", "Generated by strata 0.1.0"]);
    service
}

/// A biz edit, a Makefile target and a config value, committed.
fn team_edits(service: &Path) {
    append(
        &service.join("internal/biz/src/lib.rs"),
        "\n/// The team's own code.\npub const TEAM_EDIT: &str = \"kept\";\n",
    );
    append(
        &service.join("Makefile"),
        "\n.PHONY: team-target\nteam-target: ## The team's own target\n\t@echo team\n",
    );
    replace(
        &service.join("configs/config.yaml"),
        "shutdown_grace: 10s",
        "shutdown_grace: 20s",
    );
    git(service, &["commit", "-qam", "Team edits"]);
}

/// Keeps our side of every conflict in `file`.
fn resolve_keeping_ours(file: &Path) {
    let text = std::fs::read_to_string(file).expect("readable");
    let mut resolved = String::new();
    let mut side = "none";
    for line in text.split_inclusive('\n') {
        side = match (side, line) {
            (_, l) if l.starts_with("<<<<<<< ") => "ours",
            ("ours", "=======\n") => "theirs",
            ("theirs", l) if l.starts_with(">>>>>>> ") => "none",
            (side, line) => {
                if side != "theirs" {
                    resolved.push_str(line);
                }
                side
            }
        };
    }
    std::fs::write(file, resolved).expect("writable");
}

/// Every file of `dir` but `.git`, with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.file_name().is_some_and(|name| name == ".git") {
            continue;
        }
        if path.is_dir() {
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), std::fs::read(&path).expect("read"));
        }
    }
    files
}

fn git(dir: &Path, args: &[&str]) -> String {
    run(Command::new("git")
        .args([
            "-c",
            "user.name=strata tests",
            "-c",
            "user.email=tests@strata.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir))
}

fn git_status(dir: &Path) -> String {
    git(dir, &["status", "--porcelain"])
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("{command:?}: {err}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn replace(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("readable");
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("writable");
}

fn append(file: &Path, tail: &str) {
    let text = std::fs::read_to_string(file).expect("readable");
    std::fs::write(file, format!("{text}{tail}")).expect("writable");
}

fn replace_all(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("readable");
    assert!(text.contains(from), "{} has no {from:?}", file.display());
    std::fs::write(file, text.replace(from, to)).expect("writable");
}
