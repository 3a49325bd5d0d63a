//! One release of the template rendered with the recorded answers, by
//! cargo-generate, into a scratch directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use super::answers::Answers;
use super::process::run;

/// Renders the template checked out at `template` into `destination` and
/// returns the rendered repository's root.
pub fn render(template: &Path, answers: &Answers, destination: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(destination)
        .with_context(|| format!("cannot create {}", destination.display()))?;
    run(Command::new("cargo")
        .args(["generate", "--path"])
        .arg(template)
        .args(["--name", &answers.project_name, "--template-values-file"])
        .arg(&answers.path)
        .args(["--silent", "--vcs", "none", "--destination"])
        .arg(destination))
    .context(
        "cargo-generate could not render the template with the answers in .strata-answers.toml",
    )?;
    Ok(destination.join(&answers.project_name))
}
