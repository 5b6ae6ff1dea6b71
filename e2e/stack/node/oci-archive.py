#!/usr/bin/env python3
"""Writes a one-layer OCI image archive (an oci-layout tar, what `ctr images import` reads).

Usage: oci-archive.py REF FILE ENTRYPOINT USER OUT.tar
  REF         the image name recorded in index.json (io.containerd.image.name), e.g.
              localhost/respawn-node/pause:1
  FILE        the only file of the layer, stored as /<basename>, mode 0755, owned by root
  ENTRYPOINT  the config's Entrypoint (one path)
  USER        the config's User, e.g. 65535:65535

Reproducible: fixed mtimes and ownership, gzip without a timestamp. Used by
e2e/stack/build-node.sh for the node's pause (sandbox) image.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(members):
    """A tar of (name, bytes, mode) members with reproducible metadata."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    ref, path, entrypoint, user, out = sys.argv[1:]
    with open(path, "rb") as f:
        layer = tar_bytes([(os.path.basename(path), f.read(), 0o755)])
    layer_gz = gzip.compress(layer, mtime=0)
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": [entrypoint], "User": user},
        "rootfs": {"type": "layers", "diff_ids": [digest(layer)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(layer_gz), "size": len(layer_gz)}],
    }, sort_keys=True).encode()
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": digest(manifest), "size": len(manifest),
                       "annotations": {"io.containerd.image.name": ref,
                                       "org.opencontainers.image.ref.name": ref}}],
    }, sort_keys=True).encode()
    members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 0o644), ("index.json", index, 0o644)]
    members += [("blobs/sha256/" + digest(b)[7:], b, 0o644) for b in (layer_gz, config, manifest)]
    with open(out + ".tmp", "wb") as f:
        f.write(tar_bytes(members))
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
