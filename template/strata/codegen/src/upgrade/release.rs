//! The strata template repository, cloned into a scratch directory: its release
//! tags, and any revision checked out as a worktree to render from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::process::{git, run};
use super::tags;

/// A clone of TEMPLATE in a scratch directory.
pub struct Template {
    /// What the user passed: a path or a git URL.
    pub source: String,
    clone: PathBuf,
}

impl Template {
    /// Clones `source` (a local path, relative to `cwd`, or a git URL) into `scratch`.
    pub fn clone(source: &str, cwd: &Path, scratch: &Path) -> Result<Self> {
        let local = cwd.join(source);
        let from = if local.exists() {
            local.to_string_lossy().into_owned()
        } else {
            source.to_owned()
        };
        let clone = scratch.join("template.git");
        run(std::process::Command::new("git")
            .args(["clone", "--quiet", "--no-checkout", &from])
            .arg(&clone))
        .with_context(|| {
            format!("cannot clone TEMPLATE={source}: pass the strata repository's path or git URL")
        })?;
        Ok(Self {
            source: source.to_owned(),
            clone,
        })
    }

    /// The commit `rev` (a tag, a commit or a branch of TEMPLATE) names.
    pub fn commit(&self, rev: &str) -> Result<String> {
        for candidate in [
            format!("{rev}^{{commit}}"),
            format!("origin/{rev}^{{commit}}"),
        ] {
            if let Ok(commit) = run(&mut git(
                &self.clone,
                &["rev-parse", "--verify", "--quiet", &candidate],
            )) {
                return Ok(commit.trim().to_owned());
            }
        }
        bail!(
            "TEMPLATE={} has no tag or commit `{rev}`: list its releases with \
             `git ls-remote --tags {}`",
            self.source,
            self.source
        )
    }

    /// The newest `v<major>.<minor>.<patch>` tag.
    pub fn newest_release(&self) -> Result<String> {
        let listed = run(&mut git(&self.clone, &["tag", "--list", "v*"]))?;
        match tags::newest(listed.lines().map(str::trim)) {
            Some(tag) => Ok(tag.to_owned()),
            None => bail!(
                "TEMPLATE={} has no release tag (v<major>.<minor>.<patch>): pass REV=<tag or \
                 commit>, or tag a release there (git tag v$(cat VERSION))",
                self.source
            ),
        }
    }

    /// Checks `commit` out into `dir` (a detached worktree of the clone).
    pub fn checkout(&self, commit: &str, dir: &Path) -> Result<()> {
        let dir_arg = dir.to_string_lossy();
        run(&mut git(
            &self.clone,
            &["worktree", "add", "--quiet", "--detach", &dir_arg, commit],
        ))
        .map(drop)
    }
}
