# respawn — top-level entry points. `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
ARM64 := aarch64-unknown-linux-musl
# The aarch64 supervisor links with the toolchain's own rust-lld: no cross C toolchain needed.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER ?= rust-lld
export RESPAWN_CACHE ?= $(HOME)/.cache/respawn
SUPERVISOR_BIN := target/$(MUSL)/supervisor/respawn
SUPERVISOR_ARM64_BIN := target/$(ARM64)/supervisor/respawn
# Each static supervisor must stay within 700 KiB.
SUPERVISOR_MAX_BYTES := 716800
QEMU_ARM64 ?= qemu-aarch64-static

.PHONY: all deps supervisor webhook build test test-arm64 unit e2e helm-check manifests bench images demo up down kind-e2e lint fmt clean

all: build

## deps: apt packages, podman config, the musl target; kube-apiserver, -controller-manager, -scheduler,
##       kubelet, kubectl, containerd, crictl and helm built from the Go module proxy (idempotent, cached)
deps:
	e2e/stack/install-deps.sh

## supervisor: the static, stripped, size-optimised `respawn` binary for x86_64 and aarch64 (≤ 700 KiB each)
supervisor:
	$(CARGO) build -p respawn --profile supervisor --target $(MUSL) --target $(ARM64)
	@for b in $(SUPERVISOR_BIN) $(SUPERVISOR_ARM64_BIN); do \
	  n=$$(stat -c %s $$b); printf 'supervisor: %s %d bytes (%d KiB)\n' $$b $$n $$((n / 1024)); \
	  [ $$n -le $(SUPERVISOR_MAX_BYTES) ] || { echo "supervisor: $$b is larger than 700 KiB" >&2; exit 1; }; \
	done

## webhook: the respawn-webhook binary
webhook:
	$(CARGO) build -p respawn-webhook --release

build: supervisor webhook

## test: every test, e2e included
test: deps supervisor
	RESPAWN_BIN=$(CURDIR)/$(SUPERVISOR_BIN) $(CARGO) test --workspace --exclude respawn-e2e
	$(MAKE) test-arm64
	$(MAKE) helm-check
	$(MAKE) e2e

## test-arm64: the supervisor's black-box scenarios against the aarch64 build under qemu-user
## (its children are host programs). Scenarios qemu-user cannot run print "*** NOT RUN under ...".
test-arm64: supervisor
	@echo "test-arm64: supervisor/tests/*.rs against $(SUPERVISOR_ARM64_BIN) under $(QEMU_ARM64)" >&2
	set -o pipefail; RESPAWN_BIN=$(CURDIR)/$(SUPERVISOR_ARM64_BIN) RESPAWN_RUNNER=$(QEMU_ARM64) \
	  $(CARGO) test -p respawn --test '*' 2>&1 | tee target/test-arm64.log
	@ok=$$(awk '/^test result: ok\./ { n += $$4 } END { print n + 0 }' target/test-arm64.log); \
	  skip=$$(grep -c '^\*\*\* NOT RUN' target/test-arm64.log); \
	  echo "test-arm64: $$((ok - skip)) scenarios passed under qemu-user, $$skip NOT RUN (docs/supervisor.md, arm64 and qemu-user):" >&2
	@grep '^\*\*\* ' target/test-arm64.log | sed 's/^\*\*\* /  /' >&2

unit:
	$(CARGO) test --workspace --exclude respawn-e2e

## e2e: the local stack (control plane, registries, webhook, a kubelet + containerd node) and the e2e suite
e2e: deps supervisor webhook
	e2e/run.sh

helm-check:
	e2e/stack/helm-check.sh

## manifests: re-render manifests/ from the chart's defaults
manifests:
	e2e/stack/render-manifests.sh

## bench: benchmarks with ratios against anchors measured in the same run
bench: deps supervisor webhook
	bench/run.sh

## images: respawn-supervisor and respawn-webhook OCI images via buildah (no Docker engine)
images: supervisor
	e2e/stack/images.sh

## demo: local stack, install, inject a pod, run it on the node, restart it, clean up
demo: deps supervisor webhook
	e2e/demo.sh

## up: the whole local stack left running (control plane, registries, webhook, node); prints
##     the two lines to paste into a shell for kubectl. `make down` stops it.
up: deps supervisor webhook
	@e2e/stack/stack.sh up >/dev/null
	@e2e/stack/up-banner.sh

## down: stop what `make up` started; fails if the node left anything on the host
down:
	e2e/stack/stack.sh down

## kind-e2e: for machines with Docker: kind cluster + helm install + the same e2e suite
kind-e2e:
	e2e/kind.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
