//! `.strata-answers.toml`: the strata release a service was generated from and
//! every answer given to cargo-generate, in the `[values]` form
//! `cargo generate --template-values-file` reads back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The record's file name, at the top of a service repository.
pub const FILE: &str = ".strata-answers.toml";

/// What the upgrade needs from the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    /// The file itself, handed to cargo-generate as it is.
    pub path: PathBuf,
    /// The strata release (`0.1.0`), whose tag is `v0.1.0`.
    pub version: String,
    /// The `--name` the service was generated with.
    pub project_name: String,
}

#[derive(Deserialize)]
struct File {
    values: BTreeMap<String, toml::Value>,
}

impl Answers {
    /// Reads `<root>/.strata-answers.toml`.
    pub fn read(root: &Path) -> Result<Self> {
        let path = root.join(FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}: a repository generated before strata recorded its answers \
                 has none; docs/upgrade.md in the strata repository says how to write it",
                path.display()
            )
        })?;
        Self::parse(&path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self> {
        let file: File = toml::from_str(text).with_context(|| {
            format!("{} is not valid TOML with a [values] table", path.display())
        })?;
        let string = |key: &str| match file.values.get(key) {
            Some(toml::Value::String(value)) if !value.is_empty() => Ok(value.clone()),
            _ => bail!(
                "{} has no `{key} = \"...\"` under [values]; restore it from git history",
                path.display()
            ),
        };
        Ok(Self {
            path: path.to_path_buf(),
            version: string("strata_version")?,
            project_name: string("project-name")?,
        })
    }

    /// The git tag of the recorded release.
    pub fn tag(&self) -> String {
        format!("v{}", self.version)
    }
}

/// The service's root: the nearest directory from `start` upwards holding the record.
pub fn find_root(start: &Path) -> Result<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(FILE).is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "no {FILE} in {} or above: run this at the top of a strata service (a \
                 repository generated before strata recorded its answers has none; \
                 docs/upgrade.md in the strata repository says how to write it)",
                start.display()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_and_name() {
        let text =
            "[values]\nstrata_version = \"0.2.0\"\nproject-name = \"up-svc\"\ndocker = true\n";
        let answers = Answers::parse(Path::new("a.toml"), text).expect("parses");
        assert_eq!(answers.version, "0.2.0");
        assert_eq!(answers.project_name, "up-svc");
        assert_eq!(answers.tag(), "v0.2.0");
    }

    #[test]
    fn names_a_missing_key() {
        let err = Answers::parse(Path::new("a.toml"), "[values]\nproject-name = \"x\"\n")
            .expect_err("no version");
        assert!(err.to_string().contains("strata_version"), "{err}");
    }
}
