#!/usr/bin/env bash
# How smppguard's CPU per submit grows with the rule pack, the message kind/length and
# the number of sessions: one proxy per pack, several bench runs against it, the
# proxy's CPU time (utime + stime from /proc) over each run divided by its submits.
#
# Usage: benches/e2e/scaling.sh [SECONDS]   env: PIN=0|1 (as in run.sh)
# Ports 27780-27781. Raw JSON in $OUT (default target/e2e-scaling).
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${1:-3}
SESSIONS=16 WINDOW=256
PIN=${PIN:-0}
OUT=${OUT:-target/e2e-scaling}
TGT=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TGT/release/smppguard}
SIM_PORT=27780 PROXY_PORT=27781
mkdir -p "$OUT"
OUT_ABS=$(cd "$OUT" && pwd)
[ -x "$BIN" ] && [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p smppguard >&2
. benches/e2e/common.sh
SESSIONS=64 # max_binds of the account (64 connections per IP by default)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

start_sim "$OUT/sim.log"
for n in 1000 10000; do python3 benches/e2e/gen-pack.py $n >"$OUT/gen-$n.toml"; done

echo "| pack | load | submits/s | CPU µs/submit |"
echo "|---|---|---:|---:|"
for pack in none default gen-1000 gen-10000; do
  case $pack in
    none) rules="" ;;
    default) rules="[filter]
rules = \"$PWD/rules/default\"" ;;
    *) rules="[filter]
rules = \"$OUT_ABS/$pack.toml\"" ;;
  esac
  proxy_config 127.0.0.1:0 "$rules" >"$OUT/cfg-$pack.toml"
  "${CPU1[@]}" "$BIN" run --config "$OUT/cfg-$pack.toml" --log warn 2>"$OUT/$pack.log" &
  mid=$!
  PIDS+=("$mid")
  wait_port $PROXY_PORT
  sleep 1
  for load in "gsm7=1 16" "ucs2=1 16" "payload=1 16" "concat=1 16" "gsm7=1 1" "gsm7=1 64"; do
    set -- $load
    [ "$pack" = none ] || [ "$2" = 16 ] || continue
    win=$((4096 / $2)); [ $win -gt 256 ] && win=256
    t0=$(cpu_ticks $mid)
    "${CPU0[@]}" "$BIN" bench --target "127.0.0.1:$PROXY_PORT" --system-id bench --password bench \
      --sessions "$2" --window "$win" --duration "$SECS" --mix "$1" --json >"$OUT/$pack-$1-$2.json"
    t1=$(cpu_ticks $mid)
    python3 - "$OUT/$pack-$1-$2.json" "$pack" "${1%=1} x $2 sessions (window $win)" "$t0" "$t1" "$hz" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
t0, t1, hz = (float(x) for x in sys.argv[4:7])
print(f"| {sys.argv[2]} | {sys.argv[3]} | {v['throughput']:.0f} | {(t1 - t0) / hz * 1e6 / max(1, v['submits']):.2f} |")
PY
  done
  kill "$mid"; wait "$mid" 2>/dev/null || true
done
