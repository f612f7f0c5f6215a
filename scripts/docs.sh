#!/usr/bin/env bash
# Build the collection's docs site (antsibull-docs + Sphinx) into BUILD_DIR/docs, from the
# staged collection: the module and role reference and the guides listed in
# docs/docsite/extra-docs.yml (docs/docsite/rst/*.rst); warnings are errors.
# Result: BUILD_DIR/docs/build/html/index.html
# Usage: scripts/docs.sh VENV_DIR BUILD_DIR
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

venv=$(cd "$1" && pwd)
build=$(mkdir -p "$2" && cd "$2" && pwd)
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH=$build

dest=$build/docs
rm -rf "$dest" && mkdir -p "$dest"
antsibull-docs sphinx-init --use-current --dest-dir "$dest" --fail-on-error \
    --project "virt.sriov" --copyright "virt.sriov contributors" --title "virt.sriov" \
    virt.sriov
# Offline: no intersphinx inventory can be downloaded. Keep the Ansible docs base URL that
# sphinx-init wrote, but point it at a local inventory made from the generated rst.
cat >> "$dest/conf.py" <<'PY'

# make docs: offline build; only the Ansible docs, from a local inventory (docs-inventory.py)
import os  # noqa: E402
intersphinx_mapping = {'ansible_devel': (intersphinx_mapping['ansible_devel'][0], os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ansible_devel.inv'))}
PY
cd "$dest"
# build.sh = antsibull-docs collection (rst) + sphinx-build -W; split to make the inventory.
# shellcheck disable=SC2016  # $ANSIBLE_DEVEL_INV_HOOK is for build.sh to expand
sed -i 's/^sphinx-build /$ANSIBLE_DEVEL_INV_HOOK rst ansible_devel.inv \&\& sphinx-build /' build.sh
ANSIBLE_DEVEL_INV_HOOK="python3 $here/docs-inventory.py" ./build.sh
echo ">>> docs: $dest/build/html/index.html"
