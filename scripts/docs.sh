#!/usr/bin/env bash
# Build the collection's docs site (antsibull-docs + Sphinx) into BUILD_DIR/docs, from the
# staged collection; warnings are errors. Result: BUILD_DIR/docs/build/html/index.html
# Usage: scripts/docs.sh VENV_DIR BUILD_DIR
set -euo pipefail

venv=$(cd "$1" && pwd)
build=$(mkdir -p "$2" && cd "$2" && pwd)
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$build

dest=$build/docs
rm -rf "$dest" && mkdir -p "$dest"
antsibull-docs sphinx-init --use-current --dest-dir "$dest" --fail-on-error \
    --project "virt.sriov" --copyright "virt.sriov contributors" --title "virt.sriov" \
    virt.sriov
# No network: no intersphinx inventories to fetch.
sed -i 's/^intersphinx_mapping = .*/intersphinx_mapping = {}/' "$dest/conf.py"
cd "$dest"
./build.sh
echo ">>> docs: $dest/build/html/index.html"
