//! Fast tier: template/strata/SHA256SUMS lists every framework file with its
//! current hash, so a generated repository's `make lint` (strata/verify.sh) only
//! fails on a service's own edits. After changing strata/, run `make sums`.

use std::process::Command;

use strata_tests::template_root;

#[test]
fn sha256sums_match_the_framework_files() {
    let strata = template_root().join("template/strata");
    let output = Command::new("bash")
        .arg(strata.join("verify.sh"))
        .output()
        .expect("bash runs strata/verify.sh");
    assert!(
        output.status.success(),
        "template/strata/SHA256SUMS is stale; run `make sums` at the top of the repository:\n{}",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .take_while(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
