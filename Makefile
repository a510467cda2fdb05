# The README's two commands are `make demo` and `make test`; both set the machine up themselves.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help bootstrap venv demo test lint test-unit test-services test-cluster test-image e2e \
        e2e-kind kind-up kind-down kind-node-image cluster-binaries cluster-up cluster-down image \
        bench load-test generate clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

venv: ## the virtual environment with the project (editable) and its dev tools
	@scripts/bootstrap.sh python

bootstrap: ## everything a fresh machine needs: Debian packages, the venv, the control plane binaries
	@scripts/bootstrap.sh all
	@scripts/cluster/build.sh >/dev/null

demo: venv ## the bot on its embedded default: embedded PostgreSQL, the emulator, a web page and a terminal chat
	@$(VENV)/bin/training-bot demo

test: bootstrap lint ## every test tier: unit, services, cluster, e2e, image (kind: make e2e-kind, not yet in CI)
	$(PYTEST) tests e2e -m "not kind"

lint: venv ## ruff, clean
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test-unit: venv ## pure tests only (no services)
	$(PYTEST) tests -m "not services and not cluster and not e2e and not image"

test-services: bootstrap ## the bot against real PostgreSQL, Redis and Sentinel
	$(PYTEST) tests -m services

test-cluster: bootstrap ## the operator and the chart on the local control plane
	$(PYTEST) tests -m cluster

e2e: bootstrap ## the e2e suite against KUBECONFIG (or the local control plane); real-pod scenarios need kind
	$(PYTEST) e2e -m "not kind"

test-image: bootstrap ## build the image and run it for real
	$(PYTEST) tests -m image

cluster-binaries: ## build (or find cached) kube-apiserver, controller-manager, scheduler, etcd, kwok, helm, kubectl
	@scripts/cluster/build.sh

cluster-up: cluster-binaries ## start the local control plane; last line is KUBECONFIG=<path>
	@python3 scripts/cluster/controlplane.py up

cluster-down: ## stop the local control plane started by cluster-up
	@python3 scripts/cluster/controlplane.py down

image: ## build the container image (starts the Docker engine if needed); last line is IMAGE=<ref>
	@scripts/image/build.sh

e2e-kind: bootstrap ## the e2e suite, and what only real pods show, on a kind cluster built here: docs/KIND.md
	scripts/e2e-kind.sh

kind-node-image: bootstrap ## assemble the kind node image from Debian packages and Go modules; last line NODE_IMAGE=<ref>
	@scripts/image/engine.sh start >/dev/null
	@scripts/kind/build.sh

kind-up: bootstrap ## a kind cluster with the operator and a sample bot; last line is KUBECONFIG=<path>
	@scripts/kind/up.sh

kind-down: ## delete what kind-up created (the cluster; the Docker engine if it started it)
	@scripts/kind/down.sh

bench: bootstrap ## the throughput/latency/memory benchmark; numbers go to docs/PERFORMANCE.md
	$(PY) bench/run.py

load-test: venv ## synthetic trainees against a bot behind the emulator: make load-test TARGET=local USERS=100 DURATION=1m
	scripts/run_load_test.sh $(or $(TARGET),local) $(or $(USERS),50) $(or $(DURATION),1m)

generate: venv ## rewrite derived files: the chart's CRDs, RBAC, schema and docs tables; monitoring/alerts.yml
	$(PY) charts/generate.py
	$(PY) scripts/render_monitoring.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache
