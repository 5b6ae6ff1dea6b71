#!/usr/bin/env python3
"""Turns a Pod read back from kube-apiserver (JSON on stdin) into YAML for `podman kube play`.

The pod's spec is kept as the apiserver stored it (the webhook's mutation included). Only what the
kubelet would do and podman 4.3's kube play does not is translated, nothing the webhook produced:

  1. `$(VAR)` references in command/args are expanded from the container's env (`value` entries,
     each expanded with the earlier ones), `$$` becomes `$`, unresolvable references stay literal:
     the kubelet's rules (k8s.io/kubernetes third_party/forked/golang/expansion). podman passes
     command/args through verbatim, so without this the argv would differ from a real node's.
  2. Projected service-account token volumes (`kube-api-access-*`, added by the ServiceAccount
     admission plugin) and their mounts are dropped: podman cannot project tokens.
  3. Server-side metadata (uid, resourceVersion, managedFields, ownerReferences, namespace, ...)
     and status are dropped; the name comes from metadata.name (generateName already resolved).
  4. emptyDir volumes are renamed `<pod>-<volume>`: podman 4.3's kube play makes an emptyDir a
     named volume shared by every pod using that name (so pods played at once would share one
     `respawn` volume), where the kubelet gives each pod its own. `kube play --down` removes it.
  5. Annotations whose value is longer than 63 characters (e.g. respawn.dev/original-argv) are
     dropped: podman 4.3 wrongly applies the label-value limit to annotations and refuses the pod.
     Annotations do not change what runs (the webhook passes settings as RESPAWN_* env vars).

Usage: pod-to-podman.py [--name NAME] < pod.json > pod.yaml
"""
import json
import sys

import yaml

KEEP_METADATA = ("name", "labels", "annotations")


def expand(text, env):
    """The kubelet's $(VAR) expansion of one string."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
            else:
                name = text[i + 2:close]
                out.append(env[name] if name in env else "$(" + name + ")")
                i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def container_env(container):
    env = {}
    for var in container.get("env") or []:
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
    return env


def translate(pod, name=None):
    meta = {k: v for k, v in pod.get("metadata", {}).items() if k in KEEP_METADATA}
    if "annotations" in meta:
        meta["annotations"] = {k: v for k, v in meta["annotations"].items() if len(v) <= 63}
    if name:
        meta["name"] = name
    spec = dict(pod["spec"])
    dropped = {v["name"] for v in spec.get("volumes") or []
               if v["name"].startswith("kube-api-access-") and "projected" in v}
    renamed = {v["name"]: f"{meta['name']}-{v['name']}" for v in spec.get("volumes") or []
               if "emptyDir" in v}
    spec["volumes"] = [dict(v, name=renamed.get(v["name"], v["name"]))
                       for v in spec.get("volumes") or [] if v["name"] not in dropped]
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            env = container_env(c)
            for field in ("command", "args"):
                if field in c:
                    c[field] = [expand(s, env) for s in c[field]]
            mounts = [dict(m, name=renamed.get(m["name"], m["name"]))
                      for m in c.get("volumeMounts") or [] if m["name"] not in dropped]
            if mounts:
                c["volumeMounts"] = mounts
            else:
                c.pop("volumeMounts", None)
    for key in ("nodeName", "serviceAccount", "serviceAccountName"):
        spec.pop(key, None)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def main():
    name = None
    if len(sys.argv) == 3 and sys.argv[1] == "--name":
        name = sys.argv[2]
    elif len(sys.argv) != 1:
        sys.exit("usage: pod-to-podman.py [--name NAME] < pod.json > pod.yaml")
    yaml.safe_dump(translate(json.load(sys.stdin), name), sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
