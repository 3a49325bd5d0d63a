//! `make lock`: writes template/Cargo.lock from what cargo resolves today for each
//! database (see strata_tests::lockfile). Run it after changing a pin in
//! template/Cargo.toml or a member's dependencies; it needs the crates.io index.

use strata_tests::lockfile::{self, DATABASES, TEMPLATE_LOCK};
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
    let path = template_root().join(TEMPLATE_LOCK);
    let before = std::fs::read_to_string(&path).unwrap_or_default();
    if before == template {
        eprintln!("{TEMPLATE_LOCK} is up to date");
    } else {
        std::fs::write(&path, &template).expect("write the template's lock");
        eprintln!("wrote {TEMPLATE_LOCK}");
    }
    for (database, lock) in &locks {
        eprintln!("  {database}: {} packages", lock.packages.len());
    }
}
