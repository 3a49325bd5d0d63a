//! Three-way text merges by `git merge-file`, in a scratch directory.

use std::path::Path;

use anyhow::{Result, bail};

use super::process::output;

/// A merge's result: the merged text, and how many conflicts it marks.
pub struct Merged {
    /// The file to write, with `<<<<<<<` / `>>>>>>>` markers around conflicts.
    pub bytes: Vec<u8>,
    /// Conflicting hunks (0: a clean merge).
    pub conflicts: u32,
}

/// Merges the changes from `base` to `theirs` into `ours`, labelling the two
/// sides of a conflict `ours_label` and `theirs_label`.
pub fn merge(
    scratch: &Path,
    base: &[u8],
    ours: (&[u8], &str),
    theirs: (&[u8], &str),
) -> Result<Merged> {
    std::fs::create_dir_all(scratch)?;
    let [ours_file, base_file, theirs_file] =
        ["ours", "base", "theirs"].map(|name| scratch.join(name));
    std::fs::write(&ours_file, ours.0)?;
    std::fs::write(&base_file, base)?;
    std::fs::write(&theirs_file, theirs.0)?;
    let result = output(
        std::process::Command::new("git")
            .args([
                "merge-file",
                "--stdout",
                "-L",
                ours.1,
                "-L",
                "base",
                "-L",
                theirs.1,
            ])
            .args([&ours_file, &base_file, &theirs_file]),
    )?;
    // The exit status is the number of conflicts (capped at 127); negative (255) is an error.
    match result.status.code() {
        Some(conflicts @ 0..=127) => Ok(Merged {
            bytes: result.stdout,
            conflicts: conflicts as u32,
        }),
        _ => bail!(
            "git merge-file failed: {}",
            String::from_utf8_lossy(&result.stderr)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_edits_to_different_lines() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let merged = merge(
            scratch.path(),
            b"a\nb\nc\n",
            (b"A\nb\nc\n", "yours"),
            (b"a\nb\nC\n", "strata 0.2.0"),
        )
        .expect("merges");
        assert_eq!(merged.conflicts, 0);
        assert_eq!(merged.bytes, b"A\nb\nC\n");
    }

    #[test]
    fn marks_edits_to_the_same_line() {
        let scratch = tempfile::tempdir().expect("temp dir");
        let merged = merge(
            scratch.path(),
            b"port: 1\n",
            (b"port: 2\n", "yours"),
            (b"port: 3\n", "strata 0.2.0"),
        )
        .expect("merges");
        assert_eq!(merged.conflicts, 1);
        let text = String::from_utf8(merged.bytes).expect("text");
        assert!(
            text.contains("<<<<<<< yours\nport: 2\n=======\nport: 3\n>>>>>>> strata 0.2.0\n"),
            "{text}"
        );
    }
}
