#!/usr/bin/env bash
# Create (or re-create) a virtualenv from a fully pinned lock file.
# Usage: scripts/venv.sh VENV_DIR LOCK_FILE STAMP_FILE
# The caller (Makefile) names STAMP_FILE after a hash of the lock file's content, so the venv
# is rebuilt exactly when the pinned requirements change, and never on a warm machine.
set -euo pipefail

venv=$1 lock=$2 stamp=$3
PYTHON=${PYTHON:-python3}
PIP_VERSION=26.0.1

"$PYTHON" - <<'PY'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit("the toolchain is pinned for Python 3.11, found %s" % sys.version.split()[0])
PY

echo ">>> building $venv from $lock"
rm -rf "$venv"
"$PYTHON" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
# (drop pip's noise about this machine's optional local index directories)
quiet() { "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2); }
quiet "$venv/bin/python" -m pip install -q "pip==$PIP_VERSION"
quiet "$venv/bin/python" -m pip install -q -r "$lock"
"$venv/bin/python" -m pip check
touch "$stamp"
