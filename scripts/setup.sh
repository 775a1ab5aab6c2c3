#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies (requirements.lock) and Sotong
# itself, editable (`bot`, `actions` and the sotong-* commands of pyproject.toml, no PYTHONPATH needed);
# `scripts/setup.sh dev` also the test and lint tools (requirements-dev.lock). Does nothing when the
# lock files and pyproject.toml have not changed since the last install. pip's output: var/log/setup.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh
log=var/log/setup.log
dev=$([ "${1:-}" = dev ] && echo 1 || true)
stamp() { echo ".venv/.installed-$1-$(cat "${@:2}" | sha256sum | cut -c1-16)"; }  # one per lock file
runtime_stamp=$(stamp runtime requirements.lock pyproject.toml)
dev_stamp=$(stamp dev requirements-dev.lock)
[ -f "$runtime_stamp" ] && { [ -z "$dev" ] || [ -f "$dev_stamp" ]; } && exit 0
if [ ! -x .venv/bin/python ]; then
  python=$(scripts/find_python.sh)
  run_stage "setup: creating .venv with $python" "$log" "$python" -m venv .venv
fi
pip_install() { .venv/bin/python -m pip install --no-deps --disable-pip-version-check --no-input "$@"; }
if [ ! -f "$runtime_stamp" ]; then
  run_stage "setup: installing the pinned dependencies (the first time takes several minutes)" "$log" \
    pip_install -r requirements.lock
  run_stage "setup: installing Sotong (editable)" "$log" pip_install --no-build-isolation -e .
fi
if [ -n "$dev" ] && [ ! -f "$dev_stamp" ]; then
  run_stage "setup: installing the test and lint tools" "$log" pip_install -r requirements-dev.lock
fi
run_stage "setup: checking the installed dependencies" "$log" .venv/bin/python -m pip check
rm -f .venv/.installed-runtime-* && touch "$runtime_stamp"
[ -z "$dev" ] || { rm -f .venv/.installed-dev-* && touch "$dev_stamp"; }
