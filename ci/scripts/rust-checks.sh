#!/usr/bin/env bash
# The checks every strata service runs in CI, whatever the CI system: formatting,
# lints with warnings as errors, then every test. Run from the repository root.
set -euo pipefail

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
