//! Slow tier: for every database, cargo-deny accepts the generated dependency tree
//! under the generated deny.toml (licenses, bans, sources). Advisories need the
//! RustSec database from the network, so CI's `make deny` checks those.

use std::process::Command;

use strata_tests::generate;
use strata_tests::shipping::SHIPPED;

fn cargo_deny_available() -> bool {
    let installed = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cargo-deny is not installed (make tools), and CI=true requires it"
        );
        eprintln!("SKIPPED: cargo-deny is not installed (cargo install cargo-deny --locked)");
    }
    installed
}

#[test]
#[ignore = "slow tier: resolves each variant's dependency tree (make test)"]
fn cargo_deny_accepts_every_variant() {
    if !cargo_deny_available() {
        return;
    }
    for variant in SHIPPED {
        let repo = generate(variant);
        let output = Command::new("cargo")
            .args([
                "deny", "--color", "never", "check", "licenses", "bans", "sources",
            ])
            .current_dir(&repo.root)
            .output()
            .expect("cargo deny runs");
        let report = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{}: cargo deny:\n{report}",
            variant.name
        );
    }
}
