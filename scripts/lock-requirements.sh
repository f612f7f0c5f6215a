#!/usr/bin/env bash
# Regenerate requirements/*.txt (full locks) from requirements/*.in (direct, exact pins):
# install each .in into a throw-away venv and freeze it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for in_file in requirements/*.in; do
    name=$(basename "$in_file" .in)
    echo ">>> locking $in_file"
    "$PYTHON" -m venv "$tmp/$name"
    "$tmp/$name/bin/python" -m pip install -q --disable-pip-version-check -r "$in_file"
    {
        echo "# Generated from $name.in by 'make requirements-lock' (pip freeze of a fresh venv). Do not edit by hand."
        "$tmp/$name/bin/python" -m pip freeze --disable-pip-version-check | sort -f
    } > "requirements/$name.txt"
done
