#!/usr/bin/env bash
# Rule reload under load: smppguard with the 10 000-pattern pack at 50% of its
# saturation rate, first steady, then with the pack reloaded (SIGHUP) RELOADS times
# during the run. Each reload edits the pack as an operator does: one rule's word
# replaced and one rule added before the others (gen-pack.py --reload K), so the
# proxy reuses what did not change; FULL=1 changes every word instead (the full
# recompile).
# Reports failed submits (any status but ESME_ROK), hung submits (no response within
# the bench's --timeout), successful reloads, and latency percentiles steady vs
# during the reloads.
#
# Also prints each reload's compile (the proxy's "rules compiled" line: databases
# reused, compiled and patched, seconds spent and saved), when the slow responses came (the bench's largest latency per 100 ms
# against the times the reloads were signalled and applied) and the proxy's own view
# from /metrics (scan durations and its request path, steady against during).
#
# Usage: benches/e2e/reload.sh [SECONDS]   env: SESSIONS=16 WINDOW=256 RELOADS=3 FULL=0
#   RATE=<messages/s> skips the saturation run; PIN=1 as in run.sh; NICE=-10 as in
#   latency.sh.
# Ports 27770-27772. Raw JSON in $OUT (default target/e2e-reload).
set -euo pipefail
. "$(dirname "$0")/nice.sh"
cd "$(dirname "$0")/../.."

SECS=${1:-12}
SESSIONS=${SESSIONS:-16}
WINDOW=${WINDOW:-256}
RELOADS=${RELOADS:-3}
FULL=${FULL:-0}
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
# The pack after each reload, written now (generating it during the run would take CPU
# the run measures) and renamed over the pack at its reload, so the proxy never reads
# half a file.
for i in $(seq "$RELOADS"); do
  python3 benches/e2e/gen-pack.py 10000 --reload "$i" $([ "$FULL" = 1 ] && echo --full) >"$PACK.r$i"
done
edit() { mv "$PACK.r$1" "$PACK"; }
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
scrape() { curl -sf "http://127.0.0.1:$ADMIN_PORT/metrics" >"$OUT/$1.prom"; }
scrape start
bench steady --duration "$SECS" --rate "$RATE"
scrape steady

date +%s.%N >"$OUT/during.start"
bench during --duration "$SECS" --rate "$RATE" &
B=$!
: >"$OUT/hups"
for i in $(seq "$RELOADS"); do
  sleep "$(python3 -c "print($SECS / ($RELOADS + 1))")"
  edit "$i"
  kill -HUP "$PROXY"
  date +%s.%N >>"$OUT/hups"
done
wait $B
scrape during
# A reload signalled while the previous one compiles runs after it: wait for all.
for _ in $(seq 120); do
  [ "$(grep -c "configuration reloaded" "$OUT/proxy.log" || true)" -ge "$RELOADS" ] && break
  sleep 0.5
done
ok=$(grep -c "configuration reloaded" "$OUT/proxy.log" || true)
refused=$(grep -c "reload refused" "$OUT/proxy.log" || true)

python3 - "$OUT/steady.json" "$OUT/during.json" "$RATE" "$RELOADS" "$ok" "$refused" "$OUT" <<'PY'
import datetime, json, re, sys
sys.dont_write_bytecode = True
sys.path.insert(0, "benches/e2e")
import prom
steady, during = (json.load(open(p)) for p in sys.argv[1:3])
rate, reloads, ok, refused = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
out = sys.argv[7]
def bad(v):
    failed = sum(n for s, n in v["statuses"].items() if s != "ESME_ROK")
    hung = sum(v["errors"].values())
    return failed, hung
print(f"rate {rate:.0f} messages/s (50% of saturation); reloads sent {reloads}, applied {ok}, refused {refused}")
compiles = []
for line in open(f"{out}/proxy.log"):
    if "rules compiled" in line:
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        compiles.append(dict(re.findall(r"(\w+)=(\S+)", line)))
for i, c in enumerate(compiles):
    print(f"compile {i + 1}: {float(c.get('compile_seconds', 'nan')):.2f} s, databases reused "
          f"{c.get('databases_reused')}, compiled {c.get('databases_compiled')}, patched "
          f"{c.get('databases_patched')}, {float(c.get('compile_seconds_saved', 'nan')):.2f} s saved")
print("| run | submits | failed | hung/errors | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, v in (("steady", steady), ("during reloads", during)):
    f, h = bad(v)
    l = v["latency_us"]
    print(f"| {name} | {v['submits']} | {f} | {h} | {l['p50']} | {l['p99']} | {l['p99_9']} | {l['max']} |")
ratio = during["latency_us"]["p99"] / max(1, steady["latency_us"]["p99"])
f, h = bad(during)
print(f"p99 during / steady = {ratio:.2f} (target <= 2); failed {f}, hung {h} (target 0)")

# When: seconds from the start of the "during" run.
t0 = float(open(f"{out}/during.start").read())
hups = [float(l) - t0 for l in open(f"{out}/hups") if l.strip()]
applied = []
for line in open(f"{out}/proxy.log"):
    if "configuration reloaded" in line:
        m = re.search(r"(\d{4}-\d\d-\d\dT[\d:.]+)Z", line)
        if m:
            t = datetime.datetime.fromisoformat(m[1]).replace(tzinfo=datetime.timezone.utc)
            if t.timestamp() >= t0:
                applied.append(t.timestamp() - t0)
print("SIGHUP sent at " + ", ".join(f"{t:.2f}" for t in hups) + " s; applied at "
      + ", ".join(f"{t:.2f}" for t in applied) + " s")
limit = 2 * steady["latency_us"]["p99"]
peaks = during.get("max_latency_us_per_100ms", [])
slow = [(i / 10, p) for i, p in enumerate(peaks) if p > limit]
print(f"100 ms slots with a response slower than 2x steady p99 ({limit} µs): {len(slow)} of {len(peaks)}")
for t, p in slow:
    print(f"  {t:5.1f} s  max {p} µs")

def diff(name, a, b):
    return prom.diff(name, f"{out}/{a}.prom", f"{out}/{b}.prom")
def over(b, le):
    return f"{b.get(float('inf'), 0) - b.get(le, 0):.0f}"
print("proxy's own view: requests (scans) slower than the bound")
print("| run | scans | scans > 1 ms | scans > 10 ms | request path > 1 ms | > 10 ms | > 50 ms |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, a, b in (("steady", "start", "steady"), ("during reloads", "steady", "during")):
    sc = diff("smppguard_filter_scan_duration_seconds", a, b)
    rq = diff("smppguard_proxy_added_latency_seconds", a, b)
    print(f"| {name} | {sc.get(float('inf'), 0):.0f} | {over(sc, 0.001)} | {over(sc, 0.01)} | {over(rq, 0.001)} | {over(rq, 0.01)} | {over(rq, 0.05)} |")
sys.exit(0 if f == 0 and h == 0 and ok == reloads else 1)
PY
