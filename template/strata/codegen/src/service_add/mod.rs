//! `cargo strata service-add <name>` (`make service-add NAME=billing`): a second
//! service beside the first, in the same workspace, with one Cargo.lock and the
//! one vendored framework.
//!
//! Its files come from the skeleton this framework release carries
//! ([`skeleton`]), rendered with the repository's answers and the new name and
//! ports, moved under `services/<name>/` with crates of their own
//! ([`relocate`]). The name is checked as at generation ([`name`]); everything
//! is rendered into a scratch directory first and moved in place at the end, so
//! a refused name or a failed step leaves the repository as it was.

mod name;
mod ports;
mod relocate;
mod shared;
mod skeleton;
mod workspace;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use ports::Ports;

/// Where added services live, relative to the repository's top.
pub const SERVICES_DIR: &str = "services";
const ANSWERS: &str = ".strata-answers.toml";
const COMPOSE: &str = "deploy/docker-compose.yaml";
const PROMETHEUS: &str = "deploy/prometheus/prometheus.yml";

/// What was added.
#[derive(Debug)]
pub struct Added {
    /// `services/<name>`, relative to the repository's top.
    pub dir: PathBuf,
    pub ports: Ports,
    /// The shared files that gained the service.
    pub shared: Vec<&'static str>,
}

/// Adds the service `name` to the repository at `root`.
pub fn run(root: &Path, name: &str) -> Result<Added> {
    let values = answers(root)?;
    let locked = locked_packages(root)?;
    let dir = Path::new(SERVICES_DIR).join(name);
    let first = skeleton::string(&values, "project-name")?;
    let problem = if root.join(&dir).exists() || first.replace('-', "_") == name.replace('-', "_") {
        let place = if root.join(&dir).exists() {
            dir.display().to_string()
        } else {
            "the repository's first service".into()
        };
        Some(format!("a service of that name exists already ({place})"))
    } else {
        name::problem_with(name, &locked, relocate::LAYERS)
    };
    if let Some(problem) = problem {
        bail!(
            "invalid service name `{name}`: {problem}. Run the command again with a valid name, \
             e.g. make service-add NAME={}",
            name::suggestion_for(name, &locked, relocate::LAYERS)
        );
    }

    let ports = ports::choose(first_ports(&values)?, &taken_ports(root, &values)?)?;
    let mut values = values;
    for (key, value) in [
        ("project-name", name.to_owned()),
        ("crate_name", name.replace('-', "_")),
        ("description", format!("The {name} service")),
        ("http_port", ports.http.to_string()),
        ("grpc_port", ports.grpc.to_string()),
        ("admin_port", ports.admin.to_string()),
    ] {
        values.insert(key.to_owned(), toml::Value::String(value));
    }
    let mut files = skeleton::render(&skeleton::dir(root), &values)?;
    let compose = files.remove(Path::new(COMPOSE));
    let prometheus = files.remove(Path::new(PROMETHEUS));
    relocate::relocate(name, &mut files)?;

    let members = [
        format!("{}/api", dir.display()),
        format!("{}/cmd/{name}", dir.display()),
        format!("{}/internal/*", dir.display()),
    ];
    let mut shared: Vec<(&'static str, String)> = vec![(
        "Cargo.toml",
        workspace::add_members(&read(root, "Cargo.toml")?, &members)?,
    )];
    if let (Some(rendered), Ok(team)) = (&compose, read(root, COMPOSE)) {
        let entry = shared::compose_entry(rendered, name)?;
        let text = shared::insert_after(&team, "services:", &entry)
            .with_context(|| format!("{COMPOSE} has no `services:` line to add {name} under"))?;
        shared.push((COMPOSE, text));
    }
    if let (Some(rendered), Ok(team)) = (&prometheus, read(root, PROMETHEUS)) {
        let job = shared::scrape_job(rendered, name)?;
        let text = shared::insert_after(&team, "scrape_configs:", &job)
            .with_context(|| format!("{PROMETHEUS} has no `scrape_configs:` line"))?;
        shared.push((PROMETHEUS, text));
    }
    if let Ok(readme) = read(root, "README.md") {
        let flag = |key: &str| matches!(values.get(key), Some(toml::Value::Boolean(true)));
        let section = shared::readme_section(name, ports, flag("docker"), flag("kubernetes"));
        shared.push(("README.md", format!("{}\n{section}", readme.trim_end())));
    }

    write(root, &dir, &files, &shared)?;
    Ok(Added {
        dir,
        ports,
        shared: shared.iter().map(|(path, _)| *path).collect(),
    })
}

/// Writes the service and the shared files, then lets cargo add the new crates
/// to Cargo.lock (offline: they depend only on locked crates) and checks that
/// the workspace builds them. Any failure puts everything back.
fn write(
    root: &Path,
    dir: &Path,
    files: &BTreeMap<PathBuf, String>,
    shared: &[(&'static str, String)],
) -> Result<()> {
    let scratch = tempfile::Builder::new()
        .prefix(".service-add-")
        .tempdir_in(root)
        .context("creating a scratch directory at the repository's top")?;
    for (path, text) in files {
        let path = scratch.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }

    let lock = read(root, "Cargo.lock").ok();
    let originals: Vec<(&str, Option<String>)> = shared
        .iter()
        .map(|(path, _)| (*path, read(root, path).ok()))
        .collect();
    let services_existed = root.join(SERVICES_DIR).exists();
    // Put back only what this run wrote: nothing in the repository changes
    // before the service is moved in.
    let undo = |moved: bool| {
        if moved {
            let _ = std::fs::remove_dir_all(root.join(dir));
            for (path, text) in originals.iter().chain([&("Cargo.lock", lock.clone())]) {
                if let Some(text) = text {
                    let _ = std::fs::write(root.join(path), text);
                }
            }
        }
        if !services_existed {
            let _ = std::fs::remove_dir(root.join(SERVICES_DIR));
        }
    };

    let mut moved = false;
    let result = (|| -> Result<()> {
        std::fs::create_dir_all(root.join(SERVICES_DIR))
            .with_context(|| format!("creating {SERVICES_DIR}/"))?;
        std::fs::rename(scratch.path(), root.join(dir))
            .with_context(|| format!("moving the new service into {}", dir.display()))?;
        moved = true;
        for (path, text) in shared {
            std::fs::write(root.join(path), text).with_context(|| format!("writing {path}"))?;
        }
        check_workspace(root, dir)
    })();
    if result.is_err() {
        undo(moved);
    }
    result
}

/// `cargo update --workspace --offline` writes the new crates into Cargo.lock
/// and moves no other (they depend only on locked crates); every one must then
/// be a default member, or `cargo build` at the top would skip it.
fn check_workspace(root: &Path, dir: &Path) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let run = |args: &[&str]| -> Result<Vec<u8>> {
        let output = Command::new(&cargo)
            .args(args)
            .current_dir(root)
            .output()
            .with_context(|| format!("running cargo {}", args.join(" ")))?;
        ensure!(
            output.status.success(),
            "`cargo {}` failed with the new service:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(output.stdout)
    };
    run(&["update", "--workspace", "--offline", "--quiet"])?;
    let stdout = run(&[
        "metadata",
        "--no-deps",
        "--offline",
        "--format-version",
        "1",
    ])?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&stdout).context("reading cargo metadata's output")?;
    let default_members: BTreeSet<&str> = metadata["workspace_default_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let manifest_dir = root
        .join(dir)
        .canonicalize()
        .unwrap_or_else(|_| root.join(dir));
    let members = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|package| {
            package["id"]
                .as_str()
                .is_some_and(|id| default_members.contains(id))
        })
        .filter_map(|package| package["manifest_path"].as_str())
        .filter(|path| Path::new(path).starts_with(&manifest_dir))
        .count();
    ensure!(
        members == relocate::LAYERS.len() + 1,
        "Cargo.toml's workspace does not build every crate under {}: check its `members`, \
         `default-members` and `exclude`",
        dir.display()
    );
    Ok(())
}

/// The repository this runs in: the nearest directory from the working directory
/// up that holds `.strata-answers.toml`. Found at run time: the binary may have
/// been built for another checkout sharing the target directory.
pub fn find_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the working directory")?;
    cwd.ancestors()
        .find(|dir| dir.join(ANSWERS).is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "no {ANSWERS} in {} or above: run this at the top of a strata repository (one \
                 generated before strata recorded its answers takes `make upgrade` first)",
                cwd.display()
            )
        })
}

fn read(root: &Path, path: &str) -> Result<String> {
    std::fs::read_to_string(root.join(path)).with_context(|| format!("reading {path}"))
}

/// The `[values]` of `.strata-answers.toml`: what the repository was generated with.
fn answers(root: &Path) -> Result<BTreeMap<String, toml::Value>> {
    #[derive(serde::Deserialize)]
    struct File {
        values: BTreeMap<String, toml::Value>,
    }
    let text = read(root, ANSWERS).with_context(|| {
        format!(
            "{ANSWERS} is missing: a repository generated before strata recorded its answers \
             takes `make upgrade` first (docs/upgrade.md in the strata repository)"
        )
    })?;
    let file: File =
        toml::from_str(&text).with_context(|| format!("{ANSWERS} has no valid [values] table"))?;
    Ok(file.values)
}

/// Every package name in Cargo.lock: the repository's services and crates, and
/// every crate they depend on.
fn locked_packages(root: &Path) -> Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        package: Vec<Package>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: String,
    }
    let text = read(root, "Cargo.lock")?;
    let lock: Lock = toml::from_str(&text).context("Cargo.lock does not parse")?;
    Ok(lock
        .package
        .into_iter()
        .map(|package| package.name)
        .collect())
}

fn first_ports(values: &BTreeMap<String, toml::Value>) -> Result<Ports> {
    let port = |key: &str| -> Result<u16> {
        skeleton::string(values, key)?
            .parse()
            .with_context(|| format!("{ANSWERS}: `{key}` is not a port"))
    };
    Ok(Ports {
        http: port("http_port")?,
        grpc: port("grpc_port")?,
        admin: port("admin_port")?,
    })
}

/// The first service's ports and every port a service's config names.
fn taken_ports(root: &Path, values: &BTreeMap<String, toml::Value>) -> Result<BTreeSet<u16>> {
    let first = first_ports(values)?;
    let mut taken = BTreeSet::from([first.http, first.grpc, first.admin]);
    let mut configs = vec![root.join("configs/config.yaml")];
    if let Ok(entries) = std::fs::read_dir(root.join(SERVICES_DIR)) {
        for entry in entries.flatten() {
            configs.push(entry.path().join("configs/config.yaml"));
        }
    }
    for config in configs {
        if let Ok(text) = std::fs::read_to_string(&config) {
            taken.extend(ports::named_in(&text));
        }
    }
    Ok(taken)
}
