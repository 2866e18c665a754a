# Vangnet: `make help` lists the targets. A fresh clone needs only python3 (3.11) and make.
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup demo test lint typecheck unit integration e2e format clean

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	touch $@

setup: $(VENV)/.synced ## Create .venv from the lock file (done by every other target)

demo: setup ## Run Vangnet: embedded PostgreSQL, demo board with three schools
	$(BIN)/vangnet demo $(ARGS)

test: setup lint typecheck ## The whole test suite: lint, types, unit, integration, e2e
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: setup ## ruff (lint and formatting) and the import contracts (pyproject.toml, import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: setup ## mypy --strict
	$(BIN)/mypy

unit: setup ## Unit tests only (no database)
	$(BIN)/pytest -q tests/unit

integration: setup ## Integration tests (real PostgreSQL; embedded if no database URL is set)
	$(BIN)/pytest -q tests/integration

e2e: setup ## End-to-end tests (Chromium and a test OpenID provider; needs node, npm, chromium)
	$(BIN)/pytest -q tests/e2e

format: setup ## Format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the virtual environments (not the demo data in .vangnet)
	rm -rf .venv .tools
