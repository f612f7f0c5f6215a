# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The PF/VF inventory: one shape for every module that returns PFs and VFs.

``describe_pf()`` combines sysfs (``_sysfs``), the VF admin settings the PF reports
(``_iplink``, one ``ip`` call per PF) and, when a ``VfUsage`` is given, who uses each VF
(``_vf_usage``, built once from one libvirt connection). ``gather_sriov_info()`` is the whole
of the ``sriov_info`` module: it adds per PF the persistence of its VF count (the collection's
rule of ``_udev`` and the other owners of ``_vf_count_owners``, the detection ``sriov_vfs``
uses), per VF user the guest's CPU and memory pinning, and per host the definitions that name
VFs that no longer exist. Cost: linear in the number of VFs; no command per VF.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils import _sysfs
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._iplink import empty_settings, read_vf_settings
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    TESTED_DRIVERS,
    TIMED_OUT,
    PciNames,
    list_sriov_pfs,
    read_numvfs_bounded,
    read_pf,
    read_vfs,
    resolve_pf,
)
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_args import DEFAULT_URI

LIBVIRT_MODES = ("auto", "yes", "no")

# Keys of a VF, in the order they are documented (docs/docsite/rst/architecture.rst).
VF_KEYS = ("index", "pci_address", "nodedev_name", "driver", "netdev", "iommu_group",
           "mac", "vlan", "qos", "vlan_protocol", "spoofchk", "trust", "link_state",
           "max_tx_rate", "min_tx_rate", "used_by", "networks")


def _vf_dict(sysfs_vf, settings, usage, stats=False, placement=False):
    vf = dict(sysfs_vf)
    vf.update(settings)
    if usage is None:
        vf["used_by"] = None
        vf["networks"] = None
    else:
        vf["used_by"] = usage.users_of(vf["pci_address"])
        if placement:
            vf["used_by"] = [dict(user, **usage.placement_of(user)) for user in vf["used_by"]]
        vf["networks"] = usage.networks_of(vf["pci_address"])
    result = dict((key, vf.get(key)) for key in VF_KEYS)
    if stats:
        result["stats"] = vf.get("stats")
    return result


def describe_pf(host, address, usage=None, names=None, vf_settings=True, warnings=None, numvfs=None,
                stats=False, rules=None, placement=False):
    """The PF dict of docs/docsite/rst/architecture.rst with ``vfs`` filled.

    ``usage``: a VfUsage (from collect_vf_usage) or None, which leaves ``used_by`` and
    ``networks`` null. ``names``: a shared PciNames (one is made otherwise). ``vf_settings``:
    run ``ip -j -d link show`` once on the PF's netdev for the VF admin settings; when the
    PF has no netdev or ``ip`` fails, those settings are null and, if ``warnings`` is a list,
    a sentence saying why is appended to it. ``numvfs``: {address: value} from
    read_numvfs_bounded; without it sriov_numvfs is read with the same bound here. ``stats``:
    the same ``ip`` call with ``-s``; each VF gets ``stats`` (null where the PF reports none).
    ``rules``: the collection's rule files (``_udev.read_collection_rules``, read once per host);
    with it the PF gets ``udev_rule`` and ``other_owners`` (see ``pf_persistence``).
    ``placement``: each ``used_by`` entry gets the guest's ``cpus`` and ``memory_nodes``.
    """
    if names is None:
        names = PciNames(host)
    if numvfs is None:
        numvfs = read_numvfs_bounded(host, [address])
    count = numvfs.get(str(address))
    if count is TIMED_OUT:
        if warnings is not None:
            warnings.append(
                "Reading sriov_numvfs of PF %s did not answer within %d s: a change of its VF count "
                "is stuck in the kernel (most likely a guest still holds one of its VFs through "
                "vfio-pci); its numvfs is reported as null." % (address, _sysfs.NUMVFS_READ_TIMEOUT))
        count = None
    elif count is None:
        count = 0
    pf = read_pf(host, address, numvfs=count)
    pf["vendor_name"], pf["device_name"] = names.lookup(pf["vendor_id"], pf["device_id"])
    sysfs_vfs = read_vfs(host, address)
    settings_by_index = {}
    if vf_settings and sysfs_vfs:
        if pf["netdev"] is None:
            if warnings is not None:
                warnings.append(
                    "PF %s has no network interface (driver %s): the VF settings it reports "
                    "(MAC, VLAN, spoof check, trust, link state) are unknown."
                    % (pf["pci_address"], pf["driver"] or "none bound"))
        else:
            try:
                settings_by_index = read_vf_settings(host, pf["netdev"], stats=stats)
            except SriovError as exc:
                if warnings is not None:
                    warnings.append(exc.msg)
    pf["vfs"] = [
        _vf_dict(vf, settings_by_index.get(vf["index"]) or empty_settings(), usage, stats=stats,
                 placement=placement)
        for vf in sysfs_vfs
    ]
    if rules is not None:
        pf.update(pf_persistence(host, pf, rules))
    return pf


def pf_persistence(host, pf, rules):
    """{udev_rule, other_owners} of a PF: the collection's rule that recreates its VFs at boot
    ({path, match, num_vfs, link_up, drivers_autoprobe} or None) and everything else that also
    sets its VF count (the sentences sriov_vfs and sriov_udev_rule warn with)."""
    # imported here: _udev imports _numvfs, which imports this module
    from ansible_collections.virt.sriov.plugins.module_utils._udev import default_rule_path, rule_of_pf
    from ansible_collections.virt.sriov.plugins.module_utils._vf_count_owners import find_other_owners

    rule = rule_of_pf(rules, pf)
    own_path = rule["path"] if rule else default_rule_path(pf["pci_address"])
    return {
        "udev_rule": None if rule is None else dict(
            (key, rule[key]) for key in ("path", "match", "num_vfs", "link_up", "drivers_autoprobe")),
        "other_owners": find_other_owners(host, pf, own_path),
    }


def describe_all(host, addresses, usage=None, vf_settings=True, warnings=None, stats=False,
                 rules=None, placement=False):
    """describe_pf() for each address, sharing one PCI name database reader."""
    names = PciNames(host)
    numvfs = read_numvfs_bounded(host, addresses)
    return [describe_pf(host, address, usage=usage, names=names, vf_settings=vf_settings,
                        warnings=warnings, numvfs=numvfs, stats=stats, rules=rules,
                        placement=placement)
            for address in addresses]


def load_vf_usage(host, uri, mode="auto", warnings=None):
    """Return a VfUsage from one libvirt connection, or None.

    ``mode``: ``no`` never connects; ``auto`` turns a missing libvirt-python or an unreachable
    URI into a sentence appended to ``warnings``; ``yes`` raises SriovError instead.
    """
    if mode not in LIBVIRT_MODES:
        raise SriovError("Invalid libvirt mode %r: expected one of %s." % (mode, ", ".join(LIBVIRT_MODES)))
    if mode == "no":
        return None
    # imported only here: a run with libvirt=no never loads the bindings
    from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
    from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

    consequence = "the used_by and networks fields of every VF are null."
    if not _libvirt.HAS_LIBVIRT:
        msg = ("The libvirt Python bindings (libvirt-python, package python3-libvirt) are not "
               "installed on the host: " + consequence)
        if mode == "yes":
            raise SriovError(msg)
        if warnings is not None:
            warnings.append(msg)
        return None
    failure = None
    try:
        with _libvirt.open_connection(uri, read_only=True) as conn:
            return collect_vf_usage(conn, host)
    except SriovError as exc:
        failure = exc.msg
    except _libvirt.libvirt.libvirtError as exc:
        failure = "Reading domains and networks from libvirt at URI %r failed: %s" % (
            uri, exc.get_error_message() or exc)
    if mode == "yes":
        raise SriovError(failure, uri=uri)
    if warnings is not None:
        warnings.append("%s: %s" % (failure.rstrip("."), consequence))
    return None


def select_pfs(host, pf=None, pci_address=None):
    """The PF addresses to report: the one named by ``pf`` or ``pci_address``, else all."""
    if pf is None and pci_address is None:
        return list_sriov_pfs(host)
    return [resolve_pf(host, pf=pf, pci_address=pci_address)]


def gather_sriov_info(host, pf=None, pci_address=None, uri=DEFAULT_URI, libvirt="auto", stats=False):
    """Everything ``sriov_info`` returns: {pfs, pfs_by_name, libvirt_connected, missing_vf_users,
    tested_drivers, warnings}. Fails (SriovError) only on bad selection input or with
    ``libvirt=yes``."""
    from ansible_collections.virt.sriov.plugins.module_utils._udev import read_collection_rules

    warnings = []
    addresses = select_pfs(host, pf=pf, pci_address=pci_address)
    usage = load_vf_usage(host, uri, mode=libvirt, warnings=warnings)
    pfs = describe_all(host, addresses, usage=usage, warnings=warnings, stats=stats,
                       rules=read_collection_rules(host), placement=True)
    missing = None
    if usage is not None:
        from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import missing_vf_users

        missing = missing_vf_users(usage, host, list_sriov_pfs(host))
    by_name = {}
    for item in pfs:
        for netdev in item["netdevs"]:
            by_name[netdev] = item
    return {
        "pfs": pfs,
        "pfs_by_name": by_name,
        "libvirt_connected": usage is not None,
        "missing_vf_users": missing,
        "tested_drivers": list(TESTED_DRIVERS),
        "warnings": warnings,
    }
