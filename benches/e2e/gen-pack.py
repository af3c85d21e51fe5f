#!/usr/bin/env python3
"""Writes a rule pack of N generated literal patterns (default 10 000) for the
end-to-end benchmark's scenario (e). The patterns are nonsense words that never
occur in the benchmark's messages, so every message is scanned in full and
forwarded: the cost measured is the scan, not the block.

Usage: gen-pack.py [N] [--reload K] [--full]

--reload K writes the pack as an operator has it after K reloads, each of which
edited one rule (replaced one of its words) and added one rule before all others;
the pack's version is "rK". With --full, reload K instead changes every word, so
nothing of the pack before it can be reused (the full recompile)."""
import argparse

ap = argparse.ArgumentParser()
ap.add_argument("n", nargs="?", type=int, default=10000)
ap.add_argument("--reload", type=int, default=0)
ap.add_argument("--full", action="store_true")
a = ap.parse_args()

n, k = a.n, a.reload
per_rule = 100
prefix = f"zr{k}" if a.full and k else "zq"
out = ["format = 1", "", "[pack]", f'name = "generated-{n}"', f'version = "{f"r{k}" if k else "1"}"', ""]


def rule(rid, words):
    return [
        "[[rule]]",
        f'id = "{rid}"',
        'description = "generated benchmark rule"',
        'category = "spam"',
        'action = "reject"',
        f"patterns.p = {{ literal = [{', '.join(chr(34) + w + chr(34) for w in words)}] }}",
        "",
    ]


if not a.full:
    # Rules added by reloads 1..K, newest first: each goes before all others.
    for j in range(k, 0, -1):
        out += rule(f"added-{j:03d}", [f"zqadded{j:03d}x"])
for r in range(0, n, per_rule):
    words = [f"{prefix}{(i * 7919) % 1000003:07d}x{i}" for i in range(r, min(n, r + per_rule))]
    idx = r // per_rule
    if not a.full and 1 <= idx <= k:
        # Reload `idx` edited this rule: its first word replaced.
        words[0] = f"zqedited{idx:03d}x"
    out += rule(f"gen-{idx:05d}", words)
print("\n".join(out), end="")
