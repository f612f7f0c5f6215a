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
