#!/usr/bin/env bash
# End-to-end throughput and latency of smppguard against a plain L4 relay, on one
# machine. Scenarios (same load generator, same simulator, same flags):
#   a  bench -> simulator                           (the ceiling)
#   b  bench -> HAProxy (TCP mode) -> simulator     (the cost of any proxy hop)
#   c  bench -> smppguard, no rules -> simulator
#   d  bench -> smppguard, default rule pack -> simulator
#   e  bench -> smppguard, 10k generated patterns, 40% multi-part -> simulator
# For each: messages/s at saturation, then latency percentiles at 50% of that rate,
# CPU seconds per message and peak RSS of the middle process (HAProxy/smppguard).
#
# Usage: benches/e2e/run.sh [SECONDS]     env: SESSIONS=16 WINDOW=256 PIN=0|1
#   CASES="c d" runs only those scenarios (ratios need b among them); BIN=path runs
#   another smppguard binary (for before/after comparisons); WORKERS=N passes
#   `--workers N` to the proxy (default: its own).
#   PIN=1 puts the load generator on CPU 0 and the simulator and the middle process
#   on CPU 1 (taskset), so the generator does not steal the middle's core.
# Output: a Markdown table on stdout; raw JSON reports in $OUT (default target/e2e).
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${1:-10}
SESSIONS=${SESSIONS:-16}
WINDOW=${WINDOW:-256}
PIN=${PIN:-0}
CASES=${CASES:-a b c d e}
OUT=${OUT:-target/e2e}
TGT=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TGT/release/smppguard}
SIM_PORT=27750 RELAY_PORT=27751 PROXY_PORT=27752
mkdir -p "$OUT"
OUT_ABS=$(cd "$OUT" && pwd)

[ -x "$BIN" ] && [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p smppguard >&2
command -v haproxy >/dev/null || { echo "haproxy not installed (scripts/install-deps.sh haproxy)" >&2; exit 1; }

# taskset execs the command, so $! stays the pid of the process measured.
. benches/e2e/common.sh
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

start_sim "$OUT/sim.log"

haproxy_config >"$OUT/haproxy.cfg"

python3 benches/e2e/gen-pack.py 10000 >"$OUT/gen-10k.toml"
proxy_config 127.0.0.1:0 "" >"$OUT/c.toml"
proxy_config 127.0.0.1:0 "[filter]
rules = \"$PWD/rules/default\"" >"$OUT/d.toml"
proxy_config 127.0.0.1:0 "[filter]
rules = \"$OUT_ABS/gen-10k.toml\"" >"$OUT/e.toml"

MIX="gsm7=50,ucs2=25,concat=15,payload=10"
bench() { # $1 port, $2 name, $3 extra flags...
  "${GEN[@]}" "$BIN" bench --target "127.0.0.1:$1" --system-id bench --password bench \
    --sessions "$SESSIONS" --window "$WINDOW" --duration "$SECS" --json "${@:3}" >"$OUT/$2.json"
}

echo "| scenario | submits/s at saturation | ratio to (b) | p50 µs @50% | p99 µs @50% | p99.9 µs @50% | CPU µs/submit (middle) | peak RSS MiB (middle) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
B_RATE=""
for s in $CASES; do
  mid=""
  port=$SIM_PORT
  mix=$MIX
  case $s in
    b) haproxy -f "$OUT/haproxy.cfg" -db >/dev/null 2>&1 & mid=$!; port=$RELAY_PORT ;;
    c|d|e) "${CPU1[@]}" "$BIN" run --config "$OUT/$s.toml" --log warn ${WORKERS:+--workers "$WORKERS"} 2>"$OUT/$s.log" & mid=$!; port=$PROXY_PORT ;;
  esac
  [ -n "$mid" ] && PIDS+=("$mid") && wait_port $port && sleep 1
  [ "$s" = e ] && mix="gsm7=40,ucs2=20,concat=40"
  t0=$([ -n "$mid" ] && cpu_ticks "$mid" || echo 0)
  bench $port "$s-sat" --mix "$mix"
  t1=$([ -n "$mid" ] && cpu_ticks "$mid" || echo 0)
  rate=$(field "$OUT/$s-sat.json" 'v["throughput"]')
  submits=$(field "$OUT/$s-sat.json" 'v["submits"]')
  half=$(python3 -c "print(max(1.0, $rate / 2 * $(field "$OUT/$s-sat.json" 'v["messages"]/max(1,v["submits"])')))")
  bench $port "$s-half" --mix "$mix" --rate "$half"
  [ "$s" = b ] && B_RATE=$rate
  ratio=$([ -n "$B_RATE" ] && python3 -c "print(f'{$rate / $B_RATE:.2f}')" || echo "-")
  cpu="-" rss="-"
  if [ -n "$mid" ]; then
    hz=$(getconf CLK_TCK)
    cpu=$(python3 -c "print(f'{($t1 - $t0) / $hz * 1e6 / max(1, $submits):.2f}')")
    rss=$(python3 -c "print(f'{$(peak_rss_kib "$mid") / 1024:.1f}')")
    kill "$mid"; wait "$mid" 2>/dev/null || true
  fi
  p=$(field "$OUT/$s-half.json" '"{} | {} | {}".format(v["latency_us"]["p50"], v["latency_us"]["p99"], v["latency_us"]["p99_9"])')
  printf '| %s | %.0f | %s | %s | %s | %s |\n' "$s" "$rate" "$ratio" "$p" "$cpu" "$rss"
done
