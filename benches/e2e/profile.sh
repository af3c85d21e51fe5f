#!/usr/bin/env bash
# The proxy's own cost per submit in case (c) of run.sh (or (d) with RULES=default):
# bench -> smppguard -> simulator at saturation, with the proxy observed for 4 s in
# the middle of the run.
#
# Usage: benches/e2e/profile.sh [stat|record] [SECONDS]
#   stat   (default) perf stat: context switches, CPU migrations and the socket and
#          poll syscalls, printed per submit
#   record perf record -g of the proxy; read it with
#          `perf report -i $OUT/perf.data --no-children`
#   env: BIN=<smppguard binary> PIN=0|1 (as in run.sh) RULES=default (the default
#        pack; none by default) SESSIONS=16 WINDOW=256 RATE=<messages/s> (paced, as
#        latency.sh's runs; saturation by default)
# Prints throughput, CPU µs per submit of the proxy over the whole run, and the perf
# counts per submit over the observed 4 s. Ports 27800-27802. Output in $OUT
# (default target/e2e-profile).
set -euo pipefail
cd "$(dirname "$0")/../.."

MODE=${1:-stat}
SECS=${2:-8}
SESSIONS=${SESSIONS:-16}
WINDOW=${WINDOW:-256}
PIN=${PIN:-0}
OUT=${OUT:-target/e2e-profile}
TGT=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TGT/release/smppguard}
SIM_PORT=27800 PROXY_PORT=27802
mkdir -p "$OUT"
[ -x "$BIN" ] && [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p smppguard >&2
command -v perf >/dev/null || { echo "perf not installed (linux-perf)" >&2; exit 1; }
. benches/e2e/common.sh

start_sim "$OUT/sim.log"
extra=""
[ "${RULES:-}" = default ] && extra="[filter]
rules = \"$PWD/rules/default\""
proxy_config 127.0.0.1:0 "$extra" >"$OUT/proxy.toml"
"${CPU1[@]}" "$BIN" run --config "$OUT/proxy.toml" --log warn 2>"$OUT/proxy.log" &
mid=$!
PIDS+=("$mid")
wait_port "$PROXY_PORT"
sleep 1

ticks() { awk '{print $14 + $15}' "/proc/$mid/stat"; }
t0=$(ticks)
"${GEN[@]}" "$BIN" bench --target "127.0.0.1:$PROXY_PORT" --system-id bench --password bench \
  --sessions "$SESSIONS" --window "$WINDOW" --duration "$SECS" --json ${RATE:+--rate "$RATE"} \
  --mix "gsm7=50,ucs2=25,concat=15,payload=10" >"$OUT/bench.json" &
bp=$!
sleep 2
case $MODE in
  stat)
    perf stat -x, -o "$OUT/stat.csv" -p "$mid" -e context-switches,cpu-migrations \
      -e syscalls:sys_enter_recvfrom,syscalls:sys_enter_sendto,syscalls:sys_enter_epoll_wait \
      -e syscalls:sys_enter_futex,syscalls:sys_enter_write,syscalls:sys_enter_mmap,syscalls:sys_enter_munmap \
      -- sleep 4
    ;;
  record) perf record -F 2000 -g -o "$OUT/perf.data" -p "$mid" -- sleep 4 2>/dev/null ;;
  *) echo "unknown mode $MODE" >&2; exit 2 ;;
esac
wait "$bp"
t1=$(ticks)

python3 - "$OUT" "$MODE" "$t0" "$t1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
out, mode, t0, t1, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
v = json.load(open(f"{out}/bench.json"))
print(f"throughput {v['throughput']:.0f} submits/s, {v['submits']} submits, "
      f"CPU {(t1 - t0) / hz * 1e6 / max(1, v['submits']):.2f} µs per submit")
if mode == "stat":
    # The observed 4 s at the run's mean rate.
    n = v["throughput"] * 4
    for line in open(f"{out}/stat.csv"):
        f = line.strip().split(",")
        if len(f) > 2 and f[0].isdigit():
            print(f"{f[2].replace('syscalls:sys_enter_', '')}: {int(f[0]) / n:.4f} per submit")
PY
