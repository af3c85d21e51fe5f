"""Histograms from two Prometheus text scrapes of smppguard, for the e2e scripts."""
import re


def hist(path, name):
    """Cumulative bucket counts of one histogram, summed over its label sets."""
    b = {}
    with open(path) as f:
        for line in f:
            m = re.match(name + r'_bucket\{.*le="([^"]+)"\} (\S+)', line)
            if m:
                le = float("inf") if m[1] == "+Inf" else float(m[1])
                b[le] = b.get(le, 0) + float(m[2])
    return b


def diff(name, before, after):
    """Bucket counts of `name` observed between the scrapes in files `before` and `after`."""
    x, y = hist(before, name), hist(after, name)
    return {le: y[le] - x.get(le, 0) for le in y}
