#!/usr/bin/env bash
# Builds the test images WITHOUT a Docker engine (buildah, FROM scratch + busybox-static) and
# pushes them to a registry on loopback (plain HTTP). Built images stay in containers-storage
# (localhost/respawn-test/*), so reruns only push.
#   test-images.sh REGISTRY_HOSTPORT [--creds USER:PASS]
# Pushed (all under REGISTRY_HOSTPORT/respawn-test/, tag v1; rootfs: /bin/busybox, /bin/sh):
#   oci               OCI image manifest      ENTRYPOINT ["/bin/busybox","sleep"] CMD ["3600"]
#   docker            Docker v2 schema 2      same config as oci
#   index             OCI index               linux/amd64 = oci's config;
#                                             linux/arm64: ENTRYPOINT ["/bin/busybox","echo","arm64"]
#   manifest-list     Docker manifest list    same two platforms as index
#   attested          OCI index               index's entries + an `unknown/unknown` attestation entry
#   arm-only          OCI index               linux/arm64 only
#   per-arch          OCI index               entries that disagree on ENTRYPOINT and CMD (--argv-for):
#                     linux/amd64:    ENTRYPOINT ["/bin/sh","-c","echo \"per-arch amd64 $0 $1\"; exec /bin/busybox sleep 3600"]
#                                     CMD ["amd64-entry","costs $$5 $(NOT_A_VAR)"]
#                     linux/arm64/v8: ENTRYPOINT ["/bin/sh","-c","echo \"per-arch arm64 $0 $1\"; exec /bin/busybox sleep 3600"]
#                                     CMD ["arm64-entry","costs $$5 $(NOT_A_VAR)"]
#                     run unchanged, an entry prints `per-arch <arch> <arch>-entry costs $$5 $(NOT_A_VAR)`
#                     (image strings reach the process as written); both entries' layers hold the
#                     host's busybox, so only the entry of the host's platform can run here.
#   entrypoint-only   OCI image               ENTRYPOINT ["/bin/busybox","sleep","3600"]
#   cmd-only          OCI image               CMD ["/bin/busybox","sleep","3600"]
#   neither           OCI image               no ENTRYPOINT, no CMD
#   shell-form        OCI image               CMD ["/bin/sh","-c","echo shell-form; exec /bin/busybox sleep 3600"]
#   dollar            OCI image               CMD ["/bin/sh","-c","echo 'dollar: $HOME $(VAR) $$ end'; exec /bin/busybox sleep 3600"]
#                                             WorkingDir /tmp, User 65534
#   argv              OCI image               a shell that stays up and never reads its arguments:
#                     ENTRYPOINT ["/bin/sh","-c","trap 'exit 0' TERM; while :; do /bin/busybox sleep 1; done",
#                                 "entry $(DEFINED) $(UNDEFINED) $$(DEFINED) $$ $ end$"]
#                     CMD ["cmd $(DEFINED)","$(UNDEFINED)","$$(DEFINED)","$$$","$","a$b","$("]
#                     (the runtime suite reads its /proc/PID/cmdline: `$` in image strings)
# Prints the digest of every pushed manifest as `name digest` on stdout.
set -euo pipefail
die() { echo "test-images.sh: error: $*" >&2; exit 1; }
[ $# -ge 1 ] || die "usage: test-images.sh REGISTRY_HOSTPORT [--creds USER:PASS]"
reg="$1"; shift
creds=() skopeo_creds=() curl_auth=()
if [ "${1:-}" = "--creds" ]; then
  [ -n "${2:-}" ] || die "--creds needs USER:PASS"
  creds=(--creds "$2") skopeo_creds=(--dest-creds "$2") curl_auth=(-u "$2")
fi
for tool in buildah skopeo curl jq; do command -v "$tool" >/dev/null || die "$tool not installed (make deps)"; done
busybox=/bin/busybox
case "$(ldd "$busybox" 2>&1 || true)" in
  *"not a dynamic"* | *"statically linked"*) ;;
  *) die "$busybox is not busybox-static (apt-get install busybox-static)" ;;
esac

# Bump when the image definitions change: images with another version are rebuilt.
VERSION=3
local_prefix=localhost/respawn-test
cache="${RESPAWN_CACHE:-$HOME/.cache/respawn}/test-images"
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9 # one builder at a time (tests and the e2e stack may run this concurrently)

have_image() { # NAME: built with this VERSION
  [ "$(buildah inspect --type image --format '{{index .ImageAnnotations "dev.respawn.test.version"}}' "$local_prefix/$1:v1" 2>/dev/null)" = "$VERSION" ]
}

# build NAME ARCH [buildah config args...]
build() {
  local name="$1" arch="$2"; shift 2
  have_image "$name" && return 0
  local rootfs="$cache/rootfs" ctr
  rm -rf "$rootfs"; mkdir -p "$rootfs/bin" "$rootfs/tmp"
  cp "$busybox" "$rootfs/bin/busybox"; ln -sf busybox "$rootfs/bin/sh"
  ctr="$(buildah from --quiet scratch)"
  buildah copy --quiet "$ctr" "$rootfs/" / >/dev/null
  buildah config --os linux --arch "$arch" --annotation "dev.respawn.test.version=$VERSION" \
    --entrypoint '[]' --cmd '' "$@" "$ctr"
  buildah commit --quiet --format oci "$ctr" "$local_prefix/$name:v1" >/dev/null
  buildah rm "$ctr" >/dev/null
  echo "test-images.sh: built $name ($arch)" >&2
}

build both-amd64 amd64 --entrypoint '["/bin/busybox","sleep"]' --cmd '["3600"]'
build both-arm64 arm64 --entrypoint '["/bin/busybox","echo","arm64"]'
build per-arch-amd64 amd64 --cmd '["amd64-entry","costs $$5 $(NOT_A_VAR)"]' \
  --entrypoint '["/bin/sh","-c","echo \"per-arch amd64 $0 $1\"; exec /bin/busybox sleep 3600"]'
build per-arch-arm64 arm64 --variant v8 --cmd '["arm64-entry","costs $$5 $(NOT_A_VAR)"]' \
  --entrypoint '["/bin/sh","-c","echo \"per-arch arm64 $0 $1\"; exec /bin/busybox sleep 3600"]'
build entrypoint-only amd64 --entrypoint '["/bin/busybox","sleep","3600"]'
build cmd-only amd64 --cmd '["/bin/busybox","sleep","3600"]'
build neither amd64
build shell-form amd64 --cmd '["/bin/sh","-c","echo shell-form; exec /bin/busybox sleep 3600"]'
build dollar amd64 --workingdir /tmp --user 65534 \
  --cmd '["/bin/sh","-c","echo '"'"'dollar: $HOME $(VAR) $$ end'"'"'; exec /bin/busybox sleep 3600"]'
build argv amd64 --user 65534 \
  --entrypoint '["/bin/sh","-c","trap '"'"'exit 0'"'"' TERM; while :; do /bin/busybox sleep 1; done","entry $(DEFINED) $(UNDEFINED) $$(DEFINED) $$ $ end$"]' \
  --cmd '["cmd $(DEFINED)","$(UNDEFINED)","$$(DEFINED)","$$$","$","a$b","$("]'

dest() { echo "docker://$reg/respawn-test/$1:v1"; }
push() { # LOCAL NAME FORMAT
  skopeo copy --quiet --dest-tls-verify=false "${skopeo_creds[@]}" --format "$3" \
    "containers-storage:$local_prefix/$1:v1" "$(dest "$2")" >/dev/null
}
push_list() { # NAME FORMAT LOCAL:ARCH[/VARIANT]...
  local name="$1" format="$2" list="$local_prefix/list-$1:v1" plat variant; shift 2
  buildah manifest rm "$list" >/dev/null 2>&1 || true
  buildah manifest create "$list" >/dev/null
  for item in "$@"; do
    plat="${item#*:}" variant=()
    [ "${plat#*/}" = "$plat" ] || variant=(--variant "${plat#*/}")
    buildah manifest add --os linux --arch "${plat%%/*}" "${variant[@]}" "$list" \
      "containers-storage:$local_prefix/${item%%:*}:v1" >/dev/null
  done
  buildah manifest push --quiet --all --tls-verify=false "${creds[@]}" --format "$format" "$list" "$(dest "$name")" >/dev/null
  buildah manifest rm "$list" >/dev/null
}

push both-amd64 oci oci
push both-amd64 docker v2s2
for n in entrypoint-only cmd-only neither shell-form dollar argv; do push "$n" "$n" oci; done
push_list index oci both-amd64:amd64 both-arm64:arm64
push_list manifest-list v2s2 both-amd64:amd64 both-arm64:arm64
push_list arm-only oci both-arm64:arm64
push_list per-arch oci per-arch-amd64:amd64 per-arch-arm64:arm64/v8

# attested: the index plus an attestation entry (platform unknown/unknown, as BuildKit writes),
# pointing at a manifest that exists in the same repository.
accept='application/vnd.oci.image.index.v1+json'
push_list attested oci both-amd64:amd64 both-arm64:arm64
index="$(curl -sf "${curl_auth[@]}" -H "Accept: $accept" "http://$reg/v2/respawn-test/attested/manifests/v1")" \
  || die "cannot read back respawn-test/attested:v1"
echo "$index" | jq -c '.manifests += [(.manifests[1] | .platform = {"os":"unknown","architecture":"unknown"}
  | .annotations = {"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":.digest})]
  | .manifests |= ([.[2]] + .[0:2])' >"$cache/attested.json"
curl -sf "${curl_auth[@]}" -X PUT -H "Content-Type: $accept" --data-binary @"$cache/attested.json" \
  "http://$reg/v2/respawn-test/attested/manifests/v1" >/dev/null || die "cannot push respawn-test/attested:v1"

for n in oci docker index manifest-list attested arm-only per-arch entrypoint-only cmd-only neither shell-form dollar argv; do
  digest="$(curl -sfI "${curl_auth[@]}" -H "Accept: $accept, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json" \
    "http://$reg/v2/respawn-test/$n/manifests/v1" | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: //p')"
  [ -n "$digest" ] || die "respawn-test/$n:v1 missing after push"
  echo "$n $digest"
done
