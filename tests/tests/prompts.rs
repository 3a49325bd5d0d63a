//! Fast tier: generating without `--silent`, as a newcomer does, asks only for the
//! service's own answers (no "which sub-template?" choice), and a bad answer at the
//! prompt is explained and asked again instead of ending the run.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use strata_tests::template_root;

/// `-d key=default` for every placeholder of template/cargo-generate.toml but
/// `except`, so cargo-generate has nothing left to ask about them.
fn every_default_but(except: &[&str]) -> Vec<String> {
    let config = std::fs::read_to_string(template_root().join("template/cargo-generate.toml"))
        .expect("template/cargo-generate.toml");
    let config: toml::Table = config.parse().expect("template/cargo-generate.toml parses");
    let placeholders = config["placeholders"].as_table().expect("[placeholders]");
    placeholders
        .iter()
        .filter(|(key, _)| !except.contains(&key.as_str()))
        .flat_map(|(key, slot)| {
            let default = match &slot["default"] {
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            ["-d".to_owned(), format!("{key}={default}")]
        })
        .collect()
}

fn generate_command(destination: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .args(["generate", "--path"])
        .arg(template_root())
        .args(["--vcs", "none", "--destination"])
        .arg(destination)
        .env("RUST_BACKTRACE", "0");
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Without a terminal cargo-generate fails on any question it asks, so a run
/// without `--silent` that answers every placeholder with `-d` succeeds only if
/// nothing else (such as a sub-template choice) is asked.
#[test]
fn asks_no_sub_template_question() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let output = generate_command(scratch.path())
        .args(["--name", "newcomer"])
        .args(every_default_but(&[]))
        .stdin(Stdio::null())
        .output()
        .expect("cargo generate runs (install it: make tools)");
    let text = text(&output);
    assert!(
        output.status.success() && !text.contains("sub-template"),
        "cargo generate without --silent asked something beyond the placeholders:\n{text}"
    );
    assert!(
        scratch
            .path()
            .join("newcomer/cmd/newcomer/Cargo.toml")
            .is_file()
    );
}

/// Runs `command` in a pseudo-terminal (util-linux `script`) with `typed` as the
/// keyboard, or returns None when `script` is missing.
fn in_terminal(command: &Command, typed: &str) -> Option<Output> {
    use std::io::Write;
    let quote =
        |arg: &std::ffi::OsStr| format!("'{}'", arg.to_string_lossy().replace('\'', r"'\''"));
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(typed.as_bytes())
        .expect("type");
    Some(child.wait_with_output().expect("script runs"))
}

fn script_missing() {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "`script` (util-linux) is missing, and CI=true requires it"
    );
    eprintln!("SKIPPED: `script` (util-linux) is not installed (set CI=true to make this fatal)");
}

#[test]
fn asks_again_after_a_bad_name_or_port() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut command = generate_command(scratch.path());
    command.args(every_default_but(&["http_port"]));
    // A name that cannot be a crate, then Enter for the suggested one; a port out
    // of range, then a good one.
    let Some(output) = in_terminal(&command, "My Svc\n\n70000\n8080\n") else {
        return script_missing();
    };
    let text = text(&output);
    assert!(
        output.status.success(),
        "the prompts did not recover:\n{text}"
    );
    assert!(
        text.contains("invalid service name `My Svc`") && text.contains("press Enter for `my-svc`"),
        "a bad name should be explained with a suggestion:\n{text}"
    );
    assert!(
        text.contains("is not a valid value for http_port"),
        "a bad port should be explained:\n{text}"
    );
    let config = std::fs::read_to_string(scratch.path().join("my-svc/configs/config.yaml"))
        .expect("my-svc was generated");
    assert!(config.contains("addr: 0.0.0.0:8080"), "{config}");
}
