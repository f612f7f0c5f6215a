# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Synthetic fleets for the report filters, made from one recorded lab result.

fixtures/lab_facts.json holds what iommu_info and sriov_info (``stats: true``) returned on the
lab after playbooks/sriov_passthrough.yml with guestVM running: enp1s0 with 4 VFs in pool network
``passthrough``, enp2s0 with 7 VFs, VF 1 given to guestVM (MAC 52:54:00:6d:90:02, VLAN 42), both
VF counts persisted by the collection's udev rules (4 and 7, with the link-up line), no other
owner, no NUMA node, no missing VF. tests/e2e/test_report_page.py records it again
(tests/output/report/lab_facts.json; ``pfs_by_name`` is left out here, the report does not read it).
``fleet(n)`` copies it n times with distinct host and guest names and MACs; every 10th host
(from the 4th) has its IOMMU off and every 25th (from the 8th) did not answer. Used by the unit
tests and by bench/ (item report).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "lab_facts.json")
IOMMU_OFF_REASON = ("The firmware exposes the DMAR table but the kernel did not enable Intel VT-d: "
                    "the kernel argument intel_iommu=on is not on the command line.")
IOMMU_OFF_REMEDIATION = "Add the kernel argument intel_iommu=on (optionally also iommu=pt) and reboot."
UNREACHABLE = "Failed to connect to the host via ssh: Connection timed out"


def recorded():
    with open(FIXTURE) as handle:
        return json.load(handle)


def host_name(i):
    return "hv%03d.example.com" % i


def guest_mac(i):
    return "52:54:00:%02x:%02x:02" % (i // 256, i % 256)


def fleet(n, base=None):
    """n host entries {name, iommu, sriov} for sriov_report_view."""
    base = base or recorded()
    hosts = []
    for i in range(n):
        name = host_name(i)
        if i % 25 == 7:
            failed = {"unreachable": True, "msg": UNREACHABLE, "changed": False}
            hosts.append({"name": name, "iommu": failed, "sriov": dict(failed)})
            continue
        iommu = copy.deepcopy(base["iommu"])
        sriov = copy.deepcopy(base["sriov"])
        if i % 10 == 3:
            iommu.update(enabled=False, iommu_units=[], iommu_groups=0,
                         reason=IOMMU_OFF_REASON, remediation=IOMMU_OFF_REMEDIATION)
        for pf in sriov["pfs"]:
            for vf in pf["vfs"]:
                for user in vf["used_by"] or []:
                    user["domain"] = "guest-%03d" % i
                if vf["mac"] == "52:54:00:6d:90:02":
                    vf["mac"] = guest_mac(i)
        hosts.append({"name": name, "iommu": iommu, "sriov": sriov})
    return hosts
