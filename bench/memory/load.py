#!/usr/bin/env python3
"""Sustained load of large pods against respawn-webhook, with its RSS sampled meanwhile.

Each request is an AdmissionReview of a pod with CONTAINERS containers, every container a new
image (so every lookup is a miss and fills the cache) and an annotation padding the body to
BODY_MIB MiB. CLIENTS threads send back to back for SECONDS over HTTPS (the webhook's CA).
Prints one JSON line: requests, answers by HTTP status, peak RSS (KiB) and the answers' kinds.
Bounded: stops after SECONDS; every request has a 30 s timeout.

usage: load.py URL CA_FILE PID SECONDS CLIENTS CONTAINERS BODY_MIB REGISTRY
"""
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

url, ca, pid, seconds, clients, containers, body_mib, registry = sys.argv[1:9]
pid, seconds, clients, containers = int(pid), float(seconds), int(clients), int(containers)
pad = int(float(body_mib) * 1024 * 1024)
target = urllib.parse.urlsplit(url)
ctx = ssl.create_default_context(cafile=ca)

lock = threading.Lock()
counts = {"requests": 0, "statuses": {}, "results": {}}
peak = [0]
stop = time.monotonic() + seconds


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def body(n):
    cs = [{"name": f"c{i}", "image": f"{registry}/load/app-{n}-{i}:v1"} for i in range(containers)]
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"big-{n}", "namespace": "load", "annotations": {"pad": ""}},
        "spec": {"containers": cs},
    }
    review = {
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": f"uid-{n}", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "load", "operation": "CREATE", "userInfo": {}, "object": pod,
        },
    }
    raw = json.dumps(review, separators=(",", ":"))
    pod["metadata"]["annotations"]["pad"] = "x" * max(0, pad - len(raw) - 16)
    return json.dumps(review, separators=(",", ":")).encode()


def client(k):
    n = k
    while time.monotonic() < stop:
        b = body(n)
        n += clients
        conn = http.client.HTTPSConnection(target.hostname, target.port, context=ctx, timeout=30)
        try:
            conn.request("POST", target.path + "?timeout=10s", b, {"Content-Type": "application/json"})
            r = conn.getresponse()
            answer = json.loads(r.read())
            kind = "patched" if "patch" in answer.get("response", {}) else (
                "allowed" if answer.get("response", {}).get("allowed") else "denied")
            with lock:
                counts["requests"] += 1
                counts["statuses"][r.status] = counts["statuses"].get(r.status, 0) + 1
                counts["results"][kind] = counts["results"].get(kind, 0) + 1
        except Exception as e:  # noqa: BLE001 - a load generator reports and goes on
            with lock:
                counts["statuses"][type(e).__name__] = counts["statuses"].get(type(e).__name__, 0) + 1
        finally:
            conn.close()


def sampler():
    while time.monotonic() < stop + 1:
        peak[0] = max(peak[0], rss_kib())
        time.sleep(0.1)


threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
s = threading.Thread(target=sampler)
s.start()
for t in threads:
    t.start()
for t in threads:
    t.join()
s.join()
counts["peak_rss_kib"] = peak[0]
print(json.dumps(counts))
