"""Paths shared by the benchmark scripts."""

import os
import sys

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
# Scratch outside the repository: the collections link below points back at the repository,
# and tools that walk the tree must not find a cycle.
WORK = os.environ.get("BENCH_WORK") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "virt-sriov-bench")


def collections_path():
    """A collections root with ansible_collections/virt/sriov -> the repository."""
    root = os.path.join(WORK, "collections")
    ns = os.path.join(root, "ansible_collections", "virt")
    os.makedirs(ns, exist_ok=True)
    link = os.path.join(ns, "sriov")
    # a link left by a run from another checkout points elsewhere: measure this one
    if os.path.islink(link) and os.readlink(link) != REPO:
        os.remove(link)
    if not os.path.islink(link):
        os.symlink(REPO, link)
    return root


def import_collection():
    root = collections_path()
    if root not in sys.path:
        sys.path.insert(0, root)
