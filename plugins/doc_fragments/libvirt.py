# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Mirrors LIBVIRT_COMMON_ARGSPEC in plugins/module_utils/_libvirt_args.py.
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI of the hypervisor, as for C(virsh --connect).
      - The module runs on the hypervisor, so the default local system URI is usually right.
    type: str
    default: qemu:///system
requirements:
  - libvirt-python (Debian/Ubuntu package C(python3-libvirt), RHEL package C(python3-libvirt)) on the hypervisor
"""
