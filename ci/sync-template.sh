#!/usr/bin/env bash
# Writes the generated repository's copies of the reusable CI pieces from ci/, the
# one source: template/.github/workflows/rust-service.yml, template/ci/gitlab/ and
# template/ci/scripts/. Each copy is wrapped in {% raw %} so cargo-generate renders
# it byte for byte (GitHub's ${{ }} is not Liquid). Run after editing ci/; the test
# tests/tests/ci_has_one_source.rs fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."

copy() {
  local from="$1" to="$2"
  mkdir -p "$(dirname "$to")"
  { printf '{%% raw %%}'; cat "$from"; printf '{%% endraw %%}'; } >"$to"
  # cargo-generate keeps the mode: executable scripts stay executable.
  chmod --reference="$from" "$to"
}

copy ci/github/rust-service.yml template/.github/workflows/rust-service.yml
copy ci/gitlab/rust-service.yml template/ci/gitlab/rust-service.yml
rm -rf template/ci/scripts
for script in ci/scripts/*.sh; do
  copy "$script" "template/ci/scripts/$(basename "$script")"
done
