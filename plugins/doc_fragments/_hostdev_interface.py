# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Suboptions of libvirt_hostdev_interface written once, as the argument spec defines them
    # once (INTERFACE_OPTIONS, VIRTUALPORT_OPTIONS): the items of O(interfaces) and of the
    # C(interfaces) of each O(domains) entry (anchor &interface), and the port profile of the
    # single form and of every item (anchor &virtualport). The module's DOCUMENTATION describes
    # the options themselves.
    DOCUMENTATION = r"""
options:
  virtualport:
    suboptions: &virtualport
      type:
        description: Virtual port type.
        type: str
        choices: [802.1Qbh]
        default: 802.1Qbh
      profileid:
        description: Name of the port profile on the switch (1-39 printable characters).
        type: str
        required: true
  interfaces:
    suboptions: &interface
      pci_address:
        description: PCI address of the VF, as O(pci_address).
        type: raw
      pf:
        description: The PF whose VF to attach, as O(pf); with C(vf).
        type: str
      vf:
        description: Index of the VF on C(pf).
        type: int
      network:
        description: Name of a hostdev pool network, as O(network).
        type: str
      network_index:
        description: Which of the domain's interfaces on C(network) this is, as O(network_index).
        type: int
        default: 0
      mac:
        description: Unicast MAC address, as O(mac).
        type: str
      vlan:
        description: One VLAN tag (0-4095), as O(vlan).
        type: int
      virtualport:
        description: An 802.1Qbh port profile, as O(virtualport).
        type: dict
        suboptions: *virtualport
      state:
        description: V(present) or V(absent), as O(state).
        type: str
        choices: [present, absent]
        default: present
      scope:
        description: V(auto), V(live) or V(config), as O(scope) (always V(config) with O(restart_if_needed=true)).
        type: str
        choices: [auto, live, config]
        default: auto
  domains:
    suboptions:
      domain:
        description: Name or UUID of the libvirt domain.
        type: str
        required: true
      interfaces:
        description: The interfaces of this domain, as O(interfaces).
        type: list
        elements: dict
        required: true
        suboptions: *interface
"""
