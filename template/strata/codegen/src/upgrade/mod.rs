//! `cargo strata upgrade` / `upgrade-plan` (`make upgrade TEMPLATE=.. [REV=..]`):
//! moves a service to another strata release, keeping the team's edits.
//!
//! The recorded release and the target are rendered with the recorded answers in
//! a scratch directory; `strata/` is replaced whole; every other rendered file is
//! decided by [`decide`] (three-way merges by `git merge-file`). Everything is
//! computed before anything is written, and a clean git tree is required, so git
//! always holds the state before the upgrade.

mod answers;
mod apply;
mod decide;
mod merge;
mod plan;
mod process;
mod release;
mod render;
mod report;
mod tags;
mod tree;

use std::path::Path;

use anyhow::{Context, Result, bail};

use answers::Answers;
use plan::Plan;
use release::Template;

/// What the command was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The strata template repository: a path or a git URL.
    pub template: String,
    /// The release to move to; the newest `v*` tag when `None`.
    pub rev: Option<String>,
    /// `upgrade` writes; `upgrade-plan` only prints.
    pub write: bool,
}

impl Options {
    /// Parses `--template <T> [--rev <R>]`.
    pub fn parse(args: &[&str], write: bool) -> Result<Self> {
        let (mut template, mut rev) = (None, None);
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let slot = match *arg {
                "--template" => &mut template,
                "--rev" => &mut rev,
                other => bail!(
                    "unknown argument `{other}`: expected --template <path or git URL> [--rev <tag or commit>]"
                ),
            };
            let value = args
                .next()
                .with_context(|| format!("{arg} needs a value"))?;
            *slot = Some((*value).to_owned()).filter(|value| !value.is_empty());
        }
        Ok(Self {
            template: template.context(
                "--template is required: the strata repository's path or git URL (make upgrade TEMPLATE=...)",
            )?,
            rev,
            write,
        })
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Already on the target release: nothing to do.
    Current,
    /// The plan was printed; nothing written.
    Planned,
    /// Written, with this many conflicted files left to resolve.
    Upgraded {
        /// Files holding conflict markers.
        conflicts: usize,
    },
}

/// Runs the upgrade (or its plan) for the service around the current directory.
pub fn run(options: &Options) -> Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = answers::find_root(&cwd)?;
    let answers = Answers::read(&root)?;
    process::require_tools()?;
    let dirty = uncommitted(&root)?;
    if options.write && !dirty.is_empty() {
        bail!(
            "the working tree has uncommitted changes, and the upgrade needs git to hold your \
             current state. Commit or stash them first (nothing was changed):\n{dirty}"
        );
    }

    let scratch = tempfile::Builder::new()
        .prefix("strata-upgrade")
        .tempdir()
        .context("cannot create a scratch directory")?;
    let template = Template::clone(&options.template, &cwd, scratch.path())?;
    let old_tag = answers.tag();
    let old_commit = template.commit(&old_tag).with_context(|| {
        format!(
            "{old_tag} is the release recorded in {}: is TEMPLATE the strata repository this \
             service was generated from, with its tags?",
            answers::FILE
        )
    })?;
    let rev = match &options.rev {
        Some(rev) => rev.clone(),
        None => template.newest_release()?,
    };
    if template.commit(&rev)? == old_commit {
        println!(
            "already on strata {} ({rev} of {}): nothing to do",
            answers.version, template.source
        );
        return Ok(Outcome::Current);
    }

    let old_root = render_release(&template, &old_tag, &answers, &scratch.path().join("old"))?;
    let new_root = render_release(&template, &rev, &answers, &scratch.path().join("new"))?;
    let to = Answers::read(&new_root).map_or_else(|_| rev.clone(), |new| new.version);
    let old = tree::read(&old_root)?;
    let plan = Plan::build(
        &root,
        &old,
        &new_root,
        (&answers.version, &to),
        &scratch.path().join("merge"),
    )?;

    if !plan.framework_edits.is_empty() {
        let message = framework_edits_message(&plan);
        if options.write {
            bail!("{message}\nNothing was written.");
        }
        println!("{message}\n`make upgrade` refuses until then.\n");
    }
    if !options.write {
        report::print(&plan, &template.source, false);
        if !dirty.is_empty() {
            println!(
                "\n`make upgrade` also needs these uncommitted changes committed or stashed:\n{dirty}"
            );
        }
        return Ok(Outcome::Planned);
    }

    apply::apply(&root, &plan).context(
        "the upgrade stopped half written: `git checkout -- . && git clean -fd` restores the commit before it",
    )?;
    let lock = apply::refresh_lock(&root, &plan)?;
    report::print(&plan, &template.source, true);
    if let Some(lock) = lock {
        println!("  {lock}");
    }
    let conflicts = plan.conflicts().count();
    report::print_next_steps(&plan, conflicts);
    Ok(Outcome::Upgraded { conflicts })
}

/// `git status --porcelain`: empty when the tree is clean. An untracked
/// `Cargo.lock` does not count: cargo writes one to build this very command in a
/// repository that never committed it.
fn uncommitted(root: &Path) -> Result<String> {
    let status =
        process::run(&mut process::git(root, &["status", "--porcelain"])).with_context(|| {
            format!(
                "{} is not in a git repository: the upgrade needs git to keep the state before \
             it. `git init && git add -A && git commit -m 'Before the strata upgrade'` first",
                root.display()
            )
        })?;
    Ok(status
        .lines()
        .filter(|line| *line != "?? Cargo.lock")
        .map(|line| format!("{line}\n"))
        .collect())
}

fn render_release(
    template: &Template,
    rev: &str,
    answers: &Answers,
    dir: &Path,
) -> Result<std::path::PathBuf> {
    let checkout = dir.join("template");
    template.checkout(&template.commit(rev)?, &checkout)?;
    render::render(&checkout, answers, &dir.join("rendered"))
        .with_context(|| format!("rendering {rev} of {}", template.source))
}

fn framework_edits_message(plan: &Plan) -> String {
    let list: String = plan
        .framework_edits
        .iter()
        .map(|edit| format!("  {:<8} {}\n", edit.kind, edit.path))
        .collect();
    format!(
        "strata/ has local edits, which replacing it with strata {} would lose:\n{list}\
         strata/ is the framework, never edited in a service. Move the change out first: \
         into your own crates, or into the strata repository (then release it and upgrade to \
         that release). Then `git checkout -- strata/` (`git clean -fd strata/` for added \
         files), commit, and run the upgrade again.",
        plan.to
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_template_and_rev() {
        let options =
            Options::parse(&["--template", "../strata", "--rev", "v0.2.0"], true).expect("parses");
        assert_eq!(options.template, "../strata");
        assert_eq!(options.rev.as_deref(), Some("v0.2.0"));
        // `make upgrade` passes no --rev without REV; an empty one means the newest tag too.
        let options = Options::parse(&["--template", "x", "--rev", ""], false).expect("parses");
        assert_eq!(options.rev, None);
    }

    #[test]
    fn requires_a_template() {
        let err = Options::parse(&[], true).expect_err("no template");
        assert!(err.to_string().contains("--template is required"), "{err}");
        assert!(Options::parse(&["--bogus"], true).is_err());
    }
}
