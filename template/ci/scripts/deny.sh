{% raw %}#!/usr/bin/env bash
# cargo-deny against deny.toml: advisories, licenses, duplicate crates, sources.
# Installs cargo-deny when the CI image lacks it.
set -euo pipefail

if ! cargo deny --version >/dev/null 2>&1; then
  cargo install cargo-deny --locked
fi
cargo deny check
{% endraw %}