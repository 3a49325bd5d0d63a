//! Registration at marker comments, as loco's generators do: a file that new code
//! must be listed in carries `// strata:scaffold <slot>` lines, and scaffolding
//! inserts above the marker, so nothing is printed for a person to paste.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Lines to insert above the marker `// strata:scaffold <slot>` of `file`.
#[derive(Debug, Clone)]
pub struct Insert {
    /// Relative to the repository root.
    pub file: PathBuf,
    pub slot: &'static str,
    pub lines: Vec<String>,
}

impl Insert {
    pub fn new(file: impl Into<PathBuf>, slot: &'static str, lines: &[String]) -> Self {
        Self {
            file: file.into(),
            slot,
            lines: lines.to_vec(),
        }
    }
}

/// The marker comment of `slot`.
pub fn marker(slot: &str) -> String {
    format!("// strata:scaffold {slot}")
}

/// Every file of `inserts` with its lines in place, computed without writing:
/// a missing file or marker refuses the whole set. A line the file holds already
/// is not added twice.
pub fn plan(root: &Path, inserts: &[Insert]) -> Result<Vec<(PathBuf, String)>> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for insert in inserts {
        let index = match files.iter().position(|(file, _)| *file == insert.file) {
            Some(index) => index,
            None => {
                let path = root.join(&insert.file);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", insert.file.display()))?;
                files.push((insert.file.clone(), text));
                files.len() - 1
            }
        };
        let text = &mut files[index].1;
        *text = insert_above(text, &marker(insert.slot), &insert.lines)
            .with_context(|| insert.file.display().to_string())?;
    }
    Ok(files)
}

/// `text` with `lines` above the line holding `marker`, at its indentation.
fn insert_above(text: &str, marker: &str, lines: &[String]) -> Result<String> {
    let Some(at) = text.lines().position(|line| line.trim() == marker) else {
        bail!(
            "has no `{marker}` line: put it back where new entries go (docs/add-an-api.md, \
             \"Markers\"), then run the command again"
        );
    };
    let all: Vec<&str> = text.lines().collect();
    let indent: String = all[at].chars().take_while(|c| c.is_whitespace()).collect();
    let mut out = String::with_capacity(text.len() + 200);
    for line in &all[..at] {
        out.push_str(line);
        out.push('\n');
    }
    for line in lines {
        if all.iter().any(|existing| existing.trim() == line.trim()) {
            continue;
        }
        out.push_str(&indent);
        out.push_str(line);
        out.push('\n');
    }
    for line in &all[at..] {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_above_the_marker_at_its_indentation_once() {
        let text = "mod a;\n// strata:scaffold mod\n\nstruct S {\n    a: A,\n    // strata:scaffold field\n}\n";

        let once = insert_above(text, "// strata:scaffold field", &["b: B,".into()]).expect("ok");
        let twice = insert_above(&once, "// strata:scaffold field", &["b: B,".into()]).expect("ok");

        assert_eq!(
            once,
            "mod a;\n// strata:scaffold mod\n\nstruct S {\n    a: A,\n    b: B,\n    // strata:scaffold field\n}\n"
        );
        assert_eq!(twice, once);
    }

    #[test]
    fn a_missing_marker_names_it() {
        let err = insert_above("mod a;\n", "// strata:scaffold mod", &["mod b;".into()])
            .expect_err("no marker");
        assert!(
            err.to_string().contains("`// strata:scaffold mod`"),
            "{err}"
        );
    }
}
