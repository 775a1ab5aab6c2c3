#!/usr/bin/env bash
# Lint as CI runs it (pyproject.toml configures all three): ruff's rules, ruff's formatting, mypy.
# Runs every check and fails when any fails. To apply ruff's automatic fixes and formatting:
#   .venv/bin/ruff check --fix . && .venv/bin/ruff format .
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
check() {
  echo "== $*"
  "$@" || status=1
}
check .venv/bin/ruff check .
check .venv/bin/ruff format --check --output-format concise .
check .venv/bin/mypy
exit $status
