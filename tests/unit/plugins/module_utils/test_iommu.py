# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _iommu

CONTRACT_KEYS = {
    "cpu_vendor", "cpu_vendor_id", "virtualization_flag", "firmware_table", "iommu_units",
    "iommu_groups", "interrupt_remapping", "cmdline_args", "enabled", "reason", "remediation",
    "remediation_kind", "required_kernel_args", "iommu_kind",
}

DEBIAN_CMDLINE = "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=UUID=0b6c7f3e ro quiet console=ttyS0"


def host_with(fake, vendor="intel", table="auto", units=None, groups=True, cmdline="", ir=None):
    """A fake host: CPU vendor, ACPI table, IOMMU units, groups (an igb PF and a plain NIC)."""
    vendor_id, flags = {
        "intel": ("GenuineIntel", ("vmx", "sse4_2")),
        "amd": ("AuthenticAMD", ("svm", "sse4_2")),
        "hygon": ("HygonGenuine", ("svm",)),
        "arm": (None, ()),
    }[vendor]
    if vendor_id:
        fake.set_cpu(vendor_id, flags)
    else:
        fake.write("proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n\n")
    if table == "auto":
        table = {"intel": "DMAR", "amd": "IVRS", "hygon": "IVRS"}.get(vendor)
    if table:
        fake.set_firmware_table(table)
    for unit in units or ():
        fake.add_iommu_unit(unit)
    if groups:
        fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7)
    else:
        fake.add_device("0000:01:00.0", "0x8086", "0x10c9", driver="igb", netdevs=["enp1s0"], iommu=False)
    fake.set_cmdline((DEBIAN_CMDLINE + " " + cmdline).strip())
    if ir is not None:
        fake.set_interrupts(remapped=ir)
    return fake.host()


def test_intel_enabled(fake):
    host = host_with(fake, "intel", units=["dmar0"], cmdline="intel_iommu=on iommu=pt", ir=True)
    facts = _iommu.gather_iommu_facts(host)
    assert CONTRACT_KEYS <= set(facts)
    assert facts["enabled"] is True
    assert (facts["cpu_vendor"], facts["cpu_vendor_id"], facts["virtualization_flag"]) == (
        "intel", "GenuineIntel", "vmx")
    assert facts["firmware_table"] == "DMAR"
    assert facts["iommu_units"] == ["dmar0"]
    assert facts["iommu_groups"] == 1
    assert facts["interrupt_remapping"] is True
    assert facts["cmdline_args"] == {"intel_iommu": "on", "iommu": "pt"}
    assert facts["required_kernel_args"] == ["intel_iommu=on"]
    assert facts["reason"] is None and facts["remediation"] is None and facts["remediation_kind"] is None


def test_intel_table_without_kernel_argument(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", groups=False, ir=False))
    assert facts["enabled"] is False
    assert facts["iommu_groups"] == 0
    assert facts["interrupt_remapping"] is False
    assert facts["remediation_kind"] == "kernel_args"
    assert "DMAR table" in facts["reason"] and "intel_iommu=on is not on the command line" in facts["reason"]
    assert facts["remediation"].startswith("Add the kernel argument intel_iommu=on")
    assert "grubby --update-kernel=ALL --args='intel_iommu=on iommu=pt'" in facts["remediation"]


def test_intel_no_table_is_a_firmware_setting(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", table=None, groups=False))
    assert facts["enabled"] is False
    assert facts["firmware_table"] is None
    assert facts["remediation_kind"] == "firmware"
    assert "no ACPI DMAR table" in facts["reason"]
    assert facts["remediation"].startswith("Enable Intel VT-d")
    assert "then add the kernel argument intel_iommu=on" in facts["remediation"]


def test_intel_no_table_with_argument_only_needs_firmware(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", table=None, groups=False,
                                                cmdline="intel_iommu=on iommu=pt"))
    assert facts["remediation_kind"] == "firmware"
    assert "kernel argument" not in facts["remediation"]


@pytest.mark.parametrize("vendor, cmdline, blocking", [
    ("intel", "intel_iommu=off", ["intel_iommu=off"]),
    ("intel", "intel_iommu=on iommu=off", ["iommu=off"]),
    ("amd", "amd_iommu=off", ["amd_iommu=off"]),
])
def test_argument_that_disables(fake, vendor, cmdline, blocking):
    facts = _iommu.gather_iommu_facts(host_with(fake, vendor, groups=False, cmdline=cmdline))
    assert facts["enabled"] is False
    assert facts["blocking_kernel_args"] == blocking
    assert facts["remediation_kind"] == "kernel_args"
    assert facts["remediation"].startswith("Remove the kernel argument(s) %s" % " ".join(blocking))
    assert "grubby --update-kernel=ALL --remove-args='%s'" % " ".join(blocking) in facts["remediation"]


def test_intel_argument_set_but_nothing_created(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", groups=False, cmdline="intel_iommu=on"))
    assert facts["enabled"] is False
    assert facts["remediation_kind"] is None
    assert "journalctl -k" in facts["remediation"]


def test_amd_enabled_without_arguments(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "amd", units=["ivhd0"], ir=True))
    assert facts["enabled"] is True
    assert (facts["cpu_vendor"], facts["virtualization_flag"], facts["firmware_table"]) == ("amd", "svm", "IVRS")
    assert facts["required_kernel_args"] == []
    assert facts["cmdline_args"] == {}


def test_amd_no_table_names_amd_vi(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "amd", table=None, groups=False))
    assert facts["remediation_kind"] == "firmware"
    assert "AMD-Vi" in facts["reason"] and "IVRS" in facts["reason"]
    assert "AMD-Vi" in facts["remediation"]
    assert "kernel argument" not in facts["remediation"]  # AMD-Vi needs none


def test_hygon_is_amd(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "hygon", units=["ivhd0"]))
    assert (facts["cpu_vendor"], facts["enabled"]) == ("amd", True)


def test_unknown_vendor_without_table(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "arm", groups=False))
    assert (facts["cpu_vendor"], facts["cpu_vendor_id"], facts["virtualization_flag"]) == ("unknown", None, None)
    assert facts["enabled"] is False
    assert facts["remediation_kind"] == "firmware"
    assert facts["required_kernel_args"] == []


def test_unknown_vendor_follows_the_table(fake):
    fake.set_cpu("SomeVendorID", ("vmx",))
    fake.set_firmware_table("DMAR")
    facts = _iommu.gather_iommu_facts(fake.host())
    assert facts["cpu_vendor"] == "unknown"
    assert facts["required_kernel_args"] == ["intel_iommu=on"]
    assert facts["remediation_kind"] == "kernel_args"


def test_amd_cpu_with_intel_iommu_follows_the_dmar_table(fake):
    """A nested hypervisor on an AMD host with QEMU's intel-iommu: the DMAR table decides."""
    facts = _iommu.gather_iommu_facts(host_with(fake, "amd", table="DMAR", groups=False,
                                                cmdline="intel_iommu=off"))
    assert (facts["cpu_vendor"], facts["iommu_kind"], facts["firmware_table"]) == ("amd", "intel", "DMAR")
    assert facts["enabled"] is False
    assert facts["blocking_kernel_args"] == ["intel_iommu=off"]
    assert facts["remediation_kind"] == "kernel_args"
    assert facts["required_kernel_args"] == ["intel_iommu=on"]
    assert facts["reason"].startswith("Intel VT-d is disabled on the kernel command line by intel_iommu=off")
    assert "AMD-Vi" not in facts["reason"] + facts["remediation"]


def test_intel_cpu_with_ivrs_table_is_amd_vi(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", table="IVRS", groups=False,
                                                cmdline="amd_iommu=off"))
    assert (facts["iommu_kind"], facts["firmware_table"]) == ("amd", "IVRS")
    assert facts["blocking_kernel_args"] == ["amd_iommu=off"]
    assert facts["required_kernel_args"] == []


@pytest.mark.parametrize("vendor, kind", [("intel", "intel"), ("amd", "amd"), ("arm", "unknown")])
def test_without_a_table_the_cpu_vendor_decides(fake, vendor, kind):
    facts = _iommu.gather_iommu_facts(host_with(fake, vendor, table=None, groups=False))
    assert (facts["iommu_kind"], facts["firmware_table"], facts["remediation_kind"]) == (kind, None, "firmware")


def test_units_without_groups_is_not_enabled(fake):
    facts = _iommu.gather_iommu_facts(host_with(fake, "intel", units=["dmar0"], groups=False))
    assert facts["enabled"] is False
    assert "IOMMU units dmar0 but no IOMMU groups" in facts["reason"]


def test_bare_empty_host(fake):
    facts = _iommu.gather_iommu_facts(fake.host())
    assert facts["enabled"] is False
    assert facts["interrupt_remapping"] is None
    assert facts["cmdline_args"] == {}


@pytest.mark.parametrize("cmdline, expected", [
    ("ro quiet intel_iommu=on iommu=pt", {"intel_iommu": "on", "iommu": "pt"}),
    ("intel_iommu=on,sm_on iommu.passthrough=1 iommu.strict=0", {
        "intel_iommu": "on,sm_on", "iommu.passthrough": "1", "iommu.strict": "0"}),
    ("amd_iommu=off amd_iommu_intr=legacy ivrs_ioapic[32]=00:14.0", {
        "amd_iommu": "off", "amd_iommu_intr": "legacy"}),
    ("intremap=no_x2apic_optout vfio_iommu_type1.allow_unsafe_interrupts=1 pci=realloc", {
        "intremap": "no_x2apic_optout", "vfio_iommu_type1.allow_unsafe_interrupts": "1"}),
    ("intel_iommu=off intel_iommu=on", {"intel_iommu": "on"}),
    ("iommu", {"iommu": None}),
    ("", {}),
])
def test_parse_cmdline(cmdline, expected):
    assert _iommu.iommu_cmdline_args(cmdline) == expected


def test_parse_cpuinfo_first_processor_only():
    text = ("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm\n\n"
            "processor\t: 1\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx\n")
    assert _iommu.parse_cpuinfo(text) == ("AuthenticAMD", {"fpu", "svm"})


@pytest.mark.parametrize("text, expected", [
    ("  0:  1  IR-IO-APIC  2-edge  timer\n", True),
    (" 25:  0  IR-PCI-MSIX-0000:00:02.0  0-edge  virtio0\n", True),
    ("  0:  1  IO-APIC  2-edge  timer\n 25: 0 PCI-MSI 512000-edge ahci\n", False),
    ("", None),
    (None, None),
])
def test_interrupt_remapping(text, expected):
    assert _iommu.interrupt_remapping_from_interrupts(text) is expected
