#!/usr/bin/env bash
# The mechanical part of the lint habits (issue 14, item 6): ruff's safe fixes (import
# order, pyupgrade, trailing whitespace, unused noqa, ...) and then ruff format, over the
# whole tree. Safe fixes and the formatter keep behaviour (ruff format checks that the
# AST is unchanged); what is left for a person (long strings and comments, SIM/B/PTH
# findings, mypy) shows in the final `ruff check` and in `make lint`.
#
# Usage: scripts/lint-fix.sh            (from anywhere; uses the project's .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF="${RUFF:-.venv/bin/ruff}"

"$RUFF" check --fix --quiet . >/dev/null || true   # what it cannot fix is listed below
"$RUFF" format --quiet .
"$RUFF" check --fix --quiet . >/dev/null || true   # the formatter can expose a fix (rare)
if "$RUFF" check --quiet . >/dev/null; then
    echo "ruff: clean; now run make lint (mypy, import-linter)"
else
    echo "ruff: left for a person (ruff check . --output-format concise):"
    "$RUFF" check --output-format concise . || true
fi
