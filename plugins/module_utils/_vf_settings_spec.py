# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The argument spec of per-VF settings, shared by sriov_vf_settings (``vfs``, ``vf_defaults``)
and sriov_vfs (``pfs[].vfs``, ``pfs[].vf_defaults``): one definition, so both modules accept
exactly the same settings."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

VF_SETTING_SPEC = dict(
    mac=dict(type="str"),
    vlan=dict(type="int"),
    qos=dict(type="int"),
    vlan_proto=dict(type="str", choices=["802.1Q", "802.1ad"]),
    trust=dict(type="bool"),
    spoofchk=dict(type="bool"),
    max_tx_rate=dict(type="int"),
    min_tx_rate=dict(type="int"),
    link_state=dict(type="str", choices=["auto", "enable", "disable"]),
    driver=dict(type="str", choices=["vfio-pci", "host", "none"]),
)


def vfs_spec():
    """The spec of a ``vfs`` option: a list of VF entries (``vf`` index or range, settings)."""
    return dict(type="list", elements="dict", options=dict(vf=dict(type="raw", required=True), **VF_SETTING_SPEC))
