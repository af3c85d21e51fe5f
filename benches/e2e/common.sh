# Shared by run.sh and reload.sh (sourced, after SIM_PORT, PROXY_PORT, SESSIONS,
# WINDOW and PIN are set): process bookkeeping, helpers and the proxy's configuration.

if [ "${PIN:-0}" = 1 ]; then CPU0=(taskset -c 0) CPU1=(taskset -c 1); else CPU0=() CPU1=(); fi
# BATCH=1 runs the load generator and the simulator as SCHED_BATCH (`chrt -b 0`): a
# batch task never preempts a woken task, so a proxy (or HAProxy) woken by a packet
# runs at once instead of waiting out the running generator's slice; on real
# deployments the generator and the SMSC are on other hosts. Every path gets the same.
if [ "${BATCH:-0}" = 1 ]; then PEER=(chrt -b 0); else PEER=(); fi
GEN=("${PEER[@]}" "${CPU0[@]}") SIMC=("${PEER[@]}" "${CPU1[@]}")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_port() { for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {'v': v}))" "$@"; }

# The bench account's hash is a deliberately cheap argon2id (m=64 KiB, t=1) of
# "bench": with the default cost (19 MiB, t=2) the 16 binds of every run would add
# ~0.4 s of argon2 to the CPU measured per submit, which is about the data path.
HASH='$argon2id$v=19$m=64,t=1,p=1$otF/jslTMk+miM+wYMvbBw$4T+y46nj8/IhKfpiRrH5FItFyr/CbWM1Bd59gTMVoo8'

proxy_config() { # $1: admin address, $2: extra lines (the [filter] section)
  cat <<CFG
[server]
system_id = "smppguard"

[[listeners]]
address = "127.0.0.1:$PROXY_PORT"

[admin]
address = "$1"

[[upstreams]]
name = "sim"
address = "127.0.0.1:$SIM_PORT"
system_id = "smppguard"
password = "bench"
sessions = 4
window = 1024

[[routes]]
name = "default"
upstreams = ["sim"]

[[accounts]]
system_id = "bench"
password_hash = "$HASH"
route = "default"
max_binds = $SESSIONS
window = $WINDOW

$2
CFG
}

haproxy_config() { # HAProxy 2.6, TCP mode, one thread: $RELAY_PORT -> $SIM_PORT
  cat <<CFG
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen smpp
  bind 127.0.0.1:$RELAY_PORT
  server sim 127.0.0.1:$SIM_PORT
CFG
}

start_sim() { # $1: log file
  "${SIMC[@]}" "$BIN" sim smsc --listen "127.0.0.1:$SIM_PORT" --no-validate --stats-interval-s 0 2>"$1" &
  PIDS+=($!)
  wait_port "$SIM_PORT"
}
