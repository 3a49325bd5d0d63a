//! Fast tier: the service skeleton `make service-add` renders
//! (template/strata/codegen/skeleton/) is the template's own service files, byte
//! for byte, and nothing else: `make skeleton` (run by `make sums`) writes it.

use std::path::{Path, PathBuf};

use strata_tests::template_root;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).expect("inside").to_path_buf());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn skeleton_is_the_template_service() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let fresh = scratch.path().join("skeleton");
    let output = std::process::Command::new("bash")
        .arg(template_root().join("tests/sync-skeleton.sh"))
        .env("SKELETON_DIR", &fresh)
        .output()
        .expect("bash runs");
    assert!(
        output.status.success(),
        "tests/sync-skeleton.sh failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let shipped = template_root().join("template/strata/codegen/skeleton");
    let expected = files(&fresh);
    assert!(
        expected
            .iter()
            .any(|file| file.ends_with("Cargo.toml.skel")),
        "the skeleton has the service's crates: {expected:?}"
    );
    assert_eq!(
        files(&shipped),
        expected,
        "template/strata/codegen/skeleton/ lists other files than the template's service: run make sums"
    );
    for file in expected {
        assert!(
            std::fs::read(fresh.join(&file)).ok() == std::fs::read(shipped.join(&file)).ok(),
            "template/strata/codegen/skeleton/{} differs from the template's file: run make sums",
            file.display()
        );
    }
}
