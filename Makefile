# kopilka — developer commands. `make` or `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY = $(VENV)/bin/python
PYTEST_ARGS ?=

HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install run test lint bench clean

help: ## show this list of targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

# the install compiles the promotions engine (setup.py): a changed domain module builds it again
$(VENV)/.installed: pyproject.toml setup.py $(wildcard src/kopilka/domain/*.py)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e '.[test]'
	@touch $@

install: $(VENV)/.installed ## create .venv and install kopilka with its test dependencies (editable; compiles the promotions engine with mypyc)

run: install ## install, create kopilka.db with demo data (KOPILKA_DATABASE_URL overrides) and serve http://127.0.0.1:8000 (HOST, PORT override)
	$(VENV)/bin/kopilka init --if-missing
	$(VENV)/bin/kopilka demo --if-empty
	$(VENV)/bin/kopilka serve --host $(HOST) --port $(PORT)

test: install ## install and run the whole suite: SQLite + PostgreSQL (when reachable), Chromium pages, then import layering and ruff
	@bash scripts/ensure-browser.sh || exit 1; \
	pg_url="$$(bash scripts/ensure-postgres.sh)" || exit 1; \
	if [ -n "$$pg_url" ]; then \
		export KOPILKA_TEST_POSTGRES_URL="$$pg_url"; \
		echo "PostgreSQL tests against $$pg_url" >&2; \
	else \
		unset KOPILKA_TEST_POSTGRES_URL; \
		echo "PostgreSQL not reachable: running SQLite tests only" >&2; \
	fi; \
	status=0; \
	export KOPILKA_EXPECT_COMPILED=1; \
	echo "$(PY) -m pytest -n 2 -p xdist --dist loadgroup $(PYTEST_ARGS)" >&2; \
	$(PY) -m pytest -n 2 -p xdist --dist loadgroup $(PYTEST_ARGS) || status=$$?; \
	echo "$(VENV)/bin/lint-imports" >&2; \
	$(VENV)/bin/lint-imports || status=1; \
	echo "$(VENV)/bin/ruff check src tests" >&2; \
	$(VENV)/bin/ruff check src tests || status=1; \
	exit $$status

lint: install ## ruff check of src and tests
	$(VENV)/bin/ruff check src tests

bench: install ## ledger throughput benchmark (bench/ledger.py)
	$(PY) bench/ledger.py

clean: ## remove .venv, kopilka.db*, caches and build output
	rm -rf $(VENV) build dist .pytest_cache .hypothesis .ruff_cache .import_linter_cache
	rm -f kopilka.db kopilka.db-*
	rm -rf src/*.egg-info
	rm -f src/*.so src/kopilka/domain/*.so src/kopilka/domain/engine_build.json
	find . -path ./.git -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
