# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The two ways to select one PF, shared by sriov_vfs and sriov_udev_rule.
    DOCUMENTATION = r"""
options:
  pf:
    description:
      - Network interface name of the PF, for example V(enp1s0).
      - Mutually exclusive with O(pci_address); one of them selects the PF.
    type: str
  pci_address:
    description:
      - PCI address of the PF, as V(0000:01:00.0), V(01:00.0) or V(pci_0000_01_00_0).
      - Mutually exclusive with O(pf); one of them selects the PF.
    type: str
"""
