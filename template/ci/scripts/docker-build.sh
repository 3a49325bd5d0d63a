{% raw %}#!/usr/bin/env bash
# Builds deploy/Dockerfile from the repository root, as `make docker` does, and
# tags it IMAGE (default: the directory's name, tag ci). RUST_VERSION, when set,
# picks the builder's toolchain. Pushing is left to the pipeline that knows the
# registry.
set -euo pipefail

image="${IMAGE:-$(basename "$PWD"):ci}"
docker build --file deploy/Dockerfile --tag "$image" \
  ${RUST_VERSION:+--build-arg "RUST_VERSION=$RUST_VERSION"} .
{% endraw %}