//! The rendered skeleton, moved from a repository's top to `services/<name>/`:
//! the same layout one level down, with crate names of its own. Each edit names
//! the text it expects, so a template change that moves it fails loudly here
//! (and in strata's tests) rather than writing a service that does not build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};

/// The layer crates every service has, besides its binary; an added service's
/// are `<name>-<layer>` packages its own manifests rename back to `<layer>`,
/// so its code reads `use biz::...` as the first service's does.
pub const LAYERS: &[&str] = &["api", "biz", "conf", "data", "server", "service"];

/// Where a layer crate is, inside a service's directory.
fn layer_dir(layer: &str) -> PathBuf {
    if layer == "api" {
        PathBuf::from("api")
    } else {
        Path::new("internal").join(layer)
    }
}

/// Rewrites `files` (the skeleton rendered for `name`) for `services/<name>/`.
pub fn relocate(name: &str, files: &mut BTreeMap<PathBuf, String>) -> Result<()> {
    let service_dir = format!("services/{name}");
    for (path, text) in files.iter_mut() {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let crate_dir = path.parent().unwrap_or(Path::new(""));
        match file_name {
            "Cargo.toml" => *text = manifest(name, crate_dir, text)?,
            "build.rs" if crate_dir == Path::new("api") => {
                // Both the compile call and `rerun-if-changed` name it.
                *text = replace(path, text, "../third_party\"", "../../../third_party\"")?;
            }
            "main.rs" if crate_dir.starts_with("cmd") => {
                *text = replace(
                    path,
                    text,
                    "default_value = \"configs/config.yaml\"",
                    &format!("default_value = \"{service_dir}/configs/config.yaml\""),
                )?;
            }
            "Dockerfile" => {
                let moved = replace(
                    path,
                    text,
                    "COPY configs /app/configs",
                    &format!("COPY {service_dir}/configs /app/configs"),
                )?;
                *text = moved.replace(
                    "-f deploy/Dockerfile",
                    &format!("-f {service_dir}/deploy/Dockerfile"),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

fn replace(path: &Path, text: &str, from: &str, to: &str) -> Result<String> {
    ensure!(
        text.contains(from),
        "the service skeleton's {} no longer holds `{from}`; this strata release cannot add a service",
        path.display()
    );
    Ok(text.replace(from, to))
}

/// A crate manifest: its package renamed `<name>-<layer>` (the binary keeps
/// `<name>`), and every layer it depends on taken by path under its usual name.
fn manifest(name: &str, crate_dir: &Path, text: &str) -> Result<String> {
    let own_layer = LAYERS
        .iter()
        .find(|layer| layer_dir(layer) == crate_dir)
        .copied();
    let mut out = String::with_capacity(text.len() + 256);
    let mut renamed = own_layer.is_none();
    for line in text.lines() {
        let mut line = line.to_owned();
        if let Some(layer) = own_layer
            && line == format!("name = \"{layer}\"")
        {
            line = format!("name = \"{name}-{layer}\"");
            renamed = true;
        }
        for layer in LAYERS {
            let path = relative(crate_dir, &layer_dir(layer));
            let by_path = format!("package = \"{name}-{layer}\", path = \"{path}\"");
            if line == format!("{layer}.workspace = true") {
                line = format!("{layer} = {{ {by_path} }}");
            } else if let Some(rest) = line.strip_prefix(&format!("{layer} = {{ workspace = true"))
            {
                line = format!("{layer} = {{ {by_path}{rest}");
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    ensure!(
        renamed,
        "the service skeleton's {}/Cargo.toml has no `name = \"...\"` line to rename",
        crate_dir.display()
    );
    check_manifest(crate_dir, &out)?;
    Ok(out)
}

/// No layer is left to the workspace's table, which names the first service's.
fn check_manifest(crate_dir: &Path, text: &str) -> Result<()> {
    let manifest: toml::Table = toml::from_str(text)
        .with_context(|| format!("{}/Cargo.toml does not parse", crate_dir.display()))?;
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let Some(table) = manifest.get(section).and_then(toml::Value::as_table) else {
            continue;
        };
        for layer in LAYERS {
            let inherited = table
                .get(*layer)
                .and_then(toml::Value::as_table)
                .is_none_or(|dep| dep.contains_key("workspace"));
            if table.contains_key(*layer) && inherited {
                bail!(
                    "the service skeleton's {}/Cargo.toml takes `{layer}` in a form this strata cannot rename",
                    crate_dir.display()
                );
            }
        }
    }
    Ok(())
}

/// `to` as seen from `from`, both relative to the service's directory.
fn relative(from: &Path, to: &Path) -> String {
    let common = from
        .iter()
        .zip(to.iter())
        .take_while(|(a, b)| a == b)
        .count();
    let up = from.iter().count() - common;
    let mut path: Vec<String> = std::iter::repeat_n("..".to_owned(), up).collect();
    path.extend(
        to.iter()
            .skip(common)
            .map(|part| part.to_string_lossy().into_owned()),
    );
    path.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_the_crate_and_its_layers() {
        let text = "[package]\nname = \"service\"\n\n[dependencies]\napi.workspace = true\nbiz.workspace = true\ntokio.workspace = true\n\n[dev-dependencies]\nbiz = { workspace = true, features = [\"testing\"] }\n";
        let out = manifest("billing", Path::new("internal/service"), text).expect("rewrites");
        assert_eq!(
            out,
            "[package]\nname = \"billing-service\"\n\n[dependencies]\n\
             api = { package = \"billing-api\", path = \"../../api\" }\n\
             biz = { package = \"billing-biz\", path = \"../biz\" }\n\
             tokio.workspace = true\n\n[dev-dependencies]\n\
             biz = { package = \"billing-biz\", path = \"../biz\", features = [\"testing\"] }\n"
        );
    }

    #[test]
    fn keeps_the_binary_name() {
        let text = "[package]\nname = \"billing\"\n\n[dependencies]\nconf.workspace = true\n";
        let out = manifest("billing", Path::new("cmd/billing"), text).expect("rewrites");
        assert!(out.contains("name = \"billing\"\n"), "{out}");
        assert!(
            out.contains("conf = { package = \"billing-conf\", path = \"../../internal/conf\" }"),
            "{out}"
        );
    }

    #[test]
    fn refuses_a_layer_it_cannot_rename() {
        let text = "[package]\nname = \"data\"\n\n[dependencies]\nbiz = { version = \"1\", workspace = true }\n";
        let err = manifest("billing", Path::new("internal/data"), text).expect_err("refused");
        assert!(err.to_string().contains("`biz`"), "{err}");
    }
}
