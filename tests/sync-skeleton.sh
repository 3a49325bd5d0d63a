#!/usr/bin/env bash
# Writes template/strata/codegen/skeleton/: a verbatim copy (Liquid and all) of the
# template files that make up one service, which `cargo strata service-add`
# renders to add a second service to a generated repository. The template files
# are the one source: run this (`make skeleton`, also run by `make sums`) after
# editing them; tests/tests/skeleton_is_current.rs fails until you do.
set -euo pipefail
cd "$(dirname "$0")/../template"

# SKELETON_DIR (an absolute path) writes the copy elsewhere: the test compares.
skeleton="${SKELETON_DIR:-strata/codegen/skeleton}"
rm -rf "$skeleton"
# The service's own files; deploy/docker-compose.yaml and deploy/prometheus/ are
# shared files, read for the new service's compose entry and scrape job; the
# [conditional] tables of cargo-generate.toml say which files each answer keeps.
for path in api cmd internal configs deploy/Dockerfile deploy/kubernetes \
  deploy/docker-compose.yaml deploy/prometheus/prometheus.yml cargo-generate.toml; do
  find "$path" -type f -print
done | LC_ALL=C sort | while IFS= read -r file; do
  # `{{project-name}}` in a path would be renamed by cargo-generate: stored as
  # `_project-name_`. `.skel` keeps tools off the copies (no stray Cargo.toml,
  # YAML or Dockerfile in a generated repository); cargo-generate would strip `.liquid`.
  to="$skeleton/${file//\{\{project-name\}\}/_project-name_}.skel"
  mkdir -p "$(dirname "$to")"
  cp -p "$file" "$to"
done
echo "wrote $skeleton ($(find "$skeleton" -type f | wc -l) files)"
