//! Slow tier: a migration file added on its own reaches the binary. `sqlx::migrate!`
//! embeds migrations/ at compile time and cargo does not watch that folder by
//! itself; `internal/data/build.rs` makes it (without it `data` stays "Fresh" and
//! `migrate` says it applied the migrations without running the new one).

use std::process::{Command, Output};

use strata_tests::{Variant, cargo, generate};

/// Its own name: this test edits the repository, so its binary must not be
/// another test's in the shared target directory.
const MIGRATING: Variant = Variant {
    name: "hello-migrating",
    defines: &[],
};

#[test]
#[ignore = "slow tier: builds a generated repository (make test)"]
fn a_new_migration_alone_changes_what_migrate_applies() {
    let repo = generate(MIGRATING);
    let root = &repo.root;
    cargo(root, &["build"]);
    let scratch = tempfile::tempdir().expect("scratch");
    let binary = strata_tests::process::shared_target_dir()
        .join("debug")
        .join(MIGRATING.name);
    let migrate = || -> Output {
        Command::new(&binary)
            .args(["--conf", "configs/config.yaml", "migrate"])
            .current_dir(root)
            .env(
                format!("{}__DATA__DATABASE__URL", MIGRATING.env_prefix()),
                format!("sqlite://{}/m.db", scratch.path().display()),
            )
            .output()
            .expect("the binary runs")
    };
    assert!(migrate().status.success(), "the shipped migrations apply");

    // A broken migration: if `migrate` applies it, it fails, and says why.
    std::fs::write(
        root.join("internal/data/migrations/sqlite/29990101000000_broken_on_purpose.sql"),
        "CREATE TABLE broken_on_purpose (;\n",
    )
    .expect("a new migration");
    cargo(root, &["build"]);
    let output = migrate();

    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !output.status.success(),
        "the new migration did not run:\n{printed}"
    );
    assert!(
        printed.contains("cannot apply the database migrations"),
        "{printed}"
    );
}
