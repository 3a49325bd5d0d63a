//! `make scaffold`: one resource through every layer of a service, planned in
//! full (every file and every registration) before anything is written.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::crud;
use super::kinds::Database;
use super::layout::{Layout, Registration};
use super::markers::{self, Insert};
use super::names::Resource;

/// Everything a scaffold writes: new files and registered-in files, with text.
#[derive(Debug)]
pub struct Plan {
    pub resource: Resource,
    pub database: Database,
    /// New files, relative to the root.
    pub created: Vec<(PathBuf, String)>,
    /// Existing files with the registration lines in place.
    pub edited: Vec<(PathBuf, String)>,
}

/// What `resource` adds to the service of `layout`; refuses, naming the file, a
/// resource that exists, and a file lacking a marker.
pub fn plan(root: &Path, layout: &Layout, resource: Resource) -> Result<Plan> {
    let database = layout.database(root)?;
    let plural = &resource.plural;
    let proto = layout.api.join(resource.proto());
    let package_dir = layout.api.join(plural);
    if root.join(&package_dir).exists() {
        bail!(
            "{} exists already: the resource {} (or its package) is there; scaffold never \
             overwrites. Pick another RESOURCE, or PLURAL= for another package",
            package_dir.display(),
            resource.singular
        );
    }
    let migrations = layout.data.join("migrations").join(database_dir(database));
    let migration = migrations.join(format!(
        "{}_create_{plural}.sql",
        migration_version(&root.join(&migrations))?
    ));
    let created = vec![
        (proto, crud::proto(&resource)),
        (
            layout.biz.join(format!("src/{plural}.rs")),
            crud::biz(&resource),
        ),
        (
            layout.biz.join(format!("src/testing/{plural}.rs")),
            crud::fake(&resource),
        ),
        (
            layout.data.join(format!("src/{plural}.rs")),
            crud::data(&resource, database),
        ),
        (migration, crud::migration(&resource, database)),
        (
            layout.service.join(format!("src/{plural}.rs")),
            crud::service(&resource),
        ),
        (
            layout.cmd.join(format!("tests/{plural}.rs")),
            crud::e2e(&resource),
        ),
    ];
    for (file, _) in &created {
        if root.join(file).exists() {
            bail!(
                "{} exists already: the resource {} is there; scaffold never overwrites",
                file.display(),
                resource.singular
            );
        }
    }
    let tables = std::fs::read_dir(root.join(&migrations))
        .with_context(|| format!("reading {}", migrations.display()))?;
    for entry in tables.filter_map(|entry| entry.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(&format!("_create_{plural}.sql")) {
            bail!(
                "{} creates the table {plural} already; scaffold never overwrites",
                migrations.join(name).display()
            );
        }
    }
    let edited = markers::plan(root, &inserts(layout, &resource))?;
    Ok(Plan {
        resource,
        database,
        created,
        edited,
    })
}

/// Writes `plan`, then formats what it wrote with rustfmt (long names wrap).
pub fn write(root: &Path, plan: &Plan) -> Result<()> {
    for (file, text) in plan.created.iter().chain(&plan.edited) {
        let path = root.join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", file.display()))?;
    }
    let files: Vec<PathBuf> = plan
        .created
        .iter()
        .chain(&plan.edited)
        .map(|(file, _)| file.clone())
        .collect();
    rustfmt(root, &files);
    Ok(())
}

/// Formats the Rust files of `files` in place, as `make fmt` would. A missing
/// rustfmt only warns: the code compiles either way, and `make lint` will say.
pub(crate) fn rustfmt(root: &Path, files: &[PathBuf]) {
    let rust: Vec<PathBuf> = files
        .iter()
        .filter(|file| file.extension().is_some_and(|ext| ext == "rs"))
        .map(|file| root.join(file))
        .collect();
    if rust.is_empty() {
        return;
    }
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    let status = std::process::Command::new(rustfmt)
        .args(["--edition", "2024"])
        .args(&rust)
        .current_dir(root)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("warning: rustfmt {status}; run `make fmt`"),
        Err(err) => eprintln!("warning: rustfmt did not run ({err}); run `make fmt`"),
    }
}

/// Where the resource is registered: biz, its fake, data, and the api service.
fn inserts(layout: &Layout, resource: &Resource) -> Vec<Insert> {
    let plural = &resource.plural;
    let name = &resource.type_name;
    let biz_exports = [
        name.clone(),
        format!("{name}Changes"),
        format!("{name}Page"),
        format!("{name}Repo"),
        format!("{name}Usecase"),
        format!("New{name}"),
    ];
    let biz_lib = layout.biz.join("src/lib.rs");
    let testing = layout.biz.join("src/testing.rs");
    let data_lib = layout.data.join("src/lib.rs");
    let mut inserts = vec![
        Insert::new(&biz_lib, "mod", &[format!("mod {plural};")]),
        Insert::new(
            &biz_lib,
            "use",
            &[["pub use ", plural, "::", "{", &biz_exports.join(", "), "};"].concat()],
        ),
        Insert::new(&testing, "mod", &[format!("mod {plural};")]),
        Insert::new(
            &testing,
            "use",
            &[format!("pub use {plural}::Fake{name}Repo;")],
        ),
        Insert::new(&data_lib, "mod", &[format!("mod {plural};")]),
        Insert::new(
            &data_lib,
            "use",
            &[format!("pub use {plural}::{name}Repo;")],
        ),
        Insert::new(
            layout.cmd.join("src/lib.rs"),
            "usecase",
            &[format!(
                "let {plural} = biz::{name}Usecase::new(data::{name}Repo::new(data.clone()));"
            )],
        ),
    ];
    let api = format!("api::{plural}::v1");
    let snake = format!("{}_service", resource.singular);
    inserts.extend(layout.registration(&Registration {
        module: plural.clone(),
        struct_name: format!("{name}Service"),
        field: plural.clone(),
        field_doc: format!("{}.{name}Service", resource.package()),
        constructor: format!("service::{name}Service::new({plural})"),
        grpc_server: format!("{api}::{snake}_server::{name}ServiceServer"),
        http_routes: format!("{api}::{snake}_http_routes"),
    }));
    inserts
}

fn database_dir(database: Database) -> &'static str {
    Database::ALL
        .iter()
        .find(|(_, d)| *d == database)
        .map(|(name, _)| *name)
        .unwrap_or("sqlite")
}

/// The new migration's version: now (UTC, `YYYYMMDDHHMMSS`), or one past the
/// newest migration there if that is later, so it always applies last.
fn migration_version(dir: &Path) -> Result<u64> {
    let newest = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.split('_').next()?.parse::<u64>().ok()
        })
        .max()
        .unwrap_or(0);
    Ok(timestamp(SystemTime::now()).max(newest + 1))
}

/// `time` as the number `YYYYMMDDHHMMSS` (UTC).
fn timestamp(time: SystemTime) -> u64 {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil(days);
    let clock = (rest / 3_600) * 10_000 + (rest % 3_600 / 60) * 100 + rest % 60;
    ((year * 100 + month) * 100 + day) * 1_000_000 + clock
}

/// The calendar date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn migration_versions_read_as_utc_dates() {
        let time = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        assert_eq!(timestamp(time), 20261130005320);
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            20000229000000
        );
    }
}
