{% raw %}#!/usr/bin/env bash
# The checks every strata service runs in CI, whatever the CI system: formatting,
# lints with warnings as errors, then every test. Run from the repository root.
# DATABASE_URL points the data tests at a database server; empty means none.
set -euo pipefail
source "$(dirname "$0")/cargo-flags.sh"

if [ -z "${DATABASE_URL:-}" ]; then
  unset DATABASE_URL
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets "${locked[@]}" -- -D warnings
cargo test --workspace "${locked[@]}"
{% endraw %}