#!/usr/bin/env bash
# Installs nginx from Debian's packages for scripts/run_cluster.sh; does nothing when nginx is
# already installed. Only the binary is used: run_cluster.sh runs it as its own process with a
# configuration generated under var/nginx/, never as the system service and never with
# /etc/nginx. The package's post-install would start the system service on port 80: a temporary
# policy-rc.d (removed again) stops that.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is missing and this is not a Debian/Ubuntu machine: install nginx with your package manager" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "nginx is missing: run this script as root (apt-get install nginx)" >&2; exit 1; }
  as_root=(sudo)
fi
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, scripts/install_nginx.sh: do not start services while installing\nexit 101\n' \
    | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
install=("${as_root[@]}" apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold nginx)
if ! "${install[@]}"; then
  "${as_root[@]}" apt-get update -q
  "${install[@]}"
fi
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
echo "nginx installed: $( (nginx -v || /usr/sbin/nginx -v) 2>&1 )"
