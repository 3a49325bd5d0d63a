//! The service skeleton: the template's own service files (`skeleton/`, Liquid and
//! all, copied from the strata template by its `make skeleton`), rendered with
//! the Liquid engine cargo-generate uses, and the answers this repository was
//! generated with but the new service's name and ports. It is part of the
//! vendored framework, so after `make upgrade` it is the new release's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Where the skeleton is in the repository at `root`: read from there, not from
/// the folder this binary was built in, which a shared target directory may have
/// taken from another checkout.
pub fn dir(root: &Path) -> PathBuf {
    root.join("strata/codegen/skeleton")
}

/// A path segment standing for `{{project-name}}` (cargo-generate would rename
/// a real one inside strata/ while copying it).
const NAME_SEGMENT: &str = "_project-name_";
/// Every skeleton file's name ends so, keeping tools off the copies.
const SUFFIX: &str = ".skel";

/// Every file of the skeleton for `values`, by its path relative to a service's
/// directory (`cmd/billing/src/main.rs`), rendered; files the answers drop (the
/// `[conditional]` tables of the template's cargo-generate.toml) are left out.
pub fn render(
    skeleton: &Path,
    values: &BTreeMap<String, toml::Value>,
) -> Result<BTreeMap<PathBuf, String>> {
    let globals = globals(values);
    let parser = liquid::ParserBuilder::with_stdlib()
        .build()
        .context("building the Liquid parser")?;
    let render = |what: &str, text: &str| -> Result<String> {
        parser
            .parse(text)
            .and_then(|template| template.render(&globals))
            .with_context(|| format!("rendering {what} of the service skeleton"))
    };
    let ignored = ignored(skeleton, values, &render)?;
    let name = string(values, "project-name")?;

    let mut files = BTreeMap::new();
    for file in walk(skeleton)? {
        let relative = file.strip_prefix(skeleton).unwrap_or(&file);
        let Some(relative) = relative.to_str().and_then(|path| path.strip_suffix(SUFFIX)) else {
            continue;
        };
        let relative: PathBuf = Path::new(relative)
            .iter()
            .map(|part| {
                if part == NAME_SEGMENT {
                    name.clone().into()
                } else {
                    part.to_owned()
                }
            })
            .collect();
        if relative == Path::new("cargo-generate.toml")
            || ignored.iter().any(|drop| relative.starts_with(drop))
        {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let text = render(&relative.display().to_string(), &text)?;
        files.insert(relative, text);
    }
    Ok(files)
}

fn globals(values: &BTreeMap<String, toml::Value>) -> liquid::Object {
    let mut globals = liquid::Object::new();
    for (key, value) in values {
        let value = match value {
            toml::Value::Boolean(flag) => liquid::model::Value::scalar(*flag),
            toml::Value::Integer(number) => liquid::model::Value::scalar(*number),
            other => liquid::model::Value::scalar(other.as_str().unwrap_or_default().to_owned()),
        };
        globals.insert(key.clone().into(), value);
    }
    globals
}

/// A string answer.
pub fn string(values: &BTreeMap<String, toml::Value>, key: &str) -> Result<String> {
    match values.get(key) {
        Some(toml::Value::String(value)) => Ok(value.clone()),
        _ => bail!("the answers have no `{key} = \"...\"`"),
    }
}

/// The paths the template's `[conditional]` tables drop for these answers.
fn ignored(
    skeleton: &Path,
    values: &BTreeMap<String, toml::Value>,
    render: &dyn Fn(&str, &str) -> Result<String>,
) -> Result<Vec<PathBuf>> {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        conditional: BTreeMap<String, Conditional>,
    }
    #[derive(serde::Deserialize)]
    struct Conditional {
        #[serde(default)]
        ignore: Vec<String>,
    }
    let path = skeleton.join(format!("cargo-generate.toml{SUFFIX}"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: Config =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let mut dropped = Vec::new();
    for (condition, table) in config.conditional {
        if holds(&condition, values)? {
            for ignore in table.ignore {
                dropped.push(PathBuf::from(render("a [conditional] path", &ignore)?));
            }
        }
    }
    Ok(dropped)
}

/// Evaluates a `[conditional]` key as cargo-generate does, for the forms the
/// template uses: `a == "x"`, `a != "x"`, `flag`, `!flag`, joined by `&&`.
fn holds(condition: &str, values: &BTreeMap<String, toml::Value>) -> Result<bool> {
    let mut all = true;
    for term in condition.split("&&").map(str::trim) {
        let value = if let Some((key, wanted)) = term.split_once("!=") {
            string(values, key.trim())? != wanted.trim().trim_matches('"')
        } else if let Some((key, wanted)) = term.split_once("==") {
            string(values, key.trim())? == wanted.trim().trim_matches('"')
        } else {
            let (negated, key) = match term.strip_prefix('!') {
                Some(key) => (true, key.trim()),
                None => (false, term),
            };
            match values.get(key) {
                Some(toml::Value::Boolean(flag)) => *flag != negated,
                _ => bail!(
                    "the skeleton's cargo-generate.toml has a condition this strata cannot read: `{condition}`"
                ),
            }
        };
        all &= value;
    }
    Ok(all)
}

/// Every file under `dir`, sorted.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, toml::Value)]) -> BTreeMap<String, toml::Value> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn reads_the_template_conditions() {
        let values = values(&[
            ("database", toml::Value::String("postgres".into())),
            ("docker", toml::Value::Boolean(false)),
            ("kubernetes", toml::Value::Boolean(true)),
        ]);
        assert!(holds("database != \"sqlite\"", &values).expect("reads"));
        assert!(!holds("database == \"sqlite\"", &values).expect("reads"));
        assert!(holds("!docker", &values).expect("reads"));
        assert!(!holds("!docker && !kubernetes", &values).expect("reads"));
        assert!(holds("unknown || x", &values).is_err());
    }
}
