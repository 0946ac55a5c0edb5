#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need, skipping those already present.
set -euo pipefail
PACKAGES=(prometheus iproute2 iptables procps curl openssl util-linux shellcheck python3 python3-grpcio
  nginx haproxy wrk)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "debian packages: all present (${PACKAGES[*]})"
  exit 0
fi
echo "debian packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with services (prometheus, nginx, haproxy) must not start them: tests run their own.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
