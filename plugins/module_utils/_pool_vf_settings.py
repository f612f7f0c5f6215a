# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VF admin settings of a hostdev pool network (``vf_settings`` of libvirt_vf_pool_network).

libvirt hands any free VF of the pool to a starting guest, so the settings apply to every VF of
the pool: all VFs of ``pf``, or the VFs of ``vf_range``. Only the settings libvirt leaves alone:
``trust``, ``spoofchk``, ``max_tx_rate``, ``min_tx_rate`` and ``link_state``. libvirt sets the
MAC and the VLAN of a pool VF itself when it hands it out (the network's ``vlan``, the guest's
MAC), so those are refused.

The steps reuse ``_vf_settings``: ``normalize_settings`` (types and ranges), ``plan_changes``
(current values from one ``ip -j -d link``), ``apply_changes`` with rollback, ``verify_applied``
and ``validate_rule_text``.

Persistence: one udev rule file per network,
``/etc/udev/rules.d/84-virt-sriov-pool-<network>.rules``, with the line format and trigger of the
per-PF settings file of ``sriov_vf_settings`` (``83-virt-sriov-vf-settings-<PF>.rules``), which
belongs to that module and is rewritten whole by it. The file sorts after the VF count rule
(82) and the per-PF settings file (83); ``RUN`` programs run after every rule of the PF's ``add``
event, when the VFs exist. A VF and setting has one owner: a setting of the pool that the PF's 83
file (or another pool's file) also sets is refused before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import BIN_DIRS, find_binary
from ansible_collections.virt.sriov.plugins.module_utils._iplink import read_vf_settings
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import PCI_DEVICES, vf_addresses
from ansible_collections.virt.sriov.plugins.module_utils._udev import DEFAULT_DIR, udevadm_verify
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import (
    APPLY_ORDER,
    POOL_FILE_PREFIX,
    apply_changes,
    changes_by_vf,
    current_values,
    final_values,
    normalize_settings,
    plan_changes,
    pool_rule_settings,
    rollback,
    rule_path as pf_rule_path,
    rule_setting_pairs,
    setting_args,
    validate_rule_text,
    verify_applied,
)

POOL_SETTINGS = ("trust", "spoofchk", "max_tx_rate", "min_tx_rate", "link_state")
MARKER = "# Managed by Ansible (virt.sriov.libvirt_vf_pool_network). Changes to this file are overwritten."

# A network name is already limited to this by _libvirt_network.validate_name; checked again
# here because it becomes part of a file name.
_FILE_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")


def normalize_pool_settings(raw, network):
    """Typed ``vf_settings`` of a network, or None when there are none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SriovError("Invalid vf_settings %r of network %s: expected a dictionary of VF settings "
                         "(%s)." % (raw, network, ", ".join(POOL_SETTINGS)))
    given = [k for k, v in raw.items() if v is not None]
    owned = sorted(k for k in given if k in ("mac", "vlan", "qos", "vlan_proto"))
    if owned:
        raise SriovError(
            "vf_settings of network %s cannot set %s: libvirt sets the MAC and the VLAN of a pool VF "
            "itself when it hands the VF to a guest. Use the network's vlan option for a VLAN, and "
            "the guest interface's MAC (virt.sriov.libvirt_hostdev_interface mac) for the MAC. Valid "
            "vf_settings are %s." % (network, ", ".join(owned), ", ".join(POOL_SETTINGS)),
            network=network, settings=owned)
    if "driver" in given:
        raise SriovError(
            "vf_settings of network %s cannot set driver: libvirt moves pool VFs to vfio-pci itself "
            "(managed). Valid vf_settings are %s." % (network, ", ".join(POOL_SETTINGS)), network=network)
    unknown = sorted(k for k in given if k not in POOL_SETTINGS)
    if unknown:
        raise SriovError("Unknown VF setting %s in vf_settings of network %s: valid settings are %s."
                         % (", ".join(unknown), network, ", ".join(POOL_SETTINGS)), network=network)
    settings = normalize_settings(dict((k, raw[k]) for k in given), "vf_settings of network %s" % network)
    return settings or None


def pool_rule_path(network):
    """/etc/udev/rules.d/84-virt-sriov-pool-<network>.rules"""
    if not isinstance(network, str) or not _FILE_NAME_RE.match(network):
        raise SriovError("Invalid network name %r for the VF settings rule file: expected 1-64 "
                         "characters from letters, digits, '_', '.', '+' and '-', not starting "
                         "with '.', '+' or '-'." % (network,))
    return "%s/%s%s.rules" % (DEFAULT_DIR, POOL_FILE_PREFIX, network)


def render_pool_rule(network, address, desired, ip_path):
    """The rule file text that re-applies ``desired`` ({VF index: settings}) on PF ``address``."""
    address = parse_pci_address(address)
    lines = [
        MARKER,
        "# Re-applies the VF settings of pool network %s (VFs %s of PF %s) each time the PF's "
        "interface appears (boot, driver reload, PF reset)." % (
            network, _indexes_text(sorted(desired)), address),
        "# Sorts after the VF count rule (82-*) and the PF's own settings file (%s); RUN programs "
        "run after every rule of the event." % os.path.basename(pf_rule_path(address)),
    ]
    for index in sorted(desired):
        for group in APPLY_ORDER:
            if group not in desired[index]:
                continue
            argv = [ip_path, "link", "set", "dev", "$name", "vf", str(int(index))] + \
                setting_args(group, desired[index])
            lines.append('ACTION=="add", SUBSYSTEM=="net", KERNELS=="%s", ATTR{device/sriov_numvfs}=="?*", '
                         'RUN+="%s"' % (address, " ".join(argv)))
    text = "\n".join(lines) + "\n"
    validate_rule_text(text, address)
    return text


def _indexes_text(indexes):
    if not indexes:
        return "none"
    if indexes == list(range(indexes[0], indexes[-1] + 1)) and len(indexes) > 1:
        return "%d-%d" % (indexes[0], indexes[-1])
    return ", ".join(str(i) for i in indexes)


def _pool_indexes(host, pool):
    """VF index -> PCI address (or None when the VF does not exist yet, check mode) of the pool."""
    existing = vf_addresses(host, pool["pf_address"])
    if pool.get("range_of"):
        first, last = [int(x) for x in pool["vf_range"].split("-")]
        indexes = range(first, last + 1)
    else:
        indexes = range(len(pool["current_vfs"]))
    return dict((index, existing.get(index)) for index in indexes)


def _check_overlap(host, name, address, desired, own_path):
    """Refuse a VF setting that the PF's 83 file or another pool's file also sets."""
    wanted = set((index, setting) for index, settings in desired.items() for setting in settings)
    clashes = []
    per_pf = pf_rule_path(address)
    for index, setting in rule_setting_pairs(host.read_text(per_pf), address):
        if (index, setting) in wanted:
            clashes.append("%s of VF %d (set by %s)" % (setting, index, per_pf))
    for path, index, setting in pool_rule_settings(host, address, exclude=own_path):
        if (index, setting) in wanted:
            clashes.append("%s of VF %d (set by %s)" % (setting, index, path))
    if clashes:
        raise SriovError(
            "vf_settings of network %s overlap VF settings of PF %s that another file already sets: "
            "%s. Two owners of one setting would undo each other at every boot: keep each setting of "
            "a VF in one place (the network's vf_settings, or sriov_vf_settings / sriov_vfs for "
            "the PF)." % (name, address, "; ".join(sorted(clashes))),
            network=name, overlaps=sorted(clashes))


def plan_pool_settings(host, spec, pool, reader=read_vf_settings):
    """Everything about a network's VF settings before anything changes (None: nothing to do).

    Returns a plan shaped like ``_vf_settings.plan_pf``'s (for apply_changes/verify_applied) plus
    ``rule_*`` keys for the network's rule file.
    """
    name = spec["name"]
    path = pool_rule_path(name)
    rule_before = host.read_text(path)
    settings = spec.get("vf_settings") if spec["state"] != "absent" else None
    if settings is None:
        if rule_before is None:
            return None
        return {"network": name, "label": None, "netdev": None, "driver": None, "desired": {},
                "current": {}, "changes": [], "vf_addresses": {}, "rule_path": path,
                "rule_before": rule_before, "rule_after": None, "rule_changed": True}
    netdev = pool.get("pf") or pool.get("range_of")
    if netdev is None:
        raise SriovError("vf_settings of network %s need the pool given by pf (and vf_range): the "
                         "settings are applied through the PF, by VF index." % name, network=name)
    ip_path = find_binary(host, ["ip"])
    if ip_path is None:
        raise SriovError("The ip command (iproute2) is needed to set the vf_settings of network %s; it "
                         "is not in %s." % (name, ", ".join(BIN_DIRS)))
    address = pool["pf_address"]
    addresses = _pool_indexes(host, pool)
    desired = dict((index, dict(settings)) for index in addresses)
    _check_overlap(host, name, address, desired, path)
    current = reader(host, netdev)
    rule_after = render_pool_rule(name, address, desired, ip_path) if desired else None
    return {
        "network": name,
        "label": "%s (%s)" % (netdev, address),
        "address": address,
        "netdev": netdev,
        "driver": host.link_name(PCI_DEVICES, str(address), "driver"),
        "desired": desired,
        "current": current,
        "changes": plan_changes(desired, current),
        "vf_addresses": addresses,
        "ip_path": ip_path,
        "rule_path": path,
        "rule_before": rule_before,
        "rule_after": rule_after,
        "rule_changed": rule_before != rule_after,
    }


def apply_pool_settings(host, plans, reader=read_vf_settings):
    """Apply the changes of every plan (rolled back together on failure); returns the journal."""
    plans = [p for p in plans if p is not None and p["changes"]]
    if not plans:
        return []
    ip_path = plans[0]["ip_path"]
    journal = apply_changes(host, plans, ip_path)
    verify_applied(host, plans, ip_path, journal, reader=reader)
    return journal


def undo_pool_settings(host, plans, journal):
    """Set back what apply_pool_settings changed; returns a sentence for an error message."""
    if not journal:
        return ""
    ip_path = [p for p in plans if p is not None and p.get("ip_path")][0]["ip_path"]
    undone, not_undone = rollback(host, journal, ip_path)
    text = " VF settings set back: %s." % (", ".join(undone) or "none")
    if not_undone:
        text += " Could NOT set back: %s." % ", ".join(not_undone)
    return text


def write_pool_rules(host, plans):
    """Write or remove the changed rule files; True when udev must reload its rules."""
    changed = False
    for plan in plans:
        if plan is None or not plan["rule_changed"]:
            continue
        if plan["rule_after"] is None:
            host.remove(plan["rule_path"])
        else:
            host.write_atomic(plan["rule_path"], plan["rule_after"], mode=0o644)
        changed = True
    return changed


def verify_rule_text(host, plan):
    """``udevadm verify`` the new text where systemd has it (>= 254); True when it ran."""
    if plan is None or not plan["rule_changed"] or plan["rule_after"] is None:
        return False
    return udevadm_verify(host, plan["rule_after"])


def report_pool_settings(plan, check_mode):
    """The ``vf_settings`` part of a network's result, and its diff entries {key: (before, after)}."""
    if plan is None:
        return None, {}
    final = final_values(plan, check_mode)
    vfs = []
    for index in sorted(plan["desired"]):
        values = current_values(final.get(index))
        entry = {"vf": index, "pci_address": str(plan["vf_addresses"][index])
                 if plan["vf_addresses"].get(index) is not None else None}
        entry.update((name, values.get(name)) for name in POOL_SETTINGS)
        vfs.append(entry)
    diff = dict((key, (before, after)) for key, before, after in changes_by_vf(plan))
    report = {
        "pf": plan["netdev"],
        "changed": bool(plan["changes"]) or plan["rule_changed"],
        "changes": list(plan["changes"]),
        "vfs": vfs,
        "rule_path": plan["rule_path"],
        "rule_changed": plan["rule_changed"],
        "rule": plan["rule_after"],
    }
    return report, diff
