#!/usr/bin/env bash
# Creates .venv with Python 3.10 and installs the pinned dependencies; does nothing
# when the lock file has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=requirements.lock
stamp=.venv/.installed-$(sha256sum "$lock" | cut -c1-16)
[ -f "$stamp" ] && exit 0
if [ ! -x .venv/bin/python ]; then
  python=$(scripts/find_python.sh)
  echo "Creating .venv with $python"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --no-deps -r "$lock"
.venv/bin/python -m pip check >/dev/null || .venv/bin/python -m pip check
rm -f .venv/.installed-*
touch "$stamp"
echo "Dependencies installed in .venv"
