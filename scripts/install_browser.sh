#!/usr/bin/env bash
# Installs Debian's Chromium, its WebDriver and a Korean font (fonts-nanum, so that screenshots of
# the Korean console are legible) for the staff console's browser test (tests/bot/staff/test_staff_browser.py).
# Idempotent and quiet: does nothing when all three are installed.
# Needs root (or sudo) and Debian's package mirrors; exits non-zero when they cannot be installed,
# and the browser test then skips with the reason.
set -euo pipefail
packages=(chromium chromium-driver fonts-nanum)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi; }
export DEBIAN_FRONTEND=noninteractive
run_as_root apt-get update -qq >/dev/null
run_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || run_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"  # again, to show why
echo "Installed ${missing[*]}" >&2
