#!/usr/bin/env bash
# Install the Debian packages the toolchain needs, only those that are missing.
# 'apt-get update' runs only when something has to be installed.
# Usage: scripts/sysdeps.sh [extra-package ...]
set -euo pipefail

PYTHON=${PYTHON:-python3}
pkgs=(libvirt-dev pkg-config gcc rsync git shellcheck "$@")
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    pkgs+=(python3-venv)
fi
# libvirt's RelaxNG schemas (/usr/share/libvirt/schemas), for the unit tests that validate the
# XML the collection builds: shipped by libvirt0 up to libvirt 9 (Debian 12), by libvirt-common
# from libvirt 10 on; take the one that matches the installed libvirt0.
if [ ! -f /usr/share/libvirt/schemas/domain.rng ]; then
    libvirt_version=$(dpkg-query -W -f='${Version}' libvirt0 2>/dev/null || true)
    if [ -n "$libvirt_version" ] && dpkg --compare-versions "$libvirt_version" ge 10; then
        pkgs+=("libvirt-common=$libvirt_version")
    else
        pkgs+=(libvirt0)
    fi
fi

missing=()
for p in "${pkgs[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != "installed" ]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo ">>> installing Debian packages: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-y -q -o DPkg::Lock::Timeout=600)
# A fresh machine may have no (or stale) package lists: try first, update and retry on failure.
if ! $SUDO apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null; then
    $SUDO apt-get update -q -o DPkg::Lock::Timeout=600 </dev/null
    $SUDO apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}" </dev/null
fi
