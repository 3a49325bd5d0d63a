//! The files of a directory, by relative `/`-separated path.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

/// Every file under a directory, with its bytes.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// Reads every file under `root` (skipping `.git`).
pub fn read(root: &Path) -> Result<Tree> {
    let mut tree = Tree::new();
    walk(root, "", &mut tree)?;
    Ok(tree)
}

fn walk(dir: &Path, prefix: &str, tree: &mut Tree) -> Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}{name}");
        if path.is_dir() {
            walk(&path, &format!("{relative}/"), tree)?;
        } else {
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            tree.insert(relative, bytes);
        }
    }
    Ok(())
}

/// The team's copy of `relative` under `root`, if there is one.
pub fn read_file(root: &Path, relative: &str) -> Result<Option<Vec<u8>>> {
    let path = root.join(relative);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) if path.is_dir() => Err(err).with_context(|| {
            format!(
                "{} is a directory where the template has a file",
                path.display()
            )
        }),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}
