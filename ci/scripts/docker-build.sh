#!/usr/bin/env bash
# Builds deploy/Dockerfile from the repository root, as `make docker` does, and
# tags it IMAGE (default: the directory's name, tag ci); then the image of every
# service `make service-add` added (services/<name>/deploy/Dockerfile, tagged
# <name>:ci). RUST_VERSION, when set, picks the builder's toolchain. Pushing is
# left to the pipeline that knows the registry.
set -euo pipefail

build() {
  docker build --file "$1" --tag "$2" \
    ${RUST_VERSION:+--build-arg "RUST_VERSION=$RUST_VERSION"} .
}

build deploy/Dockerfile "${IMAGE:-$(basename "$PWD"):ci}"
for dockerfile in services/*/deploy/Dockerfile; do
  [ -f "$dockerfile" ] || continue
  service="${dockerfile#services/}"
  build "$dockerfile" "${service%%/*}:ci"
done
