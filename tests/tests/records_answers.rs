//! Fast tier: a generated repository records its strata release and every answer in
//! `.strata-answers.toml`, which cargo-generate reads back: rendering again with
//! `--template-values-file` gives the same tree (what `make upgrade` relies on).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use strata_tests::{Variant, generate, template_root};

/// Every answer away from its default, and a description TOML must escape.
const ANSWERED: Variant = Variant {
    name: "answers-svc",
    defines: &[
        ("description", r#"Says "hi" \ back"#),
        ("database", "postgres"),
        ("http_port", "8080"),
        ("grpc_port", "9090"),
        ("admin_port", "9191"),
        ("docker", "false"),
        ("kubernetes", "false"),
        ("github_ci", "false"),
        ("gitlab_ci", "true"),
    ],
};

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let relative = path.strip_prefix(root).expect("under root").to_path_buf();
                found.insert(relative, std::fs::read(&path).expect("read"));
            }
        }
    }
    found
}

#[test]
fn answers_are_recorded_and_render_the_same_tree_again() {
    let first = generate(ANSWERED);
    let record = first.root.join(".strata-answers.toml");
    let text = std::fs::read_to_string(&record).expect(".strata-answers.toml is rendered");
    let table: toml::Table = text.parse().expect(".strata-answers.toml is TOML");
    let values = table["values"].as_table().expect("a [values] table");

    let version = std::fs::read_to_string(template_root().join("VERSION")).expect("VERSION");
    assert_eq!(values["strata_version"].as_str(), Some(version.trim()));
    assert_eq!(values["project-name"].as_str(), Some(ANSWERED.name));
    for (key, answer) in ANSWERED.defines {
        let recorded = match &values[*key] {
            toml::Value::String(text) => text.clone(),
            toml::Value::Boolean(flag) => flag.to_string(),
            other => panic!("{key} is recorded as {other}"),
        };
        assert_eq!(&recorded, answer, "{key}");
    }

    // Read back (the extra strata_version key is ignored): the same files, byte for byte.
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = Command::new("cargo")
        .args(["generate", "--path"])
        .arg(template_root())
        .args(["--name", ANSWERED.name, "--template-values-file"])
        .arg(&record)
        .args(["--silent", "--vcs", "none", "--destination"])
        .arg(scratch.path())
        .output()
        .expect("cargo generate runs (install it: make tools)");
    assert!(
        output.status.success(),
        "cargo generate --template-values-file failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (before, again) = (
        files(&first.root),
        files(&scratch.path().join(ANSWERED.name)),
    );
    let differ: Vec<_> = before
        .keys()
        .chain(again.keys())
        .filter(|path| before.get(*path) != again.get(*path))
        .collect();
    assert!(
        differ.is_empty(),
        "rendering from the record differs in {differ:?}"
    );
}
