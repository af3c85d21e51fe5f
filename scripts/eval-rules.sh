#!/usr/bin/env bash
# Measures a rule pack (the default pack unless RULES is set) on every labelled dev split
# found under CORPORA (default ../shared/corpora), side by side with the raw-byte baseline,
# and prints the table. Extra arguments go to `smppguard rules eval` (e.g. --json,
# --misses FILE). The corpora are evaluation data only and are never copied into the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
rules="${RULES:-rules/default}"
corpora="${CORPORA:-../shared/corpora}"

shopt -s nullglob
files=("$corpora"/*/dev.tsv)
if [ ${#files[@]} -eq 0 ]; then
  echo "no corpora found under $corpora (expected $corpora/<name>/dev.tsv); nothing to evaluate" >&2
  exit 0
fi

cargo build --release --quiet -p smppguard
exec "${CARGO_TARGET_DIR:-target}/release/smppguard" rules eval --rules "$rules" --baseline "$@" "${files[@]}"
