# AI Active Trader — two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
TRADER := .venv/bin/trader
PYTEST_ARGS ?=

.PHONY: help setup deps run test test-unit test-integration lint format bench clean

help:
	@echo "make run    — install what is missing, start infrastructure and every app with its sidecar"
	@echo "make test   — install what is missing, lint, run unit/contract/integration/e2e tests"
	@echo "make lint   — ruff (lint + format check) and mypy"
	@echo "make bench  — run the benchmarks and print their figures"
	@echo "PUBSUB=nats|kafka|redis STATE=redis|postgres pick the backends (default nats, redis)"

$(UV):
	@echo "… installing uv $(UV_VERSION) into $(TOOLS)"
	@python3 -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install -q --disable-pip-version-check uv==$(UV_VERSION)

# Python dependencies of the whole workspace (one uv.lock); a no-op when already in sync.
# Bytecode is compiled ahead (site-packages and our sources): a process then starts in about
# half the time, which is what lets ai-decision be ready well within 2 s of a cold start.
deps: $(UV)
	@$(UV) sync --all-packages --frozen --python python3.11 -q --compile-bytecode
	@.venv/bin/python -m compileall -q apps/*/src libs/*/src > /dev/null
	@echo "✓ Python workspace in sync (uv.lock)"

setup: deps
	@$(TRADER) setup

run: setup
	@$(TRADER) run

test: setup lint
	@.venv/bin/python -m pytest $(PYTEST_ARGS)

test-unit: deps
	@.venv/bin/python -m pytest tests/unit tests/contract $(PYTEST_ARGS)

lint: deps
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@.venv/bin/mypy
	@echo "✓ lint clean"

format: deps
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

bench: setup
	@.venv/bin/python -m bench

clean:
	@$(TRADER) infra down || true
	rm -rf .local/run .local/infra
