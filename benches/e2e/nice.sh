# Sourced first by latency.sh and reload.sh, before they change directory: with NICE set,
# re-runs the script in a session of its own and gives that session's scheduling group
# (CFS shares CPU between sessions first) and the script the nice value NICE (root only),
# so that other work on a shared machine delays every measured path less and alike.
if [ -n "${NICE:-}" ] && [ -z "${E2E_NICED:-}" ]; then
  E2E_NICED=1 exec setsid --wait "$0" "$@"
fi
if [ -n "${NICE:-}" ]; then
  echo "$NICE" >/proc/self/autogroup 2>/dev/null || echo "cannot set the autogroup's nice" >&2
  renice -n "$NICE" -p $$ >/dev/null
fi
