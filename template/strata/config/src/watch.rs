//! Hot reload: when a config file changes, load every source again and hand the
//! result (or why it is invalid) to the caller, which applies what is reloadable.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::{Config, Error, Sources, load};

/// Editors save in bursts (write, rename, chmod): wait this long for quiet.
const SETTLE: Duration = Duration::from_millis(200);

/// Watches the configuration while it lives.
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

/// Calls `on_reload` with the freshly loaded configuration, or the reason it is
/// invalid, each time a YAML file beside `sources.conf` changes.
pub fn watch<C: Config>(
    sources: Sources,
    on_reload: impl Fn(Result<C, Error>) + Send + 'static,
) -> notify::Result<Watcher> {
    let dir = watched_dir(&sources.conf);
    let (changed, changes) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !matches!(event.kind, EventKind::Access(_)) && event.paths.iter().any(|p| is_yaml(p)) {
            let _ = changed.send(());
        }
    })?;
    // The directory, not the file: an editor that saves by renaming a temp file
    // over the config replaces the file a file watch would follow (kratos#1672).
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("config-watch".into())
        .spawn(move || {
            while changes.recv().is_ok() {
                while changes.recv_timeout(SETTLE).is_ok() {}
                on_reload(load(&sources));
            }
        })
        .map_err(notify::Error::io)?;
    Ok(Watcher { _watcher: watcher })
}

fn watched_dir(conf: &Path) -> PathBuf {
    if conf.is_dir() {
        return conf.to_owned();
    }
    match conf.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "yaml" || ext == "yml")
}
