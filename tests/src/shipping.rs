//! What the shipping tests share: the variants whose deploy and CI files they check,
//! and small readers for the rendered files.

use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

use crate::Variant;

/// Every database, with every shipping placeholder on (GitLab CI is opt-in). A new
/// database is one more entry; `covers_every_database` in
/// tests/tests/shipping_placeholders.rs fails until it is added.
pub const SHIPPED: [Variant; 3] = [
    Variant {
        name: "ship-sqlite",
        defines: &[("database", "sqlite"), ("gitlab_ci", "true")],
    },
    Variant {
        name: "ship-postgres",
        defines: &[("database", "postgres"), ("gitlab_ci", "true")],
    },
    Variant {
        name: "ship-mysql",
        defines: &[("database", "mysql"), ("gitlab_ci", "true")],
    },
];

/// The `database` placeholder's choices, read from template/cargo-generate.toml.
pub fn database_choices() -> Vec<String> {
    let manifest = crate::template_root().join("template/cargo-generate.toml");
    let text = std::fs::read_to_string(&manifest).expect("template/cargo-generate.toml");
    let table: toml::Table = text.parse().expect("cargo-generate.toml is TOML");
    table["placeholders"]["database"]["choices"]
        .as_array()
        .expect("database choices")
        .iter()
        .map(|choice| choice.as_str().expect("a string").to_owned())
        .collect()
}

/// The text of `path` in the rendered repository, panicking with the path if absent.
pub fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path))
        .unwrap_or_else(|err| panic!("{}: {err}", root.join(path).display()))
}

/// Every document of a YAML stream.
pub fn yaml_documents(text: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(text).unwrap_or_else(|err| panic!("not YAML: {err}\n{text}"))
}

/// The one document of a YAML file in the rendered repository.
pub fn yaml_file(root: &Path, path: &str) -> Yaml {
    let mut documents = yaml_documents(&read(root, path));
    assert_eq!(documents.len(), 1, "{path}: one YAML document");
    documents.remove(0)
}

/// Every file under `dir`, recursively, sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The `server.<transport>.addr` port of the rendered configs/config.yaml.
pub fn configured_port(root: &Path, transport: &str) -> u16 {
    let config = yaml_file(root, "configs/config.yaml");
    let addr = config["server"][transport]["addr"]
        .as_str()
        .unwrap_or_else(|| panic!("server.{transport}.addr"));
    addr.rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a port in {addr}"))
}

/// The admin listener's port that a deploy file sets through
/// `<PREFIX>__SERVER__ADMIN_ADDR=0.0.0.0:<port>` (Dockerfile `ENV`, `config.env`).
pub fn admin_port_set_in(root: &Path, file: &str, prefix: &str) -> u16 {
    let text =
        std::fs::read_to_string(root.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
    let key = format!("{prefix}__SERVER__ADMIN_ADDR=");
    let addr = text
        .lines()
        .find_map(|line| line.trim().split_once(&key).map(|(_, addr)| addr))
        .unwrap_or_else(|| panic!("{file} sets {key}"));
    addr.trim_end_matches(['\\', ' '])
        .rsplit(':')
        .next()
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("a port in {file}'s {key}{addr}"))
}

/// Seconds of a humantime duration as the config writes them: `10s`, `1m`.
pub fn seconds(duration: &str) -> u64 {
    let (number, unit) = duration.split_at(duration.trim_end_matches(char::is_alphabetic).len());
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("duration {duration}"));
    match unit {
        "s" => number,
        "m" => number * 60,
        _ => panic!("unit of {duration}"),
    }
}
