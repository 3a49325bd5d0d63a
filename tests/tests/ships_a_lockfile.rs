//! Fast tier (#11 item 5): every generated repository starts with a Cargo.lock, so
//! it builds the same crates tomorrow; it is the file cargo itself would write, so
//! the first build leaves the tree clean, whatever the service is called.
//!
//! template/Cargo.lock is written by `make lock` (tests/src/lockfile.rs); these
//! tests check what it renders. The build with `--locked` is in variants_build.rs.

use std::process::Command;
use std::thread;

use strata_tests::lockfile::{self, DATABASES, NAMES_MODULE, PROBE, TEMPLATE_LOCK};
use strata_tests::{cargo, generate_err, template_root};

/// Names that land the service's block at every kind of place: first, last, around
/// the workspace's own crates (api, biz, conf, data, server, service, strata,
/// strata-codegen, strata-config), before a prefix of theirs, `-` against `_`
/// (`-` sorts first), a one-letter-longer name, and 40 and 64 characters.
const NAMES: &[&str] = &[
    "a1",
    "aa",
    "apj",
    "bj",
    "conf-x",
    "data_x",
    "hello-svc",
    "m",
    "servicez",
    "server-a",
    "strata-a",
    "strata-configs",
    "strata_z",
    "tok",
    "zz-top",
    "orders-and-billing-reconciliation-worker",
    "a-service-name-of-exactly-sixty-four-characters-which-is-the-max",
];

/// One render of `database` per name, the renders of a database in one thread.
fn each_render(
    names: &'static [&'static str],
    check: impl Fn(&str, &'static str, &str, &std::path::Path) + Sync,
) {
    let check = &check;
    thread::scope(|scope| {
        for database in DATABASES {
            scope.spawn(move || {
                for name in names {
                    let (repo, text) = lockfile::rendered(database, name);
                    check(database, name, &text, &repo.root);
                }
            });
        }
    });
}

#[test]
fn the_names_cover_the_limits() {
    assert!(NAMES.iter().any(|name| name.len() == 40));
    assert!(NAMES.iter().any(|name| name.len() == 64));
}

#[test]
fn every_name_renders_a_lock_in_cargos_order() {
    let probes: Vec<(&str, lockfile::Lock)> = DATABASES
        .iter()
        .map(|database| {
            let (_repo, text) = lockfile::rendered(database, PROBE);
            (
                *database,
                lockfile::parse(&text).expect("the probe's lock parses"),
            )
        })
        .collect();
    each_render(NAMES, |database, name, text, _| {
        let lock = lockfile::check_rendered(text, name)
            .unwrap_or_else(|problem| panic!("{database}/{name}: {problem}\n"));
        // Apart from the service's own block, the lock is the one rendered for the
        // probe name: the name moves one block and changes nothing else.
        let probe = &probes
            .iter()
            .find(|(probed, _)| *probed == database)
            .expect("probed")
            .1;
        let others = |lock: &lockfile::Lock, own: &str| -> Vec<String> {
            lock.packages
                .iter()
                .filter(|package| package.name != own)
                .map(|package| package.text.clone())
                .collect()
        };
        assert_eq!(
            others(&lock, name),
            others(probe, PROBE),
            "{database}/{name}: the other packages differ from the probe's"
        );
        assert_eq!(
            lock.package(name).expect("checked").text,
            probe
                .package(PROBE)
                .expect("the probe's own block")
                .text
                .replace(PROBE, name),
            "{database}/{name}: the service's block"
        );
        assert_eq!(lock.header, probe.header);
    });
}

/// cargo has the last word on its own format, and on whether the lock still fits
/// the pins in Cargo.toml: `cargo update --workspace` re-resolves only the
/// workspace's own crates (everything else stays as locked) and rewrites the file
/// if its text is not what cargo would write. It reads the crates.io index, not
/// the crates themselves.
#[test]
fn cargo_rewrites_nothing() {
    each_render(
        &["aa", "hello-svc", "strata_z", "zz-top"],
        |database, name, before, root| {
            cargo(root, &["update", "--workspace"]);
            let after = std::fs::read_to_string(root.join("Cargo.lock")).expect("Cargo.lock");
            if after != before {
                let changed: Vec<(&str, &str)> = before
                    .lines()
                    .zip(after.lines())
                    .filter(|(a, b)| a != b)
                    .take(5)
                    .collect();
                panic!(
                    "{database}/{name}: `cargo update --workspace` rewrote Cargo.lock \
                 (first differing lines: {changed:?}); run `make lock`"
                );
            }
        },
    );
}

/// template/Cargo.lock is the tool's output, not a hand edit: merging its own
/// renders gives it back byte for byte, and the names the name check refuses are
/// the lock's.
#[test]
fn the_template_lock_is_the_tools_output() {
    let renders: Vec<(&str, lockfile::Lock)> = DATABASES
        .iter()
        .map(|database| {
            let (_repo, text) = lockfile::rendered(database, PROBE);
            let lock =
                lockfile::parse(&text).unwrap_or_else(|problem| panic!("{database}: {problem}"));
            (*database, lock)
        })
        .collect();
    let merged = lockfile::merge(&renders).expect("the renders merge");
    let shipped =
        std::fs::read_to_string(template_root().join(TEMPLATE_LOCK)).expect("the template's lock");
    assert!(
        merged == shipped,
        "{TEMPLATE_LOCK} is not what `make lock` writes from its own renders; \
         do not edit it by hand, run `make lock`"
    );
    let names =
        std::fs::read_to_string(template_root().join(NAMES_MODULE)).expect("the names module");
    assert!(
        names == lockfile::names_module(&renders),
        "{NAMES_MODULE} does not list the package names of {TEMPLATE_LOCK}; run `make lock`"
    );
}

/// A service sharing its name with a locked crate would need a lock the template
/// cannot render (cargo tells the two apart as `"http 1.5.0"`): it is refused.
#[test]
fn a_locked_crates_name_is_refused() {
    for name in ["http", "tokio", "strata-config", "sqlx-sqlite"] {
        let (stderr, left) = generate_err(name);
        assert!(
            stderr.contains("is the name of a crate the service depends on"),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("--name {name}-svc")),
            "{name}: no suggestion: {stderr}"
        );
        assert!(left.is_empty(), "{name}: left {left:?}");
    }
}

#[test]
fn git_does_not_ignore_the_lock() {
    let (repo, _) = lockfile::rendered("sqlite", "hello-svc");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(&repo.root)
            .output()
            .expect("git runs")
    };
    assert!(git(&["init", "-q"]).status.success(), "git init");
    let ignored = git(&["check-ignore", "-q", "Cargo.lock"]);
    assert_eq!(
        ignored.status.code(),
        Some(1),
        "the generated .gitignore ignores Cargo.lock"
    );
}
