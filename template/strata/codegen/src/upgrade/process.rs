//! Running git, cargo-generate and cargo: each failure names the command and what
//! it printed, and a missing program says how to install it.

use std::path::Path;
use std::process::{Command, Output};

use anyhow::{Context, Result, bail};

/// Runs `command` and returns its stdout; fails with its stderr when it exits non-zero.
pub fn run(command: &mut Command) -> Result<String> {
    let output = output(command)?;
    if !output.status.success() {
        bail!(
            "`{}` failed:\n{}{}",
            describe(command),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `command` and returns its output whatever its exit status.
pub fn output(command: &mut Command) -> Result<Output> {
    command
        .output()
        .with_context(|| format!("could not run `{}`", describe(command)))
}

/// `git -C <dir> <args>`.
pub fn git(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command.arg("-C").arg(dir).args(args);
    command
}

/// Checks that git and cargo-generate are on the PATH, saying how to get them.
pub fn require_tools() -> Result<()> {
    let git = Command::new("git").arg("--version").output();
    if !git.is_ok_and(|output| output.status.success()) {
        bail!("git is not installed: install it (e.g. apt-get install git), then run this again");
    }
    let generate = Command::new("cargo")
        .args(["generate", "--version"])
        .output();
    if !generate.is_ok_and(|output| output.status.success()) {
        bail!(
            "cargo-generate is not installed: `cargo install cargo-generate --version 0.23.14 --locked` \
             (0.23.14 builds on rustc 1.95), then run this again"
        );
    }
    Ok(())
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}
