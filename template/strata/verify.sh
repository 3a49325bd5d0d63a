#!/usr/bin/env bash
# Checks that strata/ is byte for byte the strata release this repository was
# generated from (the list in strata/SHA256SUMS). `make lint` runs it.
# strata/ is the framework, vendored: a service never edits it, so that
# `make upgrade` can replace it whole. Exit status: 0 same, 1 differs, 2 cannot check.
set -euo pipefail
cd "$(dirname "$0")"

if command -v sha256sum >/dev/null 2>&1; then
  sums() { sha256sum "$@"; }
elif command -v shasum >/dev/null 2>&1; then
  sums() { shasum -a 256 "$@"; }
else
  echo "strata/verify.sh: needs sha256sum (coreutils) or shasum (perl) to check strata/" >&2
  exit 2
fi
if [ ! -f SHA256SUMS ]; then
  echo "strata/verify.sh: strata/SHA256SUMS is missing; restore it: git checkout -- strata/SHA256SUMS" >&2
  exit 2
fi

# "<64 hex>  <path>" lines of every file here but the list itself, sorted by path.
actual() {
  find . -type f ! -path ./SHA256SUMS -print | sed 's|^\./||' | LC_ALL=C sort |
    while IFS= read -r file; do sums "$file"; done
}

differences=$(awk '
  NR == FNR { want[substr($0, 67)] = substr($0, 1, 64); next }
  { path = substr($0, 67); have[path] = substr($0, 1, 64) }
  END {
    for (path in want) {
      if (!(path in have)) print "  missing  strata/" path
      else if (want[path] != have[path]) print "  changed  strata/" path
    }
    for (path in have) if (!(path in want)) print "  added    strata/" path
  }' SHA256SUMS <(actual) | LC_ALL=C sort -b -k2)

if [ -z "$differences" ]; then
  exit 0
fi
cat >&2 <<MESSAGE
strata/ is not the strata release this repository was generated from:
$differences

strata/ is the framework, vendored: it is never edited in a service, so that
\`make upgrade\` can replace it whole and every service gets the same fixes.
  - to undo the local change:  git checkout -- strata/   (and, for added files, git clean -fd strata/)
  - to change the framework:   make the change in the strata template repository,
                               release it, then here: make upgrade TEMPLATE=<strata repository>
MESSAGE
exit 1
