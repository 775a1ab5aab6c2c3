#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies; does nothing
# when the lock file has not changed since the last install. pip's output: var/log/setup.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/stage.sh
lock=requirements.lock
log=var/log/setup.log
stamp=.venv/.installed-$(sha256sum "$lock" | cut -c1-16)
[ -f "$stamp" ] && exit 0
if [ ! -x .venv/bin/python ]; then
  python=$(scripts/find_python.sh)
  run_stage "setup: creating .venv with $python" "$log" "$python" -m venv .venv
fi
run_stage "setup: installing the pinned dependencies (the first time takes several minutes)" "$log" \
  .venv/bin/python -m pip install --no-deps --disable-pip-version-check --no-input -r "$lock"
run_stage "setup: checking the installed dependencies" "$log" .venv/bin/python -m pip check
rm -f .venv/.installed-*
touch "$stamp"
