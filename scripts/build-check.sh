#!/usr/bin/env bash
# Build the collection tarball from the staged tree, install it into a temporary collections
# path, and check that `ansible-doc virt.sriov.<module>` renders for every module given.
# Usage: scripts/build-check.sh VENV_DIR STAGE_DIR BUILD_DIR [module ...]
set -euo pipefail

venv=$(cd "$1" && pwd) stage=$2 build=$3; shift 3
export PATH="$venv/bin:$PATH"

dist=$build/dist
rm -rf "$dist" && mkdir -p "$dist"
ansible-galaxy collection build --force --output-path "$dist" "$stage"
tarball=$(ls "$dist"/virt-sriov-*.tar.gz)
echo ">>> built $tarball ($(du -h "$tarball" | cut -f1), $(tar tzf "$tarball" | wc -l) entries)"

# Build output must not leak into the artifact.
if tar tzf "$tarball" | grep -E '(^|/)(\.venv[^/]*|build|tests/output|collections|__pycache__|\.git)/' ; then
    echo "ERROR: build output or caches inside $tarball" >&2
    exit 1
fi

# Stable name for ansible-builder (execution-environment.yml).
mkdir -p "$build/ee-input"
cp "$tarball" "$build/ee-input/virt-sriov.tar.gz"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --force: install into $tmp even when another copy (say, molecule's prerun in
# ~/.ansible/collections) makes ansible-galaxy think virt.sriov is already installed.
ansible-galaxy collection install --offline --force -p "$tmp" "$tarball"
export ANSIBLE_COLLECTIONS_PATH=$tmp
ansible-galaxy collection list -p "$tmp" virt.sriov

if [ $# -eq 0 ]; then
    echo ">>> no modules in plugins/modules yet: nothing for ansible-doc to render"
fi
failed=0
for m in "$@"; do
    if out=$(ansible-doc "virt.sriov.$m" 2>&1) && [ -n "$out" ] && ! grep -q '\[WARNING\]' <<<"$out"; then
        echo "ok: ansible-doc virt.sriov.$m"
    else
        echo "FAILED: ansible-doc virt.sriov.$m"; echo "$out" | tail -20
        failed=1
    fi
done
exit $failed
