#!/usr/bin/env bash
# The optimized build that ships: catches what only release settings break.
set -euo pipefail
source "$(dirname "$0")/cargo-flags.sh"

cargo build --release "${locked[@]}"
