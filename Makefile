# Developer entry points. `make test` is what CI runs (via .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PGPORT ?= 5432
LEDGER_TEST_POSTGRES_URL ?= postgresql://ledger:ledger@127.0.0.1:$(PGPORT)/ledger_test
PYTEST_ARGS ?=

.PHONY: venv test run bench lint clean browser screenshots check fix

venv: $(STAMP)

# Reinstall only when pyproject.toml changes (or the venv is missing).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[postgres,kafka,dev]'
	@touch $@

# The static checks, defined once: `make lint` is exactly these, `make test` (what CI runs)
# is these and then pytest. What ruff and mypy check is configured in pyproject.toml.
check: venv
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lint: check

# The checks first, so that pytest's summary is the last line of the output.
test: check browser
	PGPORT=$(PGPORT) bash scripts/ensure-postgres.sh
	export LEDGER_TEST_POSTGRES_URL='$(LEDGER_TEST_POSTGRES_URL)'; \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

# The mechanical part of the checks, applied: ruff's safe fixes, then ruff format.
fix: venv
	bash scripts/lint-fix.sh

# The CLI walk-through, then the HTTP API on 127.0.0.1:8000 with one demo key per role.
run: venv
	$(BIN)/ledger demo
	$(BIN)/ledger serve --demo

# Quick benchmarks (a minute or two): rewrites BENCHMARKS.md and BENCHMARKS.json with the
# 1,000-participant figures measured now and keeps the larger scales of the committed full
# run (--merge; the report says which run each came from). Without a PostgreSQL its figures
# are skipped. Full run: `.venv/bin/ledger bench` (10k, 100k, 1M participants; hours).
# Extra options: `make bench BENCH_ARGS='--stores sqlite'`.
bench: venv
	PGPORT=$(PGPORT) bash scripts/ensure-postgres.sh >/dev/null \
		|| echo "bench: no PostgreSQL here, its figures will be skipped" >&2
	LEDGER_BENCH_POSTGRES_URL='$(LEDGER_TEST_POSTGRES_URL)' $(BIN)/ledger bench --quick --merge $(BENCH_ARGS)

# Debian's Chromium, which the dashboard's browser tests drive (.ci/run installs it too).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

# The README's screenshots of the dashboard at 1280 and 360 px (docs/dashboard-*.png), taken
# by the browser test from its seeded store: regenerated, never drawn by hand.
screenshots: venv browser
	mkdir -p docs
	LEDGER_SCREENSHOT_DIR=docs $(BIN)/python -m pytest -q \
		tests/e2e/test_dashboard.py -k screenshots

clean:
	rm -rf var/ .pytest_cache/ .hypothesis/ .mypy_cache/ .ruff_cache/ .import_linter_cache/ \
		build/ dist/ *.egg-info/
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
