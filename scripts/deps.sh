#!/usr/bin/env bash
# Installs the Debian 12 packages sipline builds, tests and demos with.
# Runs apt-get only when something is missing (needs root then).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
      libssl-dev libexpat1-dev libuv1-dev libc-ares-dev
      libcurl4-openssl-dev libcmocka-dev libcjson-dev
      libsndfile1-dev libsrtp2-dev libspandsp-dev
      kamailio kamailio-tls-modules sip-tester baresip-core python3 jq
      valgrind
      libosip2-dev libsofia-sip-ua-dev libre-dev
      openssl tshark sngrep chromium fonts-dejavu-core
      linphone-cli)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi
