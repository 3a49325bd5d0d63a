//! Generating the sample and building it: what a team waits for on day one and
//! on every edit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::settings::Settings;

/// The sample's name, so its binary is `hello-bench` and its env prefix `HELLO_BENCH`.
pub const SAMPLE: &str = "hello-bench";

/// The databases the sample is generated for (`-d database=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
}

impl Database {
    pub fn label(self) -> &'static str {
        match self {
            Database::Sqlite => "SQLite",
            Database::Postgres => "PostgreSQL",
        }
    }

    fn placeholder(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
        }
    }
}

/// The generated sample and what making it cost.
#[derive(Debug)]
pub struct Sample {
    pub repo: PathBuf,
    pub binary: PathBuf,
    pub generate: Duration,
    pub release_build: Duration,
    pub binary_bytes: u64,
    pub stripped_bytes: u64,
    /// `None` when skipped (`BENCH_SKIP_COLD_BUILD`).
    pub cold_debug_build: Option<Duration>,
    pub rebuild_after_biz_edit: Duration,
}

/// Generates the sample with every default (SQLite), builds it for release, then
/// times a cold debug build in a fresh target directory and a rebuild after
/// editing one file of internal/biz.
pub fn sample(settings: &Settings) -> anyhow::Result<Sample> {
    let (repo, generate) = generate(settings, Database::Sqlite)?;
    let (binary, release_build) = release(settings, &repo, Database::Sqlite)?;
    let binary_bytes = std::fs::metadata(&binary)?.len();
    let stripped_bytes = stripped_size(&binary, &settings.workdir)?;

    // A fresh target directory, so nothing is reused; deleted afterwards (GBs).
    let cold_target = settings.workdir.join("cold-target");
    let debug_target = if settings.skip_cold_build {
        &settings.target_dir
    } else {
        &cold_target
    };
    let cold_debug_build = if settings.skip_cold_build {
        cargo_build(&repo, debug_target, &[])?;
        None
    } else {
        println!(
            "cold debug build in {} (BENCH_SKIP_COLD_BUILD=1 skips it)",
            cold_target.display()
        );
        Some(cargo_build(&repo, debug_target, &[])?)
    };
    edit_biz(&repo)?;
    let rebuild_after_biz_edit = cargo_build(&repo, debug_target, &[])?;
    if !settings.skip_cold_build {
        std::fs::remove_dir_all(&cold_target)?;
    }

    Ok(Sample {
        repo,
        binary,
        generate,
        release_build,
        binary_bytes,
        stripped_bytes,
        cold_debug_build,
        rebuild_after_biz_edit,
    })
}

/// The sample generated with `-d database=postgres` and built for release: its
/// repository and binary. Only its SayHello rows are measured.
pub fn postgres_sample(settings: &Settings) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (repo, _) = generate(settings, Database::Postgres)?;
    let (binary, _) = release(settings, &repo, Database::Postgres)?;
    Ok((repo, binary))
}

/// `cargo generate` of the sample for `database` under the work directory: the
/// repository and how long generating took.
fn generate(settings: &Settings, database: Database) -> anyhow::Result<(PathBuf, Duration)> {
    let destination = settings
        .workdir
        .join(format!("generated-{}", database.placeholder()));
    std::fs::create_dir_all(&destination)?;
    let started = Instant::now();
    run(Command::new("cargo")
        .args(["generate", "--path"])
        .arg(&settings.repo)
        .args(["--name", SAMPLE, "--silent", "--vcs", "none", "-d"])
        .arg(format!("database={}", database.placeholder()))
        .arg("--destination")
        .arg(&destination))
    .context("cargo generate (is cargo-generate installed? `make tools`)")?;
    Ok((destination.join(SAMPLE), started.elapsed()))
}

/// A release build of the sample at `repo`, copied out of the shared target
/// directory (both databases' builds write the same path there): the copy and how
/// long the build took.
fn release(
    settings: &Settings,
    repo: &Path,
    database: Database,
) -> anyhow::Result<(PathBuf, Duration)> {
    println!(
        "building the {} sample for release (CARGO_TARGET_DIR={})",
        database.label(),
        settings.target_dir.display()
    );
    let took = cargo_build(repo, &settings.target_dir, &["--release"])?;
    let copy = settings
        .workdir
        .join(format!("{SAMPLE}-{}", database.placeholder()));
    std::fs::copy(settings.target_dir.join("release").join(SAMPLE), &copy)?;
    Ok((copy, took))
}

/// A change a developer makes: one more line in the use case's file.
fn edit_biz(repo: &Path) -> anyhow::Result<()> {
    let file = repo.join("internal/biz/src/greeter.rs");
    let mut source = std::fs::read_to_string(&file)?;
    source.push_str("\n// edited by make bench to time an incremental rebuild\n");
    std::fs::write(&file, source)?;
    Ok(())
}

fn cargo_build(repo: &Path, target_dir: &Path, args: &[&str]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    run(Command::new("cargo")
        .arg("build")
        .args(args)
        .current_dir(repo)
        .env("CARGO_TARGET_DIR", target_dir))
    .with_context(|| format!("cargo build {} in {}", args.join(" "), repo.display()))?;
    Ok(started.elapsed())
}

/// The size of a stripped copy (the binary itself is left as cargo built it).
fn stripped_size(binary: &Path, workdir: &Path) -> anyhow::Result<u64> {
    let copy = workdir.join("stripped");
    std::fs::copy(binary, &copy)?;
    run(Command::new("strip").arg(&copy)).context("strip (binutils)")?;
    Ok(std::fs::metadata(&copy)?.len())
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    let status = command.status()?;
    if !status.success() {
        bail!("exited with {status}");
    }
    Ok(())
}
