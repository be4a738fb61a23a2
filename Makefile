# kplane — every entry point people and CI use. `make help` lists the targets.
# Area-specific targets live in mk/*.mk; each adds its set-up to `deps::`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
CACHE  ?= $(HOME)/.cache/kplane
export KPLANE_CACHE ?= $(CACHE)
PYTEST_ARGS ?=

.PHONY: help deps os-deps venv test test-unit lint fmt run openapi openapi-check bench-api \
  bench-api-scale

help: ## list the targets with what they do
	@grep -hE '^[a-zA-Z0-9_.-]+:+.*?## ' $(MAKEFILE_LIST) | sort -u \
	  | awk 'BEGIN {FS = ":+.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

os-deps: ## install the OS packages kplane needs (Debian; idempotent)
	@bash devstack/os-deps.sh

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed ## create .venv with kplane and its dev tools

deps:: os-deps venv ## everything the tests and `make run` need

test: deps ## the whole suite: lint, openapi drift, alembic drift, unit, integration, e2e
	$(MAKE) lint
	$(MAKE) openapi-check
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv ## fast pure tests only
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff, ruff format --check, mypy --strict, import-linter
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

fmt: venv ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

openapi: venv ## regenerate openapi/openapi.json from the app
	$(PY) -m app.openapi_dump > openapi/openapi.json

openapi-check: venv ## fail when openapi/openapi.json drifts from the app
	@$(PY) -m app.openapi_dump | diff -u openapi/openapi.json - \
	  || { echo "openapi/openapi.json is stale: run 'make openapi' and commit it"; exit 1; }

bench-api: venv os-deps ## API throughput beside the echo endpoint (GET, list 50, create, PATCH, DELETE)
	$(PY) -m bench.api

bench-api-scale: venv os-deps ## API latency at 1,000 and at 200,000 topics over 200 clusters (ratio; goal <= 1.3)
	$(PY) -m bench.api_scale

run: deps ## the whole system locally: Postgres, Redis, devstack Kubernetes, API (127.0.0.1:8080), worker, beat
	$(PY) -m devstack.run

-include $(sort $(wildcard mk/*.mk))
