//! Changing `log.level` in the config file applies without a restart, even when an
//! editor saves through a temp file and a rename; an invalid edit is refused and the
//! running configuration stays.
//!
//! One test in its own binary: the log subscriber is process-global.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use tracing::Level;

// The composition root (src/lib.rs) under one short name.
use {{crate_name}} as app;

/// Saves `text` as an editor that writes a temp file and renames it over would.
fn save_by_rename(path: &Path, text: &str) {
    let temp = path.with_extension("yaml.swp");
    std::fs::write(&temp, text).expect("write temp file");
    std::fs::rename(&temp, path).expect("rename over the config");
}

/// Waits (up to 10 s, so a broken watcher fails instead of hanging) for `done`.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_new_log_level_applies_and_a_bad_edit_is_refused() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _inside = runtime.enter();
    let scratch = tempfile::tempdir().expect("temp dir");
    let log_dir = scratch.path().join("logs");
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/config.yaml"),
    )
    .expect("configs/config.yaml");
    let base = original
        .replace("level: info", "level: warn")
        .replace("dir: logs", &format!("dir: {}", log_dir.display()));
    let config = scratch.path().join("config.yaml");
    std::fs::write(&config, &base).expect("write config");
    let sources = conf::Sources::new(&config, "HOT_RELOAD_TEST_ONLY");
    let conf = conf::load(&sources).expect("valid config");
    let telemetry = app::telemetry(&conf).expect("telemetry");
    let watcher = app::watch_config(sources, &conf, telemetry.levels()).expect("watch");
    assert!(!tracing::enabled!(Level::INFO), "starts at warn");

    save_by_rename(&config, &base.replace("level: warn", "level: info"));
    eventually("log.level info applied", || tracing::enabled!(Level::INFO));

    save_by_rename(&config, &base.replace("level: warn", "levle: debug"));
    eventually("the bad edit reported", || {
        support::read_logs(&log_dir).contains("config reload failed")
    });
    assert!(tracing::enabled!(Level::INFO), "the running level stays");
    assert!(
        !tracing::enabled!(Level::DEBUG),
        "the bad edit is not applied"
    );

    drop(watcher);
    runtime.block_on(telemetry.shutdown());
    let logs = support::read_logs(&log_dir);
    assert_eq!(logs.matches("log.level reloaded").count(), 1, "{logs}");
    assert!(logs.contains("unknown key `log.levle`"), "{logs}");
}
