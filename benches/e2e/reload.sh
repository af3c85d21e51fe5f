#!/usr/bin/env bash
# Rule reload under load: smppguard with the 10 000-pattern pack at 50% of its
# saturation rate, first steady, then with the pack reloaded (SIGHUP, the pack's
# version bumped so it is really rebuilt) RELOADS times during the run.
# Reports failed submits (any status but ESME_ROK), hung submits (no response within
# the bench's --timeout), successful reloads, and latency percentiles steady vs
# during the reloads.
#
# Usage: benches/e2e/reload.sh [SECONDS]   env: SESSIONS=16 WINDOW=256 RELOADS=3
#   RATE=<messages/s> skips the saturation run; PIN=1 as in run.sh.
# Ports 27770-27772. Raw JSON in $OUT (default target/e2e-reload).
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${1:-12}
SESSIONS=${SESSIONS:-16}
WINDOW=${WINDOW:-256}
RELOADS=${RELOADS:-3}
PIN=${PIN:-0}
OUT=${OUT:-target/e2e-reload}
TGT=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TGT/release/smppguard}
SIM_PORT=27770 PROXY_PORT=27771 ADMIN_PORT=27772
mkdir -p "$OUT"
OUT_ABS=$(cd "$OUT" && pwd)
[ -x "$BIN" ] && [ -n "${SKIP_BUILD:-}" ] || cargo build --release -p smppguard >&2
. benches/e2e/common.sh

PACK="$OUT_ABS/reload-pack.toml"
python3 benches/e2e/gen-pack.py 10000 >"$PACK"
bump() { sed -i "s/^version = \".*\"/version = \"$1\"/" "$PACK"; }
proxy_config "127.0.0.1:$ADMIN_PORT" "[filter]
rules = \"$PACK\"" >"$OUT/reload.toml"

start_sim "$OUT/sim.log"
"${CPU1[@]}" "$BIN" run --config "$OUT/reload.toml" --log info 2>"$OUT/proxy.log" &
PROXY=$!
PIDS+=($PROXY)
wait_port $PROXY_PORT
sleep 1

MIX="gsm7=40,ucs2=20,concat=40"
bench() { # $1 name, extra flags...
  "${CPU0[@]}" "$BIN" bench --target "127.0.0.1:$PROXY_PORT" --system-id bench --password bench \
    --sessions "$SESSIONS" --window "$WINDOW" --mix "$MIX" --timeout 5 --json "${@:2}" >"$OUT/$1.json"
}
if [ -z "${RATE:-}" ]; then
  bench sat --duration 4
  RATE=$(python3 -c "print(max(1.0, $(field "$OUT/sat.json" 'v["messages"]/v["elapsed_s"]') / 2))")
fi
bench steady --duration "$SECS" --rate "$RATE"

bench during --duration "$SECS" --rate "$RATE" &
B=$!
for i in $(seq "$RELOADS"); do
  sleep "$(python3 -c "print($SECS / ($RELOADS + 1))")"
  bump "r$i"
  kill -HUP "$PROXY"
done
wait $B
sleep 2
ok=$(grep -c "configuration reloaded" "$OUT/proxy.log" || true)
refused=$(grep -c "reload refused" "$OUT/proxy.log" || true)

python3 - "$OUT/steady.json" "$OUT/during.json" "$RATE" "$RELOADS" "$ok" "$refused" <<'PY'
import json, sys
steady, during = (json.load(open(p)) for p in sys.argv[1:3])
rate, reloads, ok, refused = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
def bad(v):
    failed = sum(n for s, n in v["statuses"].items() if s != "ESME_ROK")
    hung = sum(v["errors"].values())
    return failed, hung
print(f"rate {rate:.0f} messages/s (50% of saturation); reloads sent {reloads}, applied {ok}, refused {refused}")
print("| run | submits | failed | hung/errors | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, v in (("steady", steady), ("during reloads", during)):
    f, h = bad(v)
    l = v["latency_us"]
    print(f"| {name} | {v['submits']} | {f} | {h} | {l['p50']} | {l['p99']} | {l['p99_9']} | {l['max']} |")
ratio = during["latency_us"]["p99"] / max(1, steady["latency_us"]["p99"])
f, h = bad(during)
print(f"p99 during / steady = {ratio:.2f} (target <= 2); failed {f}, hung {h} (target 0)")
sys.exit(0 if f == 0 and h == 0 and ok == reloads else 1)
PY
