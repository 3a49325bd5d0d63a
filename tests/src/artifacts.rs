//! A render's build artifacts leave the shared target directory with the render.
//!
//! Cargo names a workspace crate's artifacts after a hash of, among other
//! things, where its sources are: every render in a fresh temporary directory
//! builds its crates (and test binaries, 100 MB and more each in debug) under
//! new names, and nothing ever reads them again. Left there, they filled the
//! disk after a few CI runs (66 GB), and a full disk makes the linker die
//! mid-suite. Dependencies from the registry keep their names and are shared.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Removes from `target` every unit cargo built from sources under `root`:
/// its fingerprint, its build-script directory and its files in `deps/`.
/// Best effort: what cannot be read or removed stays.
pub(crate) fn forget(target: &Path, root: &Path) {
    for profile in ["debug", "release"] {
        let dir = target.join(profile);
        let hashes = units_built_from(&dir.join(".fingerprint"), root);
        if hashes.is_empty() {
            continue;
        }
        for folder in [".fingerprint", "build", "deps"] {
            let Ok(entries) = fs::read_dir(dir.join(folder)) else {
                continue;
            };
            for entry in entries.flatten() {
                if unit_hash(&entry.file_name()).is_some_and(|hash| hashes.contains(hash)) {
                    let path = entry.path();
                    let _ = if path.is_dir() {
                        fs::remove_dir_all(&path)
                    } else {
                        fs::remove_file(&path)
                    };
                }
            }
        }
    }
}

/// The hashes of the units whose dep-info (`.fingerprint/<unit>/dep-*`, the
/// sources cargo checks) names a path under `root`.
fn units_built_from(fingerprints: &Path, root: &Path) -> HashSet<String> {
    let needle = [root.as_os_str().as_bytes(), b"/"].concat();
    let needle = needle.as_slice();
    let mut hashes = HashSet::new();
    let Ok(units) = fs::read_dir(fingerprints) else {
        return hashes;
    };
    for unit in units.flatten() {
        let Ok(files) = fs::read_dir(unit.path()) else {
            continue;
        };
        let mentions_root = files.flatten().any(|file| {
            file.file_name().as_bytes().starts_with(b"dep-")
                && fs::read(file.path())
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        });
        let name = unit.file_name();
        if let Some(hash) = unit_hash(&name).filter(|_| mentions_root) {
            hashes.insert(hash.to_owned());
        }
    }
    hashes
}

/// `a1b2c3d4e5f60718` of `api-a1b2c3d4e5f60718`, `libapi-a1b2c3d4e5f60718.rlib`
/// or `api-a1b2c3d4e5f60718.d`: the 16 hex digits after the last `-`.
fn unit_hash(name: &OsStr) -> Option<&str> {
    let name = name.to_str()?;
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    let (_, hash) = stem.rsplit_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_the_units_built_from_the_render() {
        let target = tempfile::tempdir().expect("temp dir");
        let debug = target.path().join("debug");
        let unit = |name: &str, source: &str| {
            let fingerprint = debug.join(".fingerprint").join(name);
            fs::create_dir_all(&fingerprint).expect("fingerprint");
            fs::write(
                fingerprint.join("dep-lib-x"),
                format!("\0\0{source}/src/lib.rs\0"),
            )
            .expect("dep-info");
            fs::create_dir_all(debug.join("build").join(name)).expect("build");
            fs::create_dir_all(debug.join("deps")).expect("deps");
            let (krate, hash) = name.rsplit_once('-').expect("unit name");
            for file in [
                format!("lib{krate}-{hash}.rlib"),
                format!("{krate}-{hash}.d"),
            ] {
                fs::write(debug.join("deps").join(file), "").expect("artifact");
            }
        };
        unit("biz-00000000000000aa", "/tmp/.tmpRender/hello/internal/biz");
        unit("biz-00000000000000bb", "/tmp/.tmpOther/hello/internal/biz");
        unit("tokio-00000000000000cc", "/root/.cargo/registry/src/tokio");

        forget(target.path(), Path::new("/tmp/.tmpRender"));

        let left = |folder: &str| -> Vec<String> {
            let mut names: Vec<String> = fs::read_dir(debug.join(folder))
                .expect("folder")
                .flatten()
                .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
                .collect();
            names.sort();
            names
        };
        assert_eq!(
            left(".fingerprint"),
            ["biz-00000000000000bb", "tokio-00000000000000cc"]
        );
        assert_eq!(left("build"), left(".fingerprint"));
        assert_eq!(
            left("deps"),
            [
                "biz-00000000000000bb.d",
                "libbiz-00000000000000bb.rlib",
                "libtokio-00000000000000cc.rlib",
                "tokio-00000000000000cc.d"
            ]
        );
    }
}
