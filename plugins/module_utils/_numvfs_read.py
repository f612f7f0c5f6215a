# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The VF count helpers that do not change anything: parse and resolve a requested count, and
probe whether a PF's ``sriov_numvfs`` answers (``check_numvfs_answers``).

Kept apart from ``_numvfs`` (the whole write path) so that the modules that only need these
(``sriov_udev_rule``, ``sriov_vf_settings`` through ``_udev``) load a small module: every run
compiles the module_utils it imports from source.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    PCI_DEVICES,
    TIMED_OUT as _SYSFS_TIMED_OUT,
    read_bounded_many,
)
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label

# Reading sriov_numvfs needs no new interpreter: while a write of it is stuck, reading the
# attribute blocks too (the kernel holds the device lock), so the first read of a run is tried
# from a forked child (_sysfs.read_bounded_many) with this deadline.
PROBE_TIMEOUT = 10


def read_bounded(path, timeout):
    """Read a small file in a forked child (``_sysfs.read_bounded_many``), waiting at most
    ``timeout`` seconds for it.

    Return its text (stripped), None when it cannot be read, or the sentinel TIMED_OUT. A fork
    costs a fraction of a new interpreter's start, which every run that probes sriov_numvfs paid
    before (on a slow host, most of a no-op's own time)."""
    text = read_bounded_many([path], timeout)[0]
    return TIMED_OUT if text is _SYSFS_TIMED_OUT else text


TIMED_OUT = object()


def check_numvfs_answers(host, address, label, timeout=PROBE_TIMEOUT, reader=None):
    """Fail (without changing anything) when reading the PF's sriov_numvfs blocks.

    That happens while an earlier write is stuck in the kernel; every later read (also the one in
    read_pf) would block forever, so it is tried from a child process first.
    """
    reader = reader or read_bounded
    if reader(host.path(PCI_DEVICES, str(address), "sriov_numvfs"), timeout) is TIMED_OUT:
        raise SriovError(
            "Reading sriov_numvfs of PF %s did not answer within %d s: an earlier change of its VF "
            "count is stuck in the kernel, most likely because a guest still holds one of its VFs "
            "through vfio-pci (look for processes in state D and 'vfio-pci ... Relaying device "
            "request' in dmesg). Nothing was changed. Shutting the guest down (or virsh destroy) "
            "releases the VF; the pending write then completes." % (label, timeout),
        )


def parse_num_vfs(value, name="num_vfs"):
    """Return an int >= 0 or the string ``max``; fail naming the value otherwise."""
    valid = "expected a non-negative integer (for example 4) or 'max' (= sriov_totalvfs)"
    if isinstance(value, bool) or value is None:
        raise SriovError("Invalid %s %r: %s." % (name, value, valid))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == "max":
            return "max"
        if not text.lstrip("+-").isdigit() or not text.isascii():
            raise SriovError("Invalid %s %r: %s." % (name, value, valid))
        number = int(text)
    else:
        raise SriovError("Invalid %s %r: %s." % (name, value, valid))
    if number < 0:
        raise SriovError("Invalid %s %r: a VF count cannot be negative; %s." % (name, value, valid))
    return number


def resolve_count(value, facts, name="num_vfs"):
    """Turn a parsed num_vfs (int or 'max') into an int checked against the PF's totalvfs."""
    total = facts.get("totalvfs") or 0
    if value == "max":
        return total
    if value > total:
        raise SriovError(
            "Invalid %s %d for PF %s: the device supports at most %d VFs (sriov_totalvfs); "
            "use a value from 0 to %d or 'max'." % (name, value, pf_label(facts), total, total),
            totalvfs=total,
        )
    return value


__all__ = [
    "PROBE_TIMEOUT",
    "TIMED_OUT",
    "check_numvfs_answers",
    "parse_num_vfs",
    "read_bounded",
    "resolve_count",
]
