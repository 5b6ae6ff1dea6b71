# respawn — top-level entry points. `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
CARGO ?= cargo
MUSL := x86_64-unknown-linux-musl
export RESPAWN_CACHE ?= $(HOME)/.cache/respawn
SUPERVISOR_BIN := target/$(MUSL)/supervisor/respawn

.PHONY: all deps supervisor webhook build test unit e2e helm-check manifests bench images demo kind-e2e lint fmt clean

all: build

## deps: install apt packages, podman config, the musl target, kube-apiserver and helm (idempotent, cached)
deps:
	e2e/stack/install-deps.sh

## supervisor: the static, stripped, size-optimised `respawn` binary
supervisor:
	$(CARGO) build -p respawn --profile supervisor --target $(MUSL)
	@ls -l $(SUPERVISOR_BIN)

## webhook: the respawn-webhook binary
webhook:
	$(CARGO) build -p respawn-webhook --release

build: supervisor webhook

## test: every test, e2e included
test: deps supervisor
	RESPAWN_BIN=$(CURDIR)/$(SUPERVISOR_BIN) $(CARGO) test --workspace --exclude respawn-e2e
	$(MAKE) helm-check
	$(MAKE) e2e

unit:
	$(CARGO) test --workspace --exclude respawn-e2e

## e2e: the local stack (etcd, kube-apiserver, registry, webhook, podman/runc) and the e2e suite
e2e: deps supervisor webhook
	e2e/run.sh

helm-check:
	@if [ -x e2e/stack/helm-check.sh ]; then e2e/stack/helm-check.sh; else echo "helm-check: not set up yet"; fi

## manifests: re-render manifests/ from the chart's defaults
manifests:
	e2e/stack/render-manifests.sh

## bench: benchmarks with ratios against anchors measured in the same run
bench: deps supervisor webhook
	bench/run.sh

## images: respawn-supervisor and respawn-webhook OCI images via buildah (no Docker engine)
images: supervisor
	e2e/stack/images.sh

## demo: local stack, install, inject a pod, run it, restart it, clean up
demo: deps supervisor webhook
	e2e/demo.sh

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
