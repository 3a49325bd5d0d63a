//! Everything an upgrade will write, computed from the two renders and the team's
//! files before anything is written.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::decide::{Decision, decide};
use super::merge::merge;
use super::tree::{self, Tree};

/// The framework's folder, replaced whole.
pub const STRATA: &str = "strata/";

/// What happens to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Replaced by the new render (the team never edited it).
    Update,
    /// The team's edits and the template's merged cleanly.
    Merge,
    /// Merged with this many conflicts marked in the file.
    Conflict(u32),
    /// A new template file.
    Add,
    /// Dropped by the template, never edited by the team.
    Remove,
    /// The new render's `Cargo.lock`; cargo then re-adds the team's additions.
    Lock,
    /// Left as the team has it, for the reason given.
    Keep(&'static str),
}

/// One file's change.
#[derive(Debug)]
pub struct Change {
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// What happens to it.
    pub action: Action,
    /// What to write, if anything.
    pub bytes: Option<Vec<u8>>,
}

/// A local edit under `strata/`, which blocks the upgrade.
#[derive(Debug, PartialEq, Eq)]
pub struct FrameworkEdit {
    /// `changed`, `added` or `missing`.
    pub kind: &'static str,
    /// Path relative to the repository root.
    pub path: String,
}

/// The whole upgrade, ready to write.
#[derive(Debug)]
pub struct Plan {
    /// The recorded release.
    pub from: String,
    /// The target release.
    pub to: String,
    /// The new render, where new files' permissions come from.
    pub new_root: PathBuf,
    /// Every file outside `strata/` that changes or is worth listing.
    pub changes: Vec<Change>,
    /// `strata/` files of the new release that differ from the team's copy.
    pub strata_writes: Vec<String>,
    /// `strata/` files the new release no longer has.
    pub strata_removals: Vec<String>,
    /// Local edits under `strata/` (the upgrade refuses while there are any).
    pub framework_edits: Vec<FrameworkEdit>,
}

impl Plan {
    /// Decides every file: `old` and `new` are the renders of the recorded and
    /// the target release, `root` the team's repository; merges run in `scratch`.
    pub fn build(
        root: &Path,
        old: &Tree,
        new_root: &Path,
        versions: (&str, &str),
        scratch: &Path,
    ) -> Result<Self> {
        let new = tree::read(new_root)?;
        let (from, to) = versions;
        let team_strata = strata_files(root)?;
        let mut plan = Self {
            from: from.to_owned(),
            to: to.to_owned(),
            new_root: new_root.to_path_buf(),
            changes: Vec::new(),
            strata_writes: Vec::new(),
            strata_removals: Vec::new(),
            framework_edits: framework_edits(old, &team_strata),
        };
        plan.plan_strata(&new, &team_strata);

        let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
        paths.sort();
        paths.dedup();
        for (index, path) in paths
            .into_iter()
            .filter(|path| !path.starts_with(STRATA))
            .enumerate()
        {
            let team = tree::read_file(root, path)?;
            let (old, new) = (old.get(path), new.get(path));
            let merge_dir = scratch.join(index.to_string());
            if let Some(change) = plan.change(path, old, new, team, &merge_dir)? {
                plan.changes.push(change);
            }
        }
        Ok(plan)
    }

    fn plan_strata(&mut self, new: &Tree, team: &Tree) {
        for (path, bytes) in new.iter().filter(|(path, _)| path.starts_with(STRATA)) {
            if team.get(path) != Some(bytes) {
                self.strata_writes.push(path.clone());
            }
        }
        for path in team.keys().filter(|path| !new.contains_key(*path)) {
            self.strata_removals.push(path.clone());
        }
    }

    fn change(
        &self,
        path: &str,
        old: Option<&Vec<u8>>,
        new: Option<&Vec<u8>>,
        team: Option<Vec<u8>>,
        merge_dir: &Path,
    ) -> Result<Option<Change>> {
        let decision = decide(
            path,
            old.map(Vec::as_slice),
            new.map(Vec::as_slice),
            team.as_deref(),
        );
        let new_bytes = || new.cloned();
        let (action, bytes) = match decision {
            Decision::Nothing | Decision::Keep => return Ok(None),
            Decision::Update => (Action::Update, new_bytes()),
            Decision::Add => (Action::Add, new_bytes()),
            Decision::Remove => (Action::Remove, None),
            Decision::RefreshLock => (Action::Lock, new_bytes()),
            Decision::KeepBinary => (
                Action::Keep("binary, changed by you and by the template: compare by hand"),
                None,
            ),
            Decision::KeepDropped => (
                Action::Keep("the template dropped it; you edited it, so it stays"),
                None,
            ),
            Decision::StayDeleted => (
                Action::Keep("you deleted it; the template changed it, and it stays deleted"),
                None,
            ),
            Decision::Merge | Decision::MergeWithoutBase => {
                let base = old.map(Vec::as_slice).unwrap_or_default();
                let theirs_label = format!("strata {}", self.to);
                let merged = merge(
                    merge_dir,
                    base,
                    (team.as_deref().unwrap_or_default(), "yours"),
                    (new.map(Vec::as_slice).unwrap_or_default(), &theirs_label),
                )
                .with_context(|| format!("merging {path}"))?;
                let action = match merged.conflicts {
                    0 => Action::Merge,
                    conflicts => Action::Conflict(conflicts),
                };
                (action, Some(merged.bytes))
            }
        };
        Ok(Some(Change {
            path: path.to_owned(),
            action,
            bytes,
        }))
    }

    /// Conflicted files.
    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|change| matches!(change.action, Action::Conflict(_)))
    }
}

/// The team's `strata/` files.
fn strata_files(root: &Path) -> Result<Tree> {
    let dir = root.join(STRATA);
    let mut files = Tree::new();
    if dir.is_dir() {
        for (path, bytes) in tree::read(&dir)? {
            files.insert(format!("{STRATA}{path}"), bytes);
        }
    }
    Ok(files)
}

/// How the team's `strata/` differs from the recorded release's.
fn framework_edits(old: &Tree, team: &Tree) -> Vec<FrameworkEdit> {
    let mut edits = Vec::new();
    for (path, bytes) in old.iter().filter(|(path, _)| path.starts_with(STRATA)) {
        match team.get(path) {
            None => edits.push(FrameworkEdit {
                kind: "missing",
                path: path.clone(),
            }),
            Some(team) if team != bytes => edits.push(FrameworkEdit {
                kind: "changed",
                path: path.clone(),
            }),
            Some(_) => {}
        }
    }
    for path in team.keys().filter(|path| !old.contains_key(*path)) {
        edits.push(FrameworkEdit {
            kind: "added",
            path: path.clone(),
        });
    }
    edits.sort_by(|a, b| a.path.cmp(&b.path));
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_tree(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
    }

    fn tree_of(files: &[(&str, &str)]) -> Tree {
        files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), text.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn plans_every_kind_of_change_without_writing() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let (team, new_root) = (scratch.path().join("team"), scratch.path().join("new"));
        let old = tree_of(&[
            ("strata/lib.rs", "v1\n"),
            ("strata/gone.rs", "x\n"),
            ("Makefile", "a\nb\nc\n"),
            ("config.yaml", "port: 1\n"),
            ("dropped.txt", "d\n"),
            ("README.md", "r\n"),
        ]);
        write_tree(
            &new_root,
            &[
                ("strata/lib.rs", "v2\n"),
                ("Makefile", "a\nb\nC\n"),
                ("config.yaml", "port: 3\n"),
                ("added.txt", "n\n"),
                ("README.md", "r\n"),
            ],
        );
        let team_files = [
            ("strata/lib.rs", "v1\n"),
            ("strata/gone.rs", "x\n"),
            ("Makefile", "A\nb\nc\n"),
            ("config.yaml", "port: 2\n"),
            ("dropped.txt", "d\n"),
            ("README.md", "mine\n"),
            ("src/own.rs", "team only\n"),
        ];
        write_tree(&team, &team_files);

        let plan = Plan::build(
            &team,
            &old,
            &new_root,
            ("0.1.0", "0.2.0"),
            &scratch.path().join("m"),
        )
        .expect("plans");

        assert!(plan.framework_edits.is_empty());
        assert_eq!(plan.strata_writes, ["strata/lib.rs"]);
        assert_eq!(plan.strata_removals, ["strata/gone.rs"]);
        let actions: Vec<(&str, Action)> = plan
            .changes
            .iter()
            .map(|change| (change.path.as_str(), change.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("Makefile", Action::Merge),
                ("added.txt", Action::Add),
                ("config.yaml", Action::Conflict(1)),
                ("dropped.txt", Action::Remove),
            ]
        );
        let merged = &plan.changes[0].bytes;
        assert_eq!(merged.as_deref(), Some(b"A\nb\nC\n".as_slice()));
        for (path, text) in team_files {
            assert_eq!(
                std::fs::read_to_string(team.join(path)).expect("kept"),
                text,
                "{path}"
            );
        }
    }

    #[test]
    fn names_local_framework_edits() {
        let old = tree_of(&[("strata/a.rs", "a\n"), ("strata/b.rs", "b\n")]);
        let team = tree_of(&[("strata/a.rs", "edited\n"), ("strata/new.rs", "n\n")]);
        let edits = framework_edits(&old, &team);
        let kinds: Vec<(&str, &str)> = edits
            .iter()
            .map(|edit| (edit.kind, edit.path.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("changed", "strata/a.rs"),
                ("missing", "strata/b.rs"),
                ("added", "strata/new.rs")
            ]
        );
    }
}
