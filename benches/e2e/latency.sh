#!/usr/bin/env bash
# Added latency of smppguard at a fixed offered rate: the same paced load, in the same
# run, through
#   a  bench -> simulator                           (the floor)
#   b  bench -> HAProxy (TCP mode) -> simulator     (any proxy hop)
#   c  bench -> smppguard, no rules -> simulator
#   d  bench -> smppguard, default rule pack -> simulator
# one after another, ROUNDS times (a b c d, a b c d, ...), so every path sees the same
# machine. All four processes start once and stay up; the ones not under load idle.
# Added p99 = p99(c or d) - p99(a) of the same round, and - p99(b).
# The proxy's own view comes from its /metrics: smppguard_proxy_added_latency_seconds
# (a submit read from the ESME until it is queued to the SMSC's session) and the gap
# between smppguard_end_to_end_duration_seconds and the SMSC's response time, as the
# share of requests within 0.5 and 1 ms (the histogram's buckets).
#
# Usage: benches/e2e/latency.sh [SECONDS]
#   env: RATE=<messages/s> (default: half of (d)'s saturation, measured first)
#        SESSIONS=16 WINDOW=32 ROUNDS=3 PIN=0|1 (as in run.sh; HAProxy is pinned with
#        the simulator when PIN=1) BIN=<smppguard binary> WORKERS=N (the proxy's
#        `--workers`; default its own)
#        BATCH=1: the generator and the simulator run as SCHED_BATCH (common.sh)
#        SLICE=<µs>: HAProxy and both smppguards get a scheduler slice of that many µs
#        (benches/e2e/slice.py; EEVDF, Linux >= 6.12), so that, woken by a packet,
#        they preempt a generator or simulator in the middle of its longer slice
#        NICE=-10: run every process of the benchmark in a session of its own whose
#        scheduling group has that nice value (root only), so that other work on a shared
#        machine delays every path less; all four paths get the same priority.
# Ports 27790-27795. Raw JSON in $OUT (default target/e2e-latency).
set -euo pipefail
. "$(dirname "$0")/nice.sh"
cd "$(dirname "$0")/../.."

SECS=${1:-5}
SESSIONS=${SESSIONS:-16}
WINDOW=${WINDOW:-32}
ROUNDS=${ROUNDS:-3}
PIN=${PIN:-0}
OUT=${OUT:-target/e2e-latency}
TGT=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TGT/release/smppguard}
SIM_PORT=27790 RELAY_PORT=27791 C_PORT=27792 D_PORT=27793 C_ADMIN=27794 D_ADMIN=27795
mkdir -p "$OUT"
[ -x "$BIN" ] && [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p smppguard >&2
command -v haproxy >/dev/null || { echo "haproxy not installed (scripts/install-deps.sh haproxy)" >&2; exit 1; }
. benches/e2e/common.sh

start_sim "$OUT/sim.log"
haproxy_config >"$OUT/haproxy.cfg"
"${CPU1[@]}" haproxy -f "$OUT/haproxy.cfg" -db >/dev/null 2>&1 &
PIDS+=($!)
PROXY_PORT=$C_PORT proxy_config "127.0.0.1:$C_ADMIN" "" >"$OUT/c.toml"
PROXY_PORT=$D_PORT proxy_config "127.0.0.1:$D_ADMIN" "[filter]
rules = \"$PWD/rules/default\"" >"$OUT/d.toml"
for s in c d; do
  "${CPU1[@]}" "$BIN" run --config "$OUT/$s.toml" --log warn ${WORKERS:+--workers "$WORKERS"} 2>"$OUT/$s.log" &
  PIDS+=($!)
done
for p in $RELAY_PORT $C_PORT $D_PORT; do wait_port $p; done
# SLICE=<µs>: the middle processes (HAProxy, both smppguards) get that scheduler slice.
[ -n "${SLICE:-}" ] && python3 benches/e2e/slice.py "$SLICE" "${PIDS[@]:1}"
sleep 1

MIX="gsm7=50,ucs2=25,concat=15,payload=10"
port_of() { case $1 in a) echo $SIM_PORT ;; b) echo $RELAY_PORT ;; c) echo $C_PORT ;; d) echo $D_PORT ;; esac; }
bench() { # $1 scenario, $2 name, extra flags...
  "${GEN[@]}" "$BIN" bench --target "127.0.0.1:$(port_of "$1")" --system-id bench --password bench \
    --sessions "$SESSIONS" --mix "$MIX" --timeout 5 --json "${@:3}" >"$OUT/$2.json"
}
scrape() { for s in c d; do curl -sf "http://127.0.0.1:$(eval echo \$${s^^}_ADMIN)/metrics" >"$OUT/$s-$1.prom"; done; }

if [ -z "${RATE:-}" ]; then
  bench d sat --window 256 --duration 3
  RATE=$(python3 -c "print(round($(field "$OUT/sat.json" 'v["messages"]/v["elapsed_s"]') / 2))")
fi
echo "offered rate $RATE messages/s, $SESSIONS sessions x window $WINDOW, $SECS s per run, $ROUNDS rounds, PIN=$PIN NICE=${NICE:-0}" >&2
scrape before
for r in $(seq "$ROUNDS"); do
  for s in a b c d; do
    bench $s "$s-$r" --window "$WINDOW" --duration "$SECS" --rate "$RATE"
  done
done
scrape after

python3 - "$OUT" "$ROUNDS" "$RATE" <<'PY'
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, "benches/e2e")
import prom
out, rounds, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
runs = {s: [json.load(open(f"{out}/{s}-{r}.json")) for r in range(1, rounds + 1)] for s in "abcd"}
def lat(v, q): return v["latency_us"][q]
def rng(xs): return f"{min(xs)}" if min(xs) == max(xs) else f"{min(xs)}-{max(xs)}"
print(f"offered {rate:.0f} messages/s; ranges over {rounds} rounds")
print()
print("| path | submits/s | failed + hung | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in "abcd":
    vs = runs[s]
    bad = [sum(n for k, n in v["statuses"].items() if k != "ESME_ROK") + sum(v["errors"].values()) for v in vs]
    tp = rng([round(v["throughput"]) for v in vs])
    print(f"| {s} | {tp} | {sum(bad)} | " + " | ".join(rng([lat(v, q) for v in vs]) for q in ("p50", "p90", "p99", "p99_9", "max")) + " |")
print()
print("| round | added p99 (c) - (a) µs | added p99 (d) - (a) µs | (c) - (b) µs | (d) - (b) µs |")
print("|---|---:|---:|---:|---:|")
for r in range(rounds):
    a, b, c, d = (lat(runs[s][r], "p99") for s in "abcd")
    print(f"| {r + 1} | {c - a} | {d - a} | {c - b} | {d - b} |")

def diff(name, s):
    return prom.diff(name, f"{out}/{s}-before.prom", f"{out}/{s}-after.prom")
def share(b, le):
    total = b.get(float("inf"), 0)
    return f"{100 * b.get(le, 0) / total:.2f}%" if total else "-"
print()
print("Proxy's own view over the measured runs (histogram buckets):")
print()
print("| proxy | requests | request path ≤ 0.5 ms | request path ≤ 1 ms | end to end ≤ 1 ms | SMSC response ≤ 1 ms |")
print("|---|---:|---:|---:|---:|---:|")
for s in "cd":
    add = diff("smppguard_proxy_added_latency_seconds", s)
    e2e = diff("smppguard_end_to_end_duration_seconds", s)
    resp = diff("smppguard_upstream_response_duration_seconds", s)
    print(f"| {s} | {add.get(float('inf'), 0):.0f} | {share(add, 0.0005)} | {share(add, 0.001)} | {share(e2e, 0.001)} | {share(resp, 0.001)} |")
PY
