#!/usr/bin/env bash
# Builds the cargo-fuzz targets, replays each seed corpus and fuzzes each target for a
# bounded time. cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 unlocks them on stable.
set -euo pipefail
secs="${1:-30}"
cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz >&2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in $(cargo fuzz list); do
  # Seeds are committed under corpus/<target>/seed-*; new inputs go to a scratch copy.
  work="target/smoke-corpus/$t"
  mkdir -p "$work" "corpus/$t"
  echo "== fuzz $t for ${secs}s" >&2
  # -s none: no sanitizer build of std; the code under test forbids unsafe anyway.
  if ! cargo fuzz run -s none "$t" "$work" "corpus/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz target $t failed" >&2
    exit 1
  fi
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|#[0-9]+ +DONE)' "$log" >&2 || true
done
