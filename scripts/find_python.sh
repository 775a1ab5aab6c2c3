#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 supports Python <= 3.10).
set -euo pipefail
want=3.10
for candidate in "${PYTHON:-}" python3.10; do
  [ -n "$candidate" ] || continue
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c "import sys; sys.exit(sys.version_info[:2] != (3, 10))" 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for path in "$pyenv_root"/versions/$want*/bin/python; do
  [ -x "$path" ] && { echo "$path"; exit 0; }
done
cat >&2 <<MSG
error: Sotong needs Python $want (Rasa 3.6 does not run on newer Pythons) and none was found.
Install one, then run make again. Either:
  pyenv install 3.10.13          # .python-version names it
  apt-get install python3.10 python3.10-venv   # where your distribution has it
or point PYTHON at an interpreter: make run PYTHON=/path/to/python3.10
MSG
exit 1
