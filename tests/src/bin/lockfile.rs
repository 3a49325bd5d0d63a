//! `make lock`: writes template/Cargo.lock from what cargo resolves today for each
//! database (see strata_tests::lockfile). Run it after changing a pin in
//! template/Cargo.toml or a member's dependencies; it needs the crates.io index.

use strata_tests::lockfile::{self, DATABASES, NAMES_MODULE, TEMPLATE_LOCK};
use strata_tests::template_root;

fn main() {
    let locks: Vec<(&str, lockfile::Lock)> = DATABASES
        .iter()
        .map(|database| {
            eprintln!("resolving the {database} variant");
            (*database, lockfile::resolve_fresh(database))
        })
        .collect();
    let template = lockfile::merge(&locks).unwrap_or_else(|problem| {
        eprintln!("cannot merge the lockfiles: {problem}");
        std::process::exit(1);
    });
    write(TEMPLATE_LOCK, &template);
    write(NAMES_MODULE, &lockfile::names_module(&locks));
    for (database, lock) in &locks {
        eprintln!("  {database}: {} packages", lock.packages.len());
    }
}

fn write(file: &str, text: &str) {
    let path = template_root().join(file);
    if std::fs::read_to_string(&path).is_ok_and(|before| before == text) {
        eprintln!("{file} is up to date");
    } else {
        std::fs::write(&path, text).unwrap_or_else(|error| panic!("write {file}: {error}"));
        eprintln!("wrote {file}");
    }
}
