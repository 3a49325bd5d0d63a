//! Tests that must run in a process of their own: one that sets the global
//! subscriber (once per process), or one that tracing's per-callsite interest
//! cache could leave without events when another test sets a subscriber at the
//! same moment. The test starts its own binary again with only itself selected
//! and a variable set; in that child, [`is_child`] says to do the work.

use std::process::{Command, Output};

/// Whether this process is the child [`run`] started with `marker` set.
pub(crate) fn is_child(marker: &str) -> bool {
    std::env::var_os(marker).is_some()
}

/// Runs the test `name` (a function of the module `module`, as `module_path!()`
/// gives it) alone in a child process with `marker` set, and returns what it
/// printed; panics with its output when it failed.
pub(crate) fn run(module: &str, name: &str, marker: &str) -> Output {
    // The harness names a test by its path inside the crate.
    let module = module.split_once("::").map_or("", |(_crate, path)| path);
    let path = if module.is_empty() {
        name.to_owned()
    } else {
        format!("{module}::{name}")
    };
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", &path, "--nocapture"])
        .env(marker, "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(
        child.status.success(),
        "{path} failed in its own process ({})\n{stdout}\n{stderr}",
        child.status
    );
    // A name that selects nothing would pass having run nothing.
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{path} is not a test of this binary\n{stdout}"
    );
    child
}
