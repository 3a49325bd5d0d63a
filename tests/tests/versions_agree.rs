//! Fast tier: one release number everywhere. VERSION (the tag `v<VERSION>`), the
//! version recorded in a generated repository (`.strata-answers.toml`), the
//! framework crates' versions and the workspace's `=x.y.z` pins on them all agree,
//! so `make upgrade` renders the release it says it does.

use std::path::Path;

use strata_tests::template_root;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display()))
}

fn toml_file(path: &Path) -> toml::Table {
    read(path)
        .parse()
        .unwrap_or_else(|err| panic!("{} is not TOML: {err}", path.display()))
}

#[test]
fn every_release_number_is_versions() {
    let root = template_root();
    let version = read(&root.join("VERSION")).trim().to_owned();
    let mut disagree = Vec::new();

    // The record is Liquid (bare `{{docker}}` booleans), so its version line is read as text.
    let answers = read(&root.join("template/.strata-answers.toml"));
    let recorded = answers
        .lines()
        .find_map(|line| line.strip_prefix("strata_version = "))
        .map(|value| value.trim_matches('"').to_owned());
    if recorded.as_deref() != Some(version.as_str()) {
        disagree.push(format!(
            "template/.strata-answers.toml strata_version = {recorded:?}"
        ));
    }

    let mut crates = Vec::new();
    for entry in std::fs::read_dir(root.join("template/strata")).expect("template/strata") {
        let dir = entry.expect("entry").path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let shown = format!(
            "template/strata/{}/Cargo.toml",
            dir.file_name().expect("a name").to_string_lossy()
        );
        let found = toml_file(&manifest)["package"]["version"].clone();
        if found.as_str() != Some(version.as_str()) {
            disagree.push(format!("{shown} version = {found}"));
        }
        crates.push(shown);
    }

    let workspace = toml_file(&root.join("template/Cargo.toml"));
    let dependencies = workspace["workspace"]["dependencies"]
        .as_table()
        .expect("[workspace.dependencies]");
    let mut pins = 0;
    for (name, spec) in dependencies {
        let is_framework = spec
            .get("path")
            .and_then(toml::Value::as_str)
            .is_some_and(|path| path.starts_with("strata/"));
        if is_framework {
            pins += 1;
            let pin = spec.get("version").and_then(toml::Value::as_str);
            if pin != Some(format!("={version}").as_str()) {
                disagree.push(format!("template/Cargo.toml {name} version = {pin:?}"));
            }
        }
    }
    assert_eq!(
        pins,
        crates.len(),
        "template/Cargo.toml pins each framework crate ({crates:?}) with `version = \"={version}\"`"
    );

    assert!(
        disagree.is_empty(),
        "VERSION says {version}, but:\n  {}\nBump them together when releasing (CHANGELOG.md, then `make sums`).",
        disagree.join("\n  ")
    );
}
