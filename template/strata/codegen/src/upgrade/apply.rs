//! Writing a [`Plan`] into the team's repository, and refreshing `Cargo.lock`.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use super::decide::LOCK_FILE;
use super::plan::{Action, Plan};
use super::process::output;

/// Writes every change of `plan` under `root`: `strata/` replaced, the other
/// files updated, merged, added or removed.
pub fn apply(root: &Path, plan: &Plan) -> Result<()> {
    for path in &plan.strata_removals {
        remove(root, path)?;
    }
    for path in &plan.strata_writes {
        let bytes = std::fs::read(plan.new_root.join(path))
            .with_context(|| format!("cannot read the new release's {path}"))?;
        write(root, path, &bytes, &plan.new_root)?;
    }
    for change in &plan.changes {
        match (&change.action, &change.bytes) {
            (Action::Remove, _) => remove(root, &change.path)?,
            (_, Some(bytes)) => write(root, &change.path, bytes, &plan.new_root)?,
            (_, None) => {}
        }
    }
    Ok(())
}

/// Lets cargo bring `Cargo.lock` in line with the upgraded manifests (new strata
/// version, and what the team added if the lock was replaced). Returns what to
/// tell the team.
pub fn refresh_lock(root: &Path, plan: &Plan) -> Result<Option<String>> {
    if !root.join(LOCK_FILE).is_file() {
        return Ok(None);
    }
    let manifest_conflict = plan
        .conflicts()
        .any(|change| change.path.ends_with("Cargo.toml"));
    let replaced = plan
        .changes
        .iter()
        .any(|change| change.action == Action::Lock);
    if manifest_conflict {
        return Ok(Some(
            "Cargo.lock: resolve the Cargo.toml conflicts, then run `cargo metadata --format-version 1 >/dev/null` (or any cargo build) to update it".to_owned(),
        ));
    }
    let lock = root.join(LOCK_FILE);
    let before = std::fs::read(&lock).ok();
    let result = output(
        Command::new("cargo")
            .args(["metadata", "--format-version", "1"])
            .current_dir(root)
            .stdout(Stdio::null()),
    )?;
    let changed = std::fs::read(&lock).ok() != before;
    let what = match (changed, replaced) {
        (false, _) => "Cargo.lock: as the new release resolves it (cargo changed nothing)",
        (true, true) => "Cargo.lock: took the new release's and let cargo re-add your dependencies",
        (true, false) => "Cargo.lock: updated by cargo for the new manifests",
    };
    Ok(Some(if result.status.success() {
        what.to_owned()
    } else {
        format!(
            "Cargo.lock: `cargo metadata` failed, run it again once the build is fixed:\n{}",
            String::from_utf8_lossy(&result.stderr)
        )
    }))
}

fn write(root: &Path, path: &str, bytes: &[u8], new_root: &Path) -> Result<()> {
    let target = root.join(path);
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let existed = target.exists();
    std::fs::write(&target, bytes).with_context(|| format!("cannot write {}", target.display()))?;
    if !existed {
        // A new file gets the release's permissions (strata/verify.sh is executable).
        if let Ok(metadata) = std::fs::metadata(new_root.join(path)) {
            std::fs::set_permissions(&target, metadata.permissions())
                .with_context(|| format!("cannot set the permissions of {}", target.display()))?;
        }
    }
    Ok(())
}

/// Removes `path` and then its parent directories that became empty.
fn remove(root: &Path, path: &str) -> Result<()> {
    let target = root.join(path);
    std::fs::remove_file(&target).with_context(|| format!("cannot remove {}", target.display()))?;
    let mut dir = target.parent();
    while let Some(parent) = dir.filter(|dir| *dir != root) {
        if std::fs::remove_dir(parent).is_err() {
            break; // not empty
        }
        dir = parent.parent();
    }
    Ok(())
}
