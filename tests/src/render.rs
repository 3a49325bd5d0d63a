use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// One combination of placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Variant {
    /// `--name`; distinct per variant so their binaries never overwrite each other
    /// in the shared target directory.
    pub name: &'static str,
    /// `-d key=value` pairs.
    pub defines: &'static [(&'static str, &'static str)],
}

impl Variant {
    /// Every default.
    pub const SQLITE: Self = Self {
        name: "hello-sqlite",
        defines: &[],
    };
    /// `database=postgres`.
    pub const POSTGRES: Self = Self {
        name: "hello-postgres",
        defines: &[("database", "postgres")],
    };
    /// `database=mysql`.
    pub const MYSQL: Self = Self {
        name: "hello-mysql",
        defines: &[("database", "mysql")],
    };

    /// The environment variable prefix the generated service reads.
    pub fn env_prefix(&self) -> String {
        self.name.replace('-', "_").to_uppercase()
    }

    /// The `database` placeholder's value.
    pub fn database(&self) -> &'static str {
        self.defines
            .iter()
            .find(|(key, _)| *key == "database")
            .map_or("sqlite", |(_, value)| value)
    }
}

/// A generated repository in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct Rendered {
    _scratch: tempfile::TempDir,
    /// The repository's root.
    pub root: PathBuf,
}

/// This repository: where `cargo-generate.toml` is.
///
/// Read when the tests run (cargo sets `CARGO_MANIFEST_DIR` for them), not baked in
/// at compile time: the shared target directory may hold a test binary built from
/// another checkout, which cargo does not tell apart.
pub fn template_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn cargo_generate(name: &str, defines: &[(&str, &str)], destination: &Path) -> Output {
    let mut command = Command::new("cargo");
    command
        .args(["generate", "--path"])
        .arg(template_root())
        .args(["--name", name, "--silent", "--vcs", "none", "--destination"])
        .arg(destination)
        .env("RUST_BACKTRACE", "0");
    for (key, value) in defines {
        command.args(["-d", &format!("{key}={value}")]);
    }
    command
        .output()
        .expect("cargo generate runs (install it: make tools)")
}

/// Renders `variant` with cargo-generate, panicking with its output if it fails.
pub fn generate(variant: Variant) -> Rendered {
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = cargo_generate(variant.name, variant.defines, scratch.path());
    assert!(
        output.status.success(),
        "cargo generate {} failed:\n{}",
        variant.name,
        String::from_utf8_lossy(&output.stderr)
    );
    let root = scratch.path().join(variant.name);
    Rendered {
        _scratch: scratch,
        root,
    }
}

/// Runs cargo-generate with a name it must refuse. Returns its stderr and every
/// entry it left in the destination directory, relative to it, folders included.
pub fn generate_err(name: &str) -> (String, Vec<PathBuf>) {
    generate_err_with(name, &[])
}

/// Runs cargo-generate with `-d key=value` pairs it must refuse. Returns its stderr
/// and every entry it left in the destination directory, relative to it, folders
/// included (an empty folder `x` is `["x"]`, a file in it `["x", "x/file"]`).
pub fn generate_err_with(name: &str, defines: &[(&str, &str)]) -> (String, Vec<PathBuf>) {
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = cargo_generate(name, defines, scratch.path());
    assert!(
        !output.status.success(),
        "cargo generate accepted --name {name:?} with {defines:?}"
    );
    let mut left = Vec::new();
    list(scratch.path(), scratch.path(), &mut left);
    (String::from_utf8_lossy(&output.stderr).into_owned(), left)
}

fn list(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read destination") {
        let path = entry.expect("entry").path();
        found.push(path.strip_prefix(root).expect("inside").to_path_buf());
        if path.is_dir() {
            list(root, &path, found);
        }
    }
}
