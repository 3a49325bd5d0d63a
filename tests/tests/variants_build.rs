//! Slow tier: each variant builds with zero warnings, is clippy- and fmt-clean and
//! passes its own tests (unit, data, end-to-end), all with `--locked`: the shipped
//! Cargo.lock is complete, and building leaves it byte for byte as it was.

use strata_tests::{
    TestDatabase, Variant, cargo, cargo_with_env, database_available, exclusive, generate,
};

fn builds_lints_and_tests(variant: Variant) {
    let repo = generate(variant);
    let _target = exclusive(&repo.root);
    let lock = repo.root.join("Cargo.lock");
    let shipped = std::fs::read(&lock).expect("the generated repository has a Cargo.lock");
    // Cargo replays cached warnings, so a warm target directory still shows them.
    let build = cargo(&repo.root, &["build", "--locked", "--all-targets"]);
    let warnings: Vec<&str> = build
        .lines()
        .filter(|line| line.starts_with("warning"))
        .collect();
    assert!(
        warnings.is_empty(),
        "{}: compiler warnings:\n{build}",
        variant.name
    );
    cargo(
        &repo.root,
        &[
            "clippy",
            "--locked",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    cargo(&repo.root, &["fmt", "--check"]);
    // The render's data and end-to-end tests read DATABASE_URL.
    let database = TestDatabase::create(variant, &repo.root);
    cargo_with_env(
        &repo.root,
        &["test", "--locked"],
        &[("DATABASE_URL", &database.url)],
    );
    assert!(
        std::fs::read(&lock).expect("Cargo.lock") == shipped,
        "{}: building rewrote the shipped Cargo.lock (run `make lock`)",
        variant.name
    );
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn sqlite_variant_builds_lints_and_tests() {
    builds_lints_and_tests(Variant::SQLITE);
}

/// The vendored framework's own tests run here, where it is released, not in each
/// service's `cargo test` (the workspace's default members leave strata/ out).
#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn the_framework_passes_its_own_tests() {
    let repo = generate(Variant::SQLITE);
    let _target = exclusive(&repo.root);
    let framework = [
        "-p",
        "strata",
        "-p",
        "strata-config",
        "-p",
        "strata-codegen",
    ];
    let clippy = [
        &["clippy", "--locked"][..],
        &framework,
        &["--all-targets", "--", "-D", "warnings"],
    ]
    .concat();
    cargo(&repo.root, &clippy);
    cargo(
        &repo.root,
        &[&["test", "--locked"][..], &framework].concat(),
    );
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn postgres_variant_builds_lints_and_tests() {
    if database_available(Variant::POSTGRES) {
        builds_lints_and_tests(Variant::POSTGRES);
    }
}

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn mysql_variant_builds_lints_and_tests() {
    if database_available(Variant::MYSQL) {
        builds_lints_and_tests(Variant::MYSQL);
    }
}
