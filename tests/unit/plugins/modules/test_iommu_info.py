# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.modules import iommu_info

CMDLINE = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0b6c7f3e ro console=ttyS0,115200"


@pytest.mark.parametrize("vendor, table, unit, args, enabled, kind, needle", [
    ("GenuineIntel", "DMAR", "dmar0", " intel_iommu=on iommu=pt", True, None, None),
    ("GenuineIntel", "DMAR", None, "", False, "kernel_args", "Add the kernel argument intel_iommu=on"),
    ("GenuineIntel", None, None, "", False, "firmware", "Enable Intel VT-d"),
    ("AuthenticAMD", "IVRS", "ivhd0", "", True, None, None),
    ("AuthenticAMD", None, None, "", False, "firmware", "Enable AMD IOMMU / AMD-Vi"),
    ("AuthenticAMD", "IVRS", None, " amd_iommu=off", False, "kernel_args", "Remove the kernel argument(s) amd_iommu=off"),
])
def test_iommu_info(fake, run_module, vendor, table, unit, args, enabled, kind, needle):
    fake.set_cpu(vendor, ("vmx",) if vendor == "GenuineIntel" else ("svm",))
    fake.set_cmdline(CMDLINE + args)
    if table:
        fake.set_firmware_table(table)
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=2)
    if unit:
        fake.add_iommu_unit(unit)
        fake.set_interrupts(remapped=True)
    else:
        # IOMMU off: no groups at all
        import shutil
        shutil.rmtree(fake.p("sys/kernel/iommu_groups"))
        fake._mkdir("sys/kernel/iommu_groups")
        fake.set_interrupts(remapped=False)
    result = run_module(iommu_info, {}, check_mode=True)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["enabled"] is enabled
    assert result["remediation_kind"] == kind
    assert result["interrupt_remapping"] is enabled
    assert result["firmware_table"] == table
    if needle:
        assert result["remediation"].startswith(needle)
        assert result["reason"]
    else:
        assert result["reason"] is None and result["remediation"] is None
    assert run_module.calls == []


def test_iommu_info_rejects_options(fake, run_module):
    result = run_module(iommu_info, {"verbose": True})
    assert result["failed"] is True
    assert "verbose" in result["msg"]
