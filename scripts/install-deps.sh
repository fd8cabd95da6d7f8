#!/usr/bin/env bash
# Installs the Debian packages and Python packages the portal and its tests need.
# Idempotent and quiet when everything is already there.
set -euo pipefail

APT_PACKAGES=(libargon2-dev libqrencode-dev libcurl4-openssl-dev libsqlite3-dev libhpdf-dev fonts-dejavu-core)
if [[ "${1:-}" == "--test" ]]; then
    APT_PACKAGES+=(chromium chromium-driver)
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
    echo "installing: ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
    python3 -m pip install --quiet --disable-pip-version-check -r Tests/requirements.txt
fi
