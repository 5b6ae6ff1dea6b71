"""Summarises the kubelet's prober_probe_duration_seconds (Prometheus text on stdin) for the
liveness probes of the given pods in one namespace: count, mean, p50 and p90 (linear
interpolation inside the histogram's buckets), and each pod's mean next to the native probe of
the same kind. Usage: summary.py NAMESPACE POD..."""

import re
import sys

ns, pods = sys.argv[1], sys.argv[2:]
label = re.compile(r'(\w+)="([^"]*)"')
series = {}  # pod -> {"sum": s, "count": n, "buckets": [(le, cumulative)]}
for line in sys.stdin:
    if not line.startswith("prober_probe_duration_seconds"):
        continue
    head, value = line.rsplit(" ", 1)
    name = head.split("{", 1)[0]
    labels = dict(label.findall(head))
    if labels.get("namespace") != ns or labels.get("probe_type") != "Liveness":
        continue
    s = series.setdefault(labels.get("pod"), {"sum": 0.0, "count": 0.0, "buckets": []})
    if name.endswith("_sum"):
        s["sum"] += float(value)
    elif name.endswith("_count"):
        s["count"] += float(value)
    elif name.endswith("_bucket"):
        le = labels["le"]
        s["buckets"].append((float("inf") if le == "+Inf" else float(le), float(value)))


def quantile(buckets, q):
    buckets = sorted(buckets)
    total = buckets[-1][1]
    prev_le, prev_n = 0.0, 0.0
    for le, n in buckets:
        if n >= q * total:
            if le == float("inf") or n == prev_n:
                return prev_le
            return prev_le + (le - prev_le) * (q * total - prev_n) / (n - prev_n)
        prev_le, prev_n = le, n
    return prev_le


means = {}
print(f"{'pod':<14}{'probes':>8}{'mean ms':>10}{'p50 ms':>9}{'p90 ms':>9}")
for pod in pods:
    s = series.get(pod)
    if not s or not s["count"]:
        print(f"{pod:<14} no liveness probe durations")
        continue
    means[pod] = 1000 * s["sum"] / s["count"]
    p50, p90 = (1000 * quantile(s["buckets"], q) for q in (0.5, 0.9))
    print(f"{pod:<14}{int(s['count']):>8}{means[pod]:>10.1f}{p50:>9.1f}{p90:>9.1f}")
for kind in ("http", "tcp"):
    ours, native = means.get(f"respawn-{kind}"), means.get(f"native-{kind}")
    if ours and native:
        print(f"respawn probe --{kind}: +{ours - native:.1f} ms per probe over the kubelet's own ({ours / native:.1f}x)")
if "native-exec" in means and "respawn-http" in means:
    print(f"respawn probe --http-get over a native exec probe (cat): +{means['respawn-http'] - means['native-exec']:.1f} ms")
