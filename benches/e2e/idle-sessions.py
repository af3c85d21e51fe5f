#!/usr/bin/env python3
"""Memory of many idle bound ESME sessions: binds N sessions (default 10 000) to
smppguard, keeps them open without traffic, proves every one is alive with one
enquire_link each, and reads the proxy's RSS from /proc before and after.

Usage: benches/e2e/idle-sessions.py [--sessions N] [--hold SECONDS] [--bin PATH]
Starts its own simulator SMSC and proxy on ports 27760-27761 (admin on a free
port) and stops them at the end. Raises its own open-file limit to fit N + slack
sockets, for itself and for the proxy, which inherits it; the hard limit must allow that (`ulimit -Hn`), or
the script must run as root, which may raise it.

The accounts use a deliberately cheap argon2id hash (m=64 KiB, t=1) of the password
"idle", so ten thousand binds take seconds instead of minutes of argon2: the check is
about what a bound session costs, not about bind speed.

Prints one JSON object: sessions bound and answering, RSS before and after, the
difference per session, peak RSS, threads.
"""
import argparse
import json
import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time

HASH = "$argon2id$v=19$m=64,t=1,p=1$84/heoE/ElzjN9SfLMu+FA$MYlMHq2LwYF/kKLyiuXWJ3yjOihg8xBcNfrM+CsOFKg"
PASSWORD = b"idle"
SIM_PORT, PROXY_PORT = 27760, 27761
ACCOUNTS = 10
BIND_TRANSMITTER, BIND_TRANSMITTER_RESP = 0x00000002, 0x80000002
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015


def pdu(command_id, seq, body=b""):
    return struct.pack(">IIII", 16 + len(body), command_id, 0, seq) + body


def bind_pdu(system_id, seq):
    body = system_id + b"\0" + PASSWORD + b"\0" + b"\0" + bytes([0x34, 0, 0]) + b"\0"
    return pdu(BIND_TRANSMITTER, seq, body)


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "Threads"):
                out[k] = int(v.split()[0])
    return out


def wait_port(port, deadline=60.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"port {port} never opened")


class Conn:
    def __init__(self, sock, system_id):
        self.sock, self.system_id, self.buf, self.state = sock, system_id, b"", "bind"


def exchange(conns, make, want, timeout_s, max_in_flight=None):
    """Sends make(conn) on each connection (at most max_in_flight waiting at once) and
    reads until each got a PDU of `want`; returns (ok, failed)."""
    sel = selectors.DefaultSelector()
    pending = list(conns)
    pending.reverse()
    waiting, ok, failed = 0, 0, 0
    end = time.time() + timeout_s
    limit = max_in_flight or len(conns)
    while (pending or waiting) and time.time() < end:
        while pending and waiting < limit:
            c = pending.pop()
            c.buf = b""
            try:
                c.sock.sendall(make(c))
            except OSError:
                failed += 1
                continue
            sel.register(c.sock, selectors.EVENT_READ, c)
            waiting += 1
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                data = c.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(c.sock)
                waiting -= 1
                failed += 1
                continue
            c.buf += data
            while len(c.buf) >= 16:
                length, cid, st, _ = struct.unpack(">IIII", c.buf[:16])
                if len(c.buf) < length:
                    break
                c.buf = c.buf[length:]
                if cid == want:
                    sel.unregister(c.sock)
                    waiting -= 1
                    if st == 0:
                        ok += 1
                    else:
                        failed += 1
                    break
    failed += waiting + len(pending)
    sel.close()
    return ok, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10000)
    ap.add_argument("--hold", type=float, default=5.0)
    tgt = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--bin", default=os.environ.get("BIN", f"{tgt}/release/smppguard"))
    args = ap.parse_args()
    per_account = -(-args.sessions // ACCOUNTS)
    if per_account > 1024:
        sys.exit("at most 10 240 sessions (10 accounts x max_binds 1024)")

    need = args.sessions + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            hard = need  # allowed for root only
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        except (ValueError, OSError):
            sys.exit(f"cannot raise the open-file limit to {need}: raise it (ulimit -Hn)")

    tmp = tempfile.mkdtemp(prefix="smppguard-idle-")
    accounts = "".join(
        f'[[accounts]]\nsystem_id = "idle{i:02d}"\npassword_hash = "{HASH}"\n'
        f'route = "default"\nmax_binds = {per_account}\n\n'
        for i in range(ACCOUNTS)
    )
    cfg = f"""[server]
system_id = "smppguard"

[[listeners]]
address = "127.0.0.1:{PROXY_PORT}"
max_connections = {args.sessions + 16}
max_connections_per_ip = {args.sessions + 16}

[admin]
address = "127.0.0.1:0"

[[upstreams]]
name = "sim"
address = "127.0.0.1:{SIM_PORT}"
system_id = "smppguard"
password = "idle"
sessions = 2
window = 256

[[routes]]
name = "default"
upstreams = ["sim"]

{accounts}"""
    path = os.path.join(tmp, "idle.toml")
    with open(path, "w") as f:
        f.write(cfg)

    log = open(os.path.join(tmp, "proxy.log"), "w")
    sim = subprocess.Popen(
        [args.bin, "sim", "smsc", "--listen", f"127.0.0.1:{SIM_PORT}", "--no-validate",
         "--stats-interval-s", "0"],
        stderr=subprocess.DEVNULL,
    )
    proxy = None
    conns = []
    try:
        wait_port(SIM_PORT)
        proxy = subprocess.Popen([args.bin, "run", "--config", path, "--log", "warn"], stderr=log)
        wait_port(PROXY_PORT)
        time.sleep(1.0)
        before = status(proxy.pid)

        # Connect and bind in batches: a connection must bind within the proxy's
        # bind_timeout of being accepted.
        t0 = time.time()
        bound, bind_failed = 0, 0
        for start in range(0, args.sessions, 256):
            batch = []
            for i in range(start, min(args.sessions, start + 256)):
                s = socket.socket()
                s.connect(("127.0.0.1", PROXY_PORT))
                s.setblocking(False)
                batch.append(Conn(s, f"idle{i % ACCOUNTS:02d}".encode()))
            conns.extend(batch)
            ok, failed = exchange(batch, lambda c: bind_pdu(c.system_id, 1), BIND_TRANSMITTER_RESP, 60)
            bound, bind_failed = bound + ok, bind_failed + failed
        bind_s = time.time() - t0
        time.sleep(args.hold)
        alive, dead = exchange(conns, lambda c: pdu(ENQUIRE_LINK, 2), ENQUIRE_LINK_RESP, 60)
        after = status(proxy.pid)
        rss_delta = after["VmRSS"] - before["VmRSS"]
        print(json.dumps({
            "sessions": args.sessions,
            "bound": bound,
            "bind_failed": bind_failed,
            "bind_seconds": round(bind_s, 1),
            "answering_enquire_link": alive,
            "not_answering": dead,
            "rss_before_mib": round(before["VmRSS"] / 1024, 1),
            "rss_after_mib": round(after["VmRSS"] / 1024, 1),
            "peak_rss_mib": round(after["VmHWM"] / 1024, 1),
            "kib_per_session": round(rss_delta / max(1, bound), 2),
            "threads": after["Threads"],
        }))
        return 0 if bound == args.sessions and alive == args.sessions else 1
    finally:
        for c in conns:
            c.sock.close()
        for p in (proxy, sim):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()


if __name__ == "__main__":
    sys.exit(main())
