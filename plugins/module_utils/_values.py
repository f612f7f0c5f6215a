# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small validators and labels shared by several modules (one home each)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

VLAN_MAX = 4095


def validate_vlan(value, option="vlan"):
    """One 802.1Q VLAN tag (0-4095) or None; a bool or anything else is refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= VLAN_MAX:
        raise SriovError("Invalid %s %r: expected one VLAN tag, an integer from 0 to %d." % (option, value, VLAN_MAX))
    return value


def pf_label(pf):
    """How messages name a PF: ``enp1s0 (0000:01:00.0)`` when it has a netdev, else its PCI address.

    ``pf``: the PF's facts (``_sysfs.read_pf``) or any mapping with ``pci_address`` and, when the
    PF has a network interface, ``netdev``. Pure: it reads nothing from the host.
    """
    if pf.get("netdev"):
        return "%s (%s)" % (pf["netdev"], pf["pci_address"])
    return str(pf["pci_address"])


# A CPU or NUMA node list as the kernel (local_cpulist) and libvirt (cpuset, nodeset) write it:
# "0-3,8", libvirt also "^2" to exclude. At most this many entries are expanded.
_LIST_LIMIT = 65536


def parse_cpulist(text):
    """The set of numbers of a list such as '0-3,8,^2'; None when the text is empty or malformed."""
    if not isinstance(text, str) or not text.strip():
        return None
    wanted, excluded = set(), set()
    for item in text.replace(" ", "").split(","):
        target = wanted
        if item.startswith("^"):
            target, item = excluded, item[1:]
        first, sep, last = item.partition("-")
        if not first.isdigit() or (sep and not last.isdigit()):
            return None
        low, high = int(first), int(last) if sep else int(first)
        if high < low or high - low > _LIST_LIMIT:
            return None
        target.update(range(low, high + 1))
    return wanted - excluded


def format_cpulist(numbers):
    """'0-3,8' for {0, 1, 2, 3, 8}; '' for none."""
    parts = []
    start = previous = None
    for number in sorted(numbers):
        if previous is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else "%d-%d" % (start, previous))
        start = previous = number
    if start is not None:
        parts.append(str(start) if start == previous else "%d-%d" % (start, previous))
    return ",".join(parts)
