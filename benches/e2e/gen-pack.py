#!/usr/bin/env python3
"""Writes a rule pack of N generated literal patterns (default 10 000) for the
end-to-end benchmark's scenario (e). The patterns are nonsense words that never
occur in the benchmark's messages, so every message is scanned in full and
forwarded: the cost measured is the scan, not the block."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
per_rule = 100
out = ["format = 1", "", "[pack]", f'name = "generated-{n}"', 'version = "1"', ""]
for r in range(0, n, per_rule):
    words = ", ".join(f'"zq{(i * 7919) % 1000003:07d}x{i}"' for i in range(r, min(n, r + per_rule)))
    out += [
        "[[rule]]",
        f'id = "gen-{r // per_rule:05d}"',
        'description = "generated benchmark rule"',
        'category = "spam"',
        'action = "reject"',
        f"patterns.p = {{ literal = [{words}] }}",
        "",
    ]
sys.stdout.write("\n".join(out))
