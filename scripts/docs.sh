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
# shellcheck disable=SC2016  # the $..._HOOK variables are for build.sh to expand
sed -i 's/^sphinx-build /$ANSIBLE_DEVEL_INV_HOOK rst ansible_devel.inv \&\& $EXTRA_DOCS_FILES_HOOK \&\& sphinx-build /' build.sh
# antsibull-docs copies only the .rst files of docs/docsite/rst; the images the guides show are
# copied next to them before Sphinx runs.
shopt -s nullglob
images=("$build"/ansible_collections/virt/sriov/docs/docsite/rst/*.png)
copy_images=true
if [ ${#images[@]} -gt 0 ]; then
    copy_images="cp -t rst/collections/virt/sriov/docsite ${images[*]}"
fi
ANSIBLE_DEVEL_INV_HOOK="python3 $here/docs-inventory.py" EXTRA_DOCS_FILES_HOOK=$copy_images ./build.sh
echo ">>> docs: $dest/build/html/index.html"
