#!/usr/bin/env bash
# Run ansible-test of a given virtualenv against the staged collection, fully offline.
# Usage: scripts/ansible-test.sh VENV_DIR ansible-test-args...
#   e.g. scripts/ansible-test.sh .venv sanity --venv --python 3.11
set -euo pipefail

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
venv=$(cd "$1" && pwd); shift

# `ansible-test ... --venv` bootstraps pip in each of its virtualenvs with a get-pip script it
# downloads from a host these machines cannot reach, unless the script is already cached.
# Both ansible-core 2.18 and 2.19 look for ~/.ansible/test/cache/get_pip_<version>.py; write a
# small stand-in for every pip version they ask for: ensurepip, then pip install the same args.
pip_versions=$("$venv/bin/python" - <<'PY'
import pathlib, re, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(" ".join(sorted(set(re.findall(r"pip='([0-9.]+)'", src.read_text())))) or "24.2")
PY
)
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
for v in $pip_versions; do
    shim=$cache/get_pip_${v//./_}.py
    want=$(cat <<'PY'
# Offline stand-in for the get-pip script ansible-test would download (written by virt.sriov
# scripts/ansible-test.sh): bootstrap pip with ensurepip, then install the requested packages.
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
PY
)
    if [ ! -f "$shim" ] || [ "$(cat "$shim")" != "$want" ]; then
        printf '%s\n' "$want" > "$shim"
    fi
done

stage=$("$root/scripts/stage-collection.sh")
cd "$stage"
export PATH="$venv/bin:$PATH"
exec "$venv/bin/ansible-test" "$@"
