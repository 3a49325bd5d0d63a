#!/usr/bin/env bash
# The checks every strata service runs in CI, whatever the CI system: the vendored
# framework unedited, formatting, lints with warnings as errors, then every test of
# the service (the workspace's default members: strata/ is tested where it is
# released). Run from the repository root.
# DATABASE_URL points the data tests at a database server; empty means none.
set -euo pipefail
source "$(dirname "$0")/cargo-flags.sh"

if [ -z "${DATABASE_URL:-}" ]; then
  unset DATABASE_URL
fi

if [ -f strata/verify.sh ]; then
  bash strata/verify.sh
fi
cargo fmt --all --check
cargo clippy --all-targets "${locked[@]}" -- -D warnings
cargo test "${locked[@]}"
