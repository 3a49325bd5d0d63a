//! One rendered and built repository per variant that several test files share,
//! so tests that only need a running binary do not each pay for a build.
//!
//! It lives at a fixed path in the shared target directory: cargo then sees the
//! same workspace every time and rebuilds only what changed. Each call re-renders
//! the template and copies over only the files whose content changed, so a
//! template edit is always picked up and an unchanged template rebuilds nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::process::shared_target_dir;
use crate::{Service, TestDatabase, Variant, cargo, generate};

/// Files the build and the running service write, kept between runs.
const KEPT: &[&str] = &["target", "Cargo.lock", "data", "logs", "service.log"];

/// The repository of `variant` at `strata-built/<name>` beside the shared
/// target directory, rendered from the current template and built (`cargo
/// build`). Safe to call from tests running at once, in one process or several.
///
/// Not inside the target directory: cargo records the sources of a crate built
/// from there relative to the target directory, so a repository rendered
/// elsewhere whose crate has the same name and layout (every render's `biz`)
/// found that record, checked these older files and took a stale `biz` as
/// fresh.
pub fn built(variant: Variant) -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let _in_process = IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let target = shared_target_dir();
    let root = target
        .with_file_name(format!(
            "{}-strata-built",
            target
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or("target")
        ))
        .join(variant.name);
    std::fs::create_dir_all(&root).expect("create the shared repository directory");
    let lock = File::create(root.with_extension("lock")).expect("lock file");
    lock.lock().expect("lock the shared repository");

    let fresh = generate(variant);
    sync(&fresh.root, &root, true);
    cargo(&root, &["build"]);
    root
}

/// Where a started binary keeps its state: a directory of its own (its logs, a
/// SQLite file) and its database. Both live as long as this value.
#[derive(Debug)]
pub struct Scratch {
    _database: TestDatabase,
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The built binary of `variant` started in a [`Scratch`] of its own, with `env`
/// added.
pub fn start_built(variant: Variant, env: &[(&str, &str)]) -> (Service, Scratch) {
    let repo = built(variant);
    let dir = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::create(variant, dir.path());
    let prefix = variant.env_prefix();
    let mut env: Vec<(String, String)> = env
        .iter()
        .map(|(key, value)| (format!("{prefix}__{key}"), (*value).to_owned()))
        .collect();
    env.push((
        format!("{prefix}__DATA__DATABASE__URL"),
        database.url.clone(),
    ));
    let service = Service::start_in(&repo, dir.path(), variant, &env);
    let scratch = Scratch {
        _database: database,
        dir,
    };
    (service, scratch)
}

/// Makes `to` hold what `from` holds, writing only files whose content differs
/// (so their modification times, which cargo checks, stay put) and removing what
/// `from` no longer has, except the [`KEPT`] outputs at the top level.
fn sync(from: &Path, to: &Path, top: bool) {
    for entry in std::fs::read_dir(to).expect("read a shared directory") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a name");
        let kept = top && name.to_str().is_some_and(|name| KEPT.contains(&name));
        let source = from.join(name);
        if !kept && (!source.exists() || source.is_dir() != path.is_dir()) {
            remove(&path);
        }
    }
    for entry in std::fs::read_dir(from).expect("read a rendered directory") {
        let source = entry.expect("entry").path();
        let target = to.join(source.file_name().expect("a name"));
        if source.is_dir() {
            std::fs::create_dir_all(&target).expect("create a directory");
            sync(&source, &target, false);
        } else {
            copy_if_changed(&source, &target);
        }
    }
}

fn copy_if_changed(source: &Path, target: &Path) {
    let content = std::fs::read(source).expect("read a rendered file");
    if std::fs::read(target).ok().as_deref() != Some(content.as_slice()) {
        std::fs::write(target, content).expect("write a shared file");
    }
}

fn remove(path: &Path) {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.unwrap_or_else(|err| panic!("remove {}: {err}", path.display()));
}
