# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""IOMMU facts and the enabled / reason / remediation decision (read-only).

Semantics: the IOMMU is enabled when the kernel registered IOMMU units
(/sys/class/iommu) and made IOMMU groups (/sys/kernel/iommu_groups). The ACPI table tells
whether the firmware exposes one (DMAR for Intel VT-d, IVRS for AMD-Vi): no table = enable it
in the firmware; a table but no IOMMU = a kernel argument is missing (Intel needs
``intel_iommu=on`` unless the kernel enables it by default) or one disables it. AMD-Vi is on by
default and has no ``amd_iommu=on``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

CPUINFO = "/proc/cpuinfo"
CMDLINE = "/proc/cmdline"
INTERRUPTS = "/proc/interrupts"
IOMMU_CLASS = "/sys/class/iommu"
IOMMU_GROUPS = "/sys/kernel/iommu_groups"
ACPI_TABLES = "/sys/firmware/acpi/tables"

VENDORS = {
    "GenuineIntel": "intel",
    "AuthenticAMD": "amd",
    "HygonGenuine": "amd",  # Hygon Dhyana: AMD-Vi with an IVRS table
}
VIRT_FLAGS = ("vmx", "svm")

# What each vendor's IOMMU is called, where it lives, and what the kernel needs.
VENDOR_FACTS = {
    "intel": {
        "iommu": "Intel VT-d",
        "table": "DMAR",
        "firmware_setting": "Intel VT-d (often labelled 'Intel Virtualization Technology for Directed I/O')",
        "required_args": ["intel_iommu=on"],
    },
    "amd": {
        "iommu": "AMD-Vi",
        "table": "IVRS",
        "firmware_setting": "AMD IOMMU / AMD-Vi (often labelled 'IOMMU' or 'AMD-Vi', next to SVM)",
        "required_args": [],
    },
}

# Kernel command line arguments that concern the IOMMU.
_CMDLINE_ARG_RE = re.compile(
    r"^(intel_iommu|amd_iommu(?:_\w+)?|iommu(?:\.\w+)?|intremap|ivrs_\w+|"
    r"vfio_iommu_type1\.\w+)$"
)
_OFF_VALUES = ("off", "0", "n", "no")


def kernel_args_howto(add, remove=()):
    """How to add (and remove) kernel arguments on the common boot loader set-ups."""
    add = " ".join(add)
    remove = " ".join(remove)
    grubby = "grubby --update-kernel=ALL"
    ostree = "rpm-ostree kargs"
    if remove:
        grubby += " --remove-args='%s'" % remove
        ostree += "".join(" --delete=%s" % arg for arg in remove.split())
    if add:
        grubby += " --args='%s'" % add
        ostree += "".join(" --append=%s" % arg for arg in add.split())
    parts = []
    if remove:
        parts.append("%s removed from /etc/default/grub and /etc/default/grub.d/*.cfg" % remove)
    if add:
        parts.append("a drop-in in /etc/default/grub.d/ with GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX %s\"" % add)
    debian = " and ".join(parts)
    return ("RHEL/Fedora: %s; Debian/Ubuntu: %s, then update-grub; ostree hosts: %s; or the "
            "virt.sriov.iommu role with iommu_mode=enable" % (grubby, debian, ostree))


def parse_cpuinfo(text):
    """(vendor_id or None, set of flags) of the first processor in /proc/cpuinfo."""
    vendor_id = None
    flags = set()
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            if vendor_id is not None or flags:
                break  # end of the first processor block
            continue
        key = key.strip()
        if key == "vendor_id" and vendor_id is None:
            vendor_id = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return vendor_id, flags


def iommu_cmdline_args(text):
    """IOMMU-related arguments of a kernel command line: {name: value}; value None for a bare
    flag. The last occurrence wins, as for the kernel's own parsers."""
    found = {}
    for token in (text or "").split():
        name, sep, value = token.partition("=")
        if _CMDLINE_ARG_RE.match(name):
            found[name] = value if sep else None
    return found


def interrupt_remapping_from_interrupts(text):
    """True when /proc/interrupts shows remapped interrupt chips (IR-IO-APIC, IR-PCI-MSI...),
    False when it shows interrupts but none remapped, None when it cannot be told."""
    if not text:
        return None
    if re.search(r"\bIR-[A-Z]", text):
        return True
    if re.search(r"\b(IO-APIC|PCI-MSI)", text):
        return False
    return None


def _disabling_args(cmdline_args, vendor):
    """The arguments on the command line that switch the IOMMU off for this vendor."""
    names = ["iommu"]
    if vendor in ("intel", "unknown"):
        names.append("intel_iommu")
    if vendor in ("amd", "unknown"):
        names.append("amd_iommu")
    result = []
    for name in names:
        value = cmdline_args.get(name)
        if value is None:
            continue
        if any(part in _OFF_VALUES for part in value.split(",")):
            result.append("%s=%s" % (name, value))
    return result


def iommu_kind(vendor, tables):
    """Which IOMMU the platform has: the firmware table decides (DMAR -> ``intel``, IVRS ->
    ``amd``); the CPU vendor only when there is no table (or, unusually, both). A nested
    hypervisor on an AMD CPU with QEMU's intel-iommu has a DMAR table: Intel VT-d."""
    kinds = [kind for kind, facts in sorted(VENDOR_FACTS.items()) if facts["table"] in tables]
    if len(kinds) == 1:
        return kinds[0]
    return vendor if vendor in VENDOR_FACTS else "unknown"


def _vendor_facts(kind):
    """VENDOR_FACTS of the IOMMU kind, or None when it is unknown."""
    return VENDOR_FACTS.get(kind)


def _decide(facts):
    """Fill enabled / reason / remediation / remediation_kind / blocking_kernel_args."""
    vendor = facts["iommu_kind"]
    args = facts["cmdline_args"]
    units = facts["iommu_units"]
    groups = facts["iommu_groups"]
    table = facts["firmware_table"]
    blocking = _disabling_args(args, vendor)
    facts["blocking_kernel_args"] = blocking
    facts["enabled"] = bool(units) and groups > 0
    if facts["enabled"]:
        facts["reason"] = facts["remediation"] = facts["remediation_kind"] = None
        return facts

    known = _vendor_facts(vendor)
    seen = "no IOMMU unit under %s and %d IOMMU groups" % (IOMMU_CLASS, groups)
    if units:
        seen = "IOMMU units %s but no IOMMU groups" % ", ".join(units)

    if known is None:
        facts["reason"] = (
            "The CPU vendor %r is not one this module knows and the firmware exposes no DMAR or "
            "IVRS table (%s)." % (facts["cpu_vendor_id"], seen))
        facts["remediation"] = (
            "Enable the platform IOMMU in the system firmware (BIOS/UEFI) setup and reboot; "
            "then check the kernel documentation of this platform for the IOMMU kernel arguments.")
        facts["remediation_kind"] = "firmware"
        return facts

    name = known["iommu"]
    required = [arg for arg in known["required_args"] if not _has_arg(args, arg)]
    if blocking:
        wanted = " ".join(known["required_args"])
        facts["reason"] = (
            "%s is disabled on the kernel command line by %s (%s)." % (name, " ".join(blocking), seen))
        facts["remediation"] = (
            "Remove the kernel argument(s) %s%s and reboot (%s)."
            % (" ".join(blocking), (" and add " + wanted) if wanted else "",
               kernel_args_howto(known["required_args"], blocking)))
        facts["remediation_kind"] = "kernel_args"
        return facts

    if table is None:
        facts["reason"] = (
            "The firmware exposes no ACPI %s table, so %s is disabled in the firmware (or the "
            "platform has none); %s." % (known["table"], name, seen))
        then = ""
        if required:
            then = "; then add the kernel argument %s (%s) and reboot again" % (
                " ".join(required), kernel_args_howto(required))
        facts["remediation"] = (
            "Enable %s in the system firmware (BIOS/UEFI) setup and reboot%s."
            % (known["firmware_setting"], then))
        facts["remediation_kind"] = "firmware"
        return facts

    if required:
        facts["reason"] = (
            "The firmware exposes the %s table but the kernel did not enable %s: the kernel "
            "argument %s is not on the command line (%s)." % (table, name, " ".join(required), seen))
        facts["remediation"] = (
            "Add the kernel argument %s (optionally also iommu=pt) and reboot (%s)."
            % (" ".join(required), kernel_args_howto(required + ["iommu=pt"])))
        facts["remediation_kind"] = "kernel_args"
        return facts

    facts["reason"] = (
        "The firmware exposes the %s table and nothing on the kernel command line disables %s, "
        "yet the kernel enabled no IOMMU (%s): the kernel may lack IOMMU support or have "
        "rejected the table." % (table, name, seen))
    facts["remediation"] = (
        "Read the kernel log (journalctl -k | grep -i -e DMAR -e AMD-Vi -e IOMMU) for the cause; "
        "update the firmware or use a kernel built with %s support." % name)
    facts["remediation_kind"] = None
    return facts


def _has_arg(cmdline_args, arg):
    name, _sep, value = arg.partition("=")
    present = cmdline_args.get(name)
    return present is not None and value in present.split(",")


def gather_iommu_facts(host):
    """Every key ``iommu_info`` returns (its RETURN documentation lists them)."""
    vendor_id, flags = parse_cpuinfo(host.read(CPUINFO))
    vendor = VENDORS.get(vendor_id, "unknown")
    tables = [name for name in ("DMAR", "IVRS") if host.exists(ACPI_TABLES, name)]
    kind = iommu_kind(vendor, tables)
    preferred = (VENDOR_FACTS.get(kind) or {}).get("table")
    table = preferred if preferred in tables else (tables[0] if tables else None)
    cmdline = host.read(CMDLINE, default="")
    facts = {
        "cpu_vendor": vendor,
        "cpu_vendor_id": vendor_id,
        "iommu_kind": kind,
        "virtualization_flag": next((flag for flag in VIRT_FLAGS if flag in flags), None),
        "firmware_table": table,
        "iommu_units": host.listdir(IOMMU_CLASS),
        "iommu_groups": len([g for g in host.listdir(IOMMU_GROUPS) if g.isdigit()]),
        "interrupt_remapping": interrupt_remapping_from_interrupts(host.read(INTERRUPTS)),
        "cmdline": cmdline,
        "cmdline_args": iommu_cmdline_args(cmdline),
    }
    facts["required_kernel_args"] = list((_vendor_facts(kind) or {}).get("required_args", []))
    return _decide(facts)
