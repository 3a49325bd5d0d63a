//! Where settings come from, in order (later wins): the config file or directory,
//! the environment file, environment variables, `--set` flags. Each source is read
//! on its own as well, so an unknown key can be blamed on the one that has it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use config::builder::DefaultState;
use config::{Config, ConfigBuilder, Environment, File, FileFormat, Map, Value, ValueKind};

use crate::Error;

/// One source of settings and the key paths it sets.
pub(crate) struct Source {
    /// How an error names it: `file <path>`, `environment` or `--set`.
    pub(crate) origin: String,
    pub(crate) keys: BTreeSet<String>,
    /// For the environment: the prefix, so an error can name the variable.
    pub(crate) env_prefix: Option<String>,
}

impl Source {
    /// How an error about `key` names this source: the file, the exact
    /// environment variable, or `--set`.
    pub(crate) fn describe(&self, key: &str) -> String {
        match &self.env_prefix {
            Some(prefix) if !key.is_empty() => format!(
                "environment variable {prefix}__{}",
                key.to_uppercase().replace('.', "__")
            ),
            _ => self.origin.clone(),
        }
    }
}

/// The YAML files `path` stands for: the file itself, or every `.yaml`/`.yml` in
/// the directory, in name order (as Kratos merges a config directory).
pub(crate) fn config_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        return Err(Error::NotFound { path: path.into() });
    }
    let read = |reason| Error::Read {
        path: path.into(),
        reason,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|file| {
            file.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::NotFound { path: path.into() });
    }
    Ok(files)
}

/// `config.<env>.yaml` beside the config file (or in the config directory).
pub(crate) fn env_file(conf: &Path, env: &str) -> PathBuf {
    let dir = if conf.is_dir() {
        conf
    } else {
        conf.parent().unwrap_or(Path::new("."))
    };
    dir.join(format!("config.{env}.yaml"))
}

/// A YAML file with its `${VAR}` / `${VAR:default}` placeholders resolved.
pub(crate) fn read_yaml(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|reason| Error::Read {
        path: path.into(),
        reason,
    })?;
    resolve_placeholders(&text, |name| std::env::var(name).ok()).map_err(|problem| {
        Error::Placeholder {
            path: path.into(),
            problem,
        }
    })
}

/// Replaces `${VAR}` with the variable's value and `${VAR:default}` with the value
/// or, when unset, the default. An unset `${VAR}` without default is an error.
pub(crate) fn resolve_placeholders(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut resolved = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        resolved.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in {:?}", &rest[start..]))?;
        let (name, default) = match after[..end].split_once(':') {
            Some((name, default)) => (name, Some(default)),
            None => (&after[..end], None),
        };
        let value = lookup(name)
            .or_else(|| default.map(str::to_owned))
            .ok_or_else(|| {
                // Spelled out rather than escaped in a format string: this file is a
                // template, and doubled braces would be read as placeholders.
                let unset = ["$", "{", name, "}"].concat();
                let defaulted = ["$", "{", name, ":value", "}"].concat();
                format!("{unset} is not set (give a default: {defaulted})")
            })?;
        resolved.push_str(&value);
        rest = &after[end + 1..];
    }
    resolved.push_str(rest);
    Ok(resolved)
}

/// The environment source: `PREFIX__A__B` sets `a.b`.
pub(crate) fn environment(prefix: &str) -> Environment {
    Environment::with_prefix(prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
}

/// The key paths (`server.http.addr`) a single source sets.
pub(crate) fn keys_of(
    origin: String,
    builder: ConfigBuilder<DefaultState>,
) -> Result<Source, Error> {
    let table = builder
        .build()
        .and_then(|config| config.try_deserialize::<Map<String, Value>>())
        .map_err(|reason| Error::Invalid {
            origin: origin.clone(),
            reason: reason.to_string(),
        })?;
    let mut keys = BTreeSet::new();
    flatten("", &table, &mut keys);
    Ok(Source {
        origin,
        keys,
        env_prefix: None,
    })
}

/// A YAML text as a source.
pub(crate) fn yaml(text: &str) -> File<config::FileSourceString, FileFormat> {
    File::from_str(text, FileFormat::Yaml)
}

/// Every leaf key path of `table`; lists are leaves.
pub(crate) fn flatten(prefix: &str, table: &Map<String, Value>, keys: &mut BTreeSet<String>) {
    for (name, value) in table {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match &value.kind {
            ValueKind::Table(inner) if !inner.is_empty() => flatten(&path, inner, keys),
            _ => {
                keys.insert(path);
            }
        }
    }
}

/// A builder over nothing yet.
pub(crate) fn builder() -> ConfigBuilder<DefaultState> {
    Config::builder()
}
