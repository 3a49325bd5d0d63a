//! Any name the hook accepts gives a repository that is `cargo fmt` clean (fast
//! tier) and clippy clean (slow tier). The name lands in Rust code (`cmd/<name>/`,
//! its crate paths), and its length changes where rustfmt wraps a line.

use std::process::Command;

use strata_tests::{Variant, cargo, exclusive, generate};

/// From 2 characters to 40, with `-` and `_` (one-letter names are accepted too).
const NAMES: [&str; 7] = [
    "ab",
    "orders",
    "bar-svc",
    "billing_events",
    "payments-ledger-service",
    "customer-notification-preference-svc",
    "regional-warehouse-inventory-reconcilers",
];

#[test]
fn the_names_span_2_to_40_characters() {
    let lengths: Vec<usize> = NAMES.iter().map(|name| name.len()).collect();
    assert_eq!(lengths.iter().min(), Some(&2));
    assert_eq!(lengths.iter().max(), Some(&40));
    assert!(lengths.contains(&36), "{lengths:?}");
}

/// `cargo fmt --all --check` in the repository generated with `name`: the
/// differences rustfmt prints, or None when there are none. Needs no build and no
/// network (cargo fmt reads the workspace with `cargo metadata --no-deps`).
fn fmt_differences(name: &'static str) -> Option<String> {
    let repo = generate(Variant { name, defines: &[] });
    let output = Command::new("cargo")
        .args(["fmt", "--all", "--check", "--", "--color", "never"])
        .current_dir(&repo.root)
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .expect("cargo fmt runs");
    (!output.status.success()).then(|| {
        format!(
            "--name {name} ({} characters): `cargo fmt --all --check` fails\n{}{}",
            name.len(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

#[test]
fn every_name_is_fmt_clean() {
    // All names at once, so one run lists every name that fails and where.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let checks: Vec<_> = NAMES
            .iter()
            .map(|&name| scope.spawn(move || fmt_differences(name)))
            .collect();
        checks
            .into_iter()
            .filter_map(|check| check.join().expect("fmt check"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Clippy with every lint an error, on all targets (tests included, where the
/// crate name appears too), in the shared target directory.
fn clippy_clean(name: &'static str) {
    let repo = generate(Variant { name, defines: &[] });
    let _target = exclusive(&repo.root);
    cargo(
        &repo.root,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    );
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn the_shortest_name_is_clippy_clean() {
    clippy_clean(NAMES[0]);
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn the_longest_name_is_clippy_clean() {
    clippy_clean(NAMES[NAMES.len() - 1]);
}
