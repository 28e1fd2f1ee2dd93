#!/usr/bin/env bash
# deps.sh: install the Debian packages gslbd needs to build, test and benchmark.
# Idempotent: only missing packages are installed; prints nothing when all are there.
set -eu

pkgs=(
  build-essential pkg-config
  libldns-dev libuv1-dev libmaxminddb-dev libcurl4-openssl-dev libjansson-dev
  libmicrohttpd-dev libcmocka-dev libssl-dev
  libmaxmind-db-writer-perl mmdb-bin
  bind9-dnsutils bind9-utils knot-dnsutils ldnsutils dnsperf zonemaster-cli
  nsd gdnsd knot unbound
  clang libclang-rt-14-dev
  procps iproute2 python3 python3-dnspython python3-cryptography python3-jsonschema
  lintian systemd dpkg-dev
  curl chromium
  nodejs
  etcd-server etcd-client
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
else
  sudo=
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The peers (nsd, gdnsd, knot) are only run by our tests on loopback ports:
# keep their packaged services from starting on install.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
