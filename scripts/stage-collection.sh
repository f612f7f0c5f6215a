#!/usr/bin/env bash
# Stage the collection where ansible-test wants it: .../ansible_collections/virt/sriov/.
# Copies exactly the files git knows about (tracked + untracked-not-ignored), so build output,
# virtualenvs and caches never leak in; files removed from the work tree disappear from the
# stage (rsync --delete). Unchanged files are not copied again.
# Usage: scripts/stage-collection.sh [DEST]   (default: build/ansible_collections/virt/sriov)
# Prints the staged path on stdout.
set -euo pipefail

root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dest=${1:-$root/build/ansible_collections/virt/sriov}
mkdir -p "$dest"

filter=$(mktemp)
trap 'rm -f "$filter"' EXIT
# ansible-test's own output and the stage's git repository survive re-staging.
printf '%s\n' 'P /tests/output/' 'P /.git/' > "$filter"
(cd "$root" && git ls-files -co --exclude-standard -z) | python3 -c '
import sys
files = [f for f in sys.stdin.buffer.read().decode().split("\0") if f]
dirs = set()
for f in files:
    parts = f.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        dirs.add("/".join(parts[:i]))
esc = lambda p: p.replace("\\", "\\\\").replace("[", "\\[").replace("*", "\\*").replace("?", "\\?")
for d in sorted(dirs):
    print("+ /" + esc(d) + "/")
for f in sorted(files):
    print("+ /" + esc(f))
print("- *")
' >> "$filter"

# ansible-test walks up to the nearest .git to list the content; the repo's .gitignore ignores
# build/, so the stage gets a git repository of its own (untracked files are enough).
[ -d "$dest/.git" ] || git init -q "$dest"

rsync -a --delete --delete-excluded --filter="merge $filter" "$root/" "$dest/"
echo "$dest"
