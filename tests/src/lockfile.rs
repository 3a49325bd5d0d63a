//! The template's Cargo.lock (`template/Cargo.lock`): one Liquid file that renders,
//! for every database and every service name, the bytes cargo itself would write.
//!
//! `make lock` (the `lockfile` binary) renders each database with [`PROBE`] as the
//! name, lets `cargo generate-lockfile` resolve it as a new user's first build would,
//! and [`merge`]s the three lockfiles:
//!
//! - a `[[package]]` block the same in every variant is written as it is; one that
//!   differs is written once per text, inside `{% if database == ... %}`;
//! - the service's own block (the only one that names it; nothing depends on it) is
//!   captured once at the top, with `{{project-name}}` for its name, and emitted at
//!   the one gap between two package names where the service's name sorts: cargo
//!   orders packages by name (plain byte order), then version, then source.
//!
//! Every Liquid tag sits on one of the blank lines between two blocks, so the
//! rendered file is byte for byte the lockfile, without whitespace control.

use std::cmp::Ordering;

use crate::Variant;

/// The name the maintainer tool renders with. It must sort apart from every
/// package name in the lock and appear nowhere but in the service's own block.
pub const PROBE: &str = "strata-lockfile-probe";

/// The `database` values, in the order the merged file tests them.
pub const DATABASES: [&str; 3] = ["sqlite", "postgres", "mysql"];

/// Where the file lives, relative to the repository's top level.
pub const TEMPLATE_LOCK: &str = "template/Cargo.lock";

/// The Rhai module with every package name in the lock, which
/// `hooks/validate-name.rhai` refuses as a service name: a service sharing its name
/// with a locked crate makes cargo qualify every reference to that crate
/// (`"http 1.5.0"`), which the template's lock does not do.
pub const NAMES_MODULE: &str = "hooks/locked-names.rhai";

const SEPARATOR: &str = "\n\n[[package]]\n";

/// One `[[package]]` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    /// The block as it is in the file: `"\n[[package]]\n"`, then its lines, each
    /// ending in `\n` (the blank line before the block is its first character).
    pub text: String,
}

impl Package {
    /// Cargo's order of [[package]] blocks: name (bytes), version (semver), source.
    pub fn cmp_key(&self, other: &Self) -> Ordering {
        self.name
            .as_bytes()
            .cmp(other.name.as_bytes())
            .then_with(|| cmp_semver(&self.version, &other.version))
            .then_with(|| self.source.cmp(&other.source))
    }
}

/// A parsed Cargo.lock: its header (`version = 4` and the comment above it) and
/// its packages, in file order.
#[derive(Debug, Clone)]
pub struct Lock {
    pub header: String,
    pub packages: Vec<Package>,
}

impl Lock {
    /// The file again, byte for byte.
    pub fn to_text(&self) -> String {
        let mut text = self.header.clone();
        for package in &self.packages {
            text.push_str(&package.text);
        }
        text
    }

    /// Whether every block follows the previous one in cargo's order.
    pub fn out_of_order(&self) -> Option<(&Package, &Package)> {
        self.packages
            .windows(2)
            .find(|pair| pair[0].cmp_key(&pair[1]) != Ordering::Less)
            .map(|pair| (&pair[0], &pair[1]))
    }

    pub fn package(&self, name: &str) -> Option<&Package> {
        self.packages.iter().find(|package| package.name == name)
    }
}

/// Parses a lockfile cargo wrote (version 4: a header, then `[[package]]` blocks
/// separated by one blank line). Errors on anything else, such as a table other
/// than `[[package]]`, so nothing is silently dropped.
pub fn parse(text: &str) -> Result<Lock, String> {
    let Some(first) = text.find(SEPARATOR) else {
        return Err("no [[package]] block".into());
    };
    let header = text[..first + 1].to_owned();
    if !header.contains("\nversion = 4\n") {
        return Err(format!("not a version 4 lockfile:\n{header}"));
    }
    let mut packages = Vec::new();
    let mut rest = &text[first + 1..];
    while !rest.is_empty() {
        let end = rest[1..].find(SEPARATOR).map_or(rest.len(), |at| at + 2);
        let block = &rest[..end];
        rest = &rest[end..];
        packages.push(parse_block(block)?);
    }
    if !text.ends_with("\n") || text.ends_with("\n\n") {
        return Err("the file does not end with exactly one newline".into());
    }
    let lock = Lock { header, packages };
    debug_assert_eq!(lock.to_text(), text);
    Ok(lock)
}

fn parse_block(block: &str) -> Result<Package, String> {
    let body = block
        .strip_prefix(&SEPARATOR[1..])
        .ok_or_else(|| format!("a block does not start with [[package]]:\n{block}"))?;
    let mut name = None;
    let mut version = None;
    let mut source = None;
    for line in body.lines() {
        if line.is_empty() || line.starts_with('[') {
            return Err(format!("unexpected line {line:?} in:\n{block}"));
        }
        let field = |key: &str| {
            line.strip_prefix(key)
                .and_then(|value| value.strip_prefix(" = \""))
                .and_then(|value| value.strip_suffix('"'))
                .map(str::to_owned)
        };
        name = name.or_else(|| field("name"));
        version = version.or_else(|| field("version"));
        source = source.or_else(|| field("source"));
    }
    Ok(Package {
        name: name.ok_or_else(|| format!("a block without a name:\n{block}"))?,
        version: version.ok_or_else(|| format!("a block without a version:\n{block}"))?,
        source,
        text: block.to_owned(),
    })
}

/// Semver precedence, as cargo's `semver::Version` orders (build metadata last).
fn cmp_semver(a: &str, b: &str) -> Ordering {
    fn split(version: &str) -> (Vec<u64>, Option<&str>, Option<&str>) {
        let (version, build) = version
            .split_once('+')
            .map_or((version, None), |(v, b)| (v, Some(b)));
        let (core, pre) = version
            .split_once('-')
            .map_or((version, None), |(c, p)| (c, Some(p)));
        let numbers = core.split('.').map(|n| n.parse().unwrap_or(0)).collect();
        (numbers, pre, build)
    }
    fn cmp_identifiers(a: &str, b: &str) -> Ordering {
        let mut a = a.split('.');
        let mut b = b.split('.');
        loop {
            match (a.next(), b.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(x), Some(y)) => {
                    let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                        (Ok(x), Ok(y)) => x.cmp(&y),
                        (Ok(_), Err(_)) => Ordering::Less,
                        (Err(_), Ok(_)) => Ordering::Greater,
                        (Err(_), Err(_)) => x.cmp(y),
                    };
                    if order != Ordering::Equal {
                        return order;
                    }
                }
            }
        }
    }
    let (a_core, a_pre, a_build) = split(a);
    let (b_core, b_pre, b_build) = split(b);
    a_core
        .cmp(&b_core)
        .then_with(|| match (a_pre, b_pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => cmp_identifiers(x, y),
        })
        .then_with(|| match (a_build, b_build) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => cmp_identifiers(x, y),
        })
}

/// `{% if database == "a" or database == "b" %}`.
fn database_condition(databases: &[&str]) -> String {
    let tests: Vec<String> = databases
        .iter()
        .map(|database| format!("database == \"{database}\""))
        .collect();
    format!("{{% if {} %}}", tests.join(" or "))
}

/// Writes `texts` (one per database, `None` where a database has none) grouped by
/// text: unconditionally when every database has the same, else once per text
/// inside a `database` condition.
fn push_by_database(out: &mut String, texts: &[(&str, Option<&str>)]) {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (database, text) in texts {
        let Some(text) = text else { continue };
        match groups.iter_mut().find(|(seen, _)| seen == text) {
            Some((_, databases)) => databases.push(database),
            None => groups.push((text, vec![database])),
        }
    }
    if let [(text, databases)] = &groups[..]
        && databases.len() == texts.len()
    {
        out.push_str(text);
        return;
    }
    for (text, databases) in groups {
        out.push_str(&database_condition(&databases));
        out.push_str(text);
        out.push_str("{% endif %}");
    }
}

/// The Liquid template from one lockfile per database, each rendered with the
/// name [`PROBE`].
pub fn merge(locks: &[(&str, Lock)]) -> Result<String, String> {
    let (_, first) = locks.first().ok_or("no lockfiles")?;
    for (database, lock) in locks {
        if lock.header != first.header {
            return Err(format!("{database}: another header:\n{}", lock.header));
        }
        if let Some((a, b)) = lock.out_of_order() {
            return Err(format!(
                "{database}: {} {} comes before {} {}",
                a.name, a.version, b.name, b.version
            ));
        }
        let probe = lock
            .package(PROBE)
            .ok_or_else(|| format!("{database}: no package {PROBE}"))?;
        for package in &lock.packages {
            if package.name != PROBE && package.text.contains(PROBE) {
                return Err(format!("{database}: {} names {PROBE}", package.name));
            }
        }
        if !probe.text.contains(&format!("\nname = \"{PROBE}\"\n"))
            || probe.text.matches(PROBE).count() != 1
        {
            return Err(format!(
                "{database}: {PROBE}'s block is unusual:\n{}",
                probe.text
            ));
        }
    }

    // Every other package once, in cargo's order.
    let mut all: Vec<&Package> = locks
        .iter()
        .flat_map(|(_, lock)| &lock.packages)
        .filter(|package| package.name != PROBE)
        .collect();
    all.sort_by(|a, b| a.cmp_key(b));
    all.dedup_by(|a, b| a.cmp_key(b) == Ordering::Equal);

    let mut out = String::from("{% capture service_package %}");
    let service: Vec<(&str, Option<String>)> = locks
        .iter()
        .map(|(database, lock)| {
            let text = lock.package(PROBE).map(|probe| {
                probe
                    .text
                    .replace(&format!("\"{PROBE}\""), "\"{{project-name}}\"")
            });
            (*database, text)
        })
        .collect();
    let service: Vec<(&str, Option<&str>)> = service
        .iter()
        .map(|(database, text)| (*database, text.as_deref()))
        .collect();
    push_by_database(&mut out, &service);
    out.push_str("{% endcapture %}");
    out.push_str(&first.header);

    let mut previous: Option<&str> = None;
    for package in &all {
        if previous != Some(package.name.as_str()) {
            // The service's block goes between the last name below it and the
            // first name above it.
            let below = previous.map_or(String::new(), |previous| {
                format!("project-name > \"{previous}\" and ")
            });
            out.push_str(&format!(
                "{{% if {below}project-name < \"{}\" %}}{{{{ service_package }}}}{{% endif %}}",
                package.name
            ));
            previous = Some(&package.name);
        }
        let texts: Vec<(&str, Option<&str>)> = locks
            .iter()
            .map(|(database, lock)| {
                let text = lock
                    .packages
                    .iter()
                    .find(|other| other.cmp_key(package) == Ordering::Equal)
                    .map(|other| other.text.as_str());
                (*database, text)
            })
            .collect();
        push_by_database(&mut out, &texts);
    }
    if let Some(last) = previous {
        out.push_str(&format!(
            "{{% if project-name > \"{last}\" %}}{{{{ service_package }}}}{{% endif %}}"
        ));
    }
    Ok(out)
}

/// The text of [`NAMES_MODULE`]: every package name in `locks` but the probe's.
pub fn names_module(locks: &[(&str, Lock)]) -> String {
    let mut names: Vec<&str> = locks
        .iter()
        .flat_map(|(_, lock)| &lock.packages)
        .map(|package| package.name.as_str())
        .filter(|name| *name != PROBE)
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::from(
        "// @generated by `make lock` (tests/src/bin/lockfile.rs); do not edit.\n\
         // Every package name in template/Cargo.lock. hooks/validate-name.rhai refuses\n\
         // them as service names: cargo would have to tell two packages of one name\n\
         // apart in the lock, and the shipped lock would not build with --locked.\n\
         export const NAMES = [\n",
    );
    for name in names {
        out.push_str(&format!("    \"{name}\",\n"));
    }
    out.push_str("];\n");
    out
}

/// The lockfile `rendered` is in the template's form: `name`'s block at its place,
/// everything else the same for every name. Returns what is wrong, if anything.
pub fn check_rendered(text: &str, name: &str) -> Result<Lock, String> {
    let lock = parse(text)?;
    if let Some((a, b)) = lock.out_of_order() {
        return Err(format!(
            "{} {} comes before {} {}",
            a.name, a.version, b.name, b.version
        ));
    }
    let service = lock
        .package(name)
        .ok_or_else(|| format!("no package {name}"))?;
    if service.source.is_some() || service.version != "0.1.0" {
        return Err(format!(
            "{name}'s block is not the service's:\n{}",
            service.text
        ));
    }
    Ok(lock)
}

/// `-d database=<database>`, as a `'static` slice for [`Variant`].
pub fn defines(database: &str) -> &'static [(&'static str, &'static str)] {
    match database {
        "sqlite" => &[("database", "sqlite")],
        "postgres" => &[("database", "postgres")],
        "mysql" => &[("database", "mysql")],
        other => panic!("no database {other}"),
    }
}

/// What a new user's first build would lock today: `database` rendered as
/// [`PROBE`], its shipped lock removed, `cargo generate-lockfile` (needs the
/// crates.io index).
pub fn resolve_fresh(database: &str) -> Lock {
    let repo = crate::generate(Variant {
        name: PROBE,
        defines: defines(database),
    });
    let path = repo.root.join("Cargo.lock");
    if path.exists() {
        std::fs::remove_file(&path).expect("remove the rendered lock");
    }
    crate::cargo(&repo.root, &["generate-lockfile"]);
    let text = std::fs::read_to_string(&path).expect("cargo wrote Cargo.lock");
    parse(&text).unwrap_or_else(|problem| panic!("{database}: {problem}"))
}

/// The template's Cargo.lock as cargo-generate renders it for `database`/`name`.
pub fn rendered(database: &str, name: &'static str) -> (crate::Rendered, String) {
    let repo = crate::generate(Variant {
        name,
        defines: defines(database),
    });
    let text = std::fs::read_to_string(repo.root.join("Cargo.lock"))
        .unwrap_or_else(|error| panic!("{database}/{name}: no Cargo.lock rendered: {error}"));
    (repo, text)
}
