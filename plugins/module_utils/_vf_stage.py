# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The VF stage of a host in one execution: ``sriov_vfs`` with a list of PFs (``pfs``).

Discover once, plan every PF (count, ``sriov_drivers_autoprobe``, link, udev rule), check every
guard (libvirt scan complete, no VF in use, rule files ours and valid), then apply (counts, rule
files, one ``udevadm control --reload``, the systemd drop-ins that order libvirt's daemons after
udev) and read back once. Check mode stops after the guards and reports the same plan, with the
VF addresses the run would create.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._numvfs import (
    DEFAULT_TIMEOUT,
    apply_numvfs,
    check_removal_allowed,
    check_scan_complete,
    describe,
    network_actions,
    plan_numvfs,
    restart_around,
)
from ansible_collections.virt.sriov.plugins.module_utils._pf_select import (
    management_pfs,
    normalize_select,
    resolve_select,
    selector_label,
)
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import predict_vf_addresses, vf_addresses
from ansible_collections.virt.sriov.plugins.module_utils._systemd import (
    apply_boot_order,
    plan_boot_order,
)
from ansible_collections.virt.sriov.plugins.module_utils._udev import (
    apply_rule,
    guard_rule,
    plan_rule,
    reload_rules,
    rule_result,
)

ENTRY_DEFAULTS = {
    "pf": None,
    "pci_address": None,
    "num_vfs": None,
    "state": "present",
    "drivers_autoprobe": None,
    "link_up": True,
    "persist": True,
    "match": "pci_address",
    "select": None,
    "allow_management": False,
}


class PfStagePlan(object):
    """One PF of the list: its entry (``position`` in pfs; with ``select``, the entry chose this
    PF by hardware), the count plan (_numvfs.NumvfsPlan) and the rule plan."""

    def __init__(self, entry, numvfs, rule, position=None):
        self.entry = entry
        self.numvfs = numvfs
        self.rule = rule
        self.position = position
        # set by guard_stage
        self.busy = []
        self.restart = []
        self.verified = False

    @property
    def persisted(self):
        return self.rule.desired is not None

    @property
    def changed(self):
        return self.numvfs.changed or self.rule.changed


def normalize_entry(entry, position):
    """The entry with every key (defaults filled); unknown keys fail naming them."""
    if not isinstance(entry, dict):
        raise SriovError("Invalid pfs[%d] %r: expected a dict with pf or pci_address and num_vfs."
                         % (position, entry))
    unknown = sorted(set(entry) - set(ENTRY_DEFAULTS))
    if unknown:
        raise SriovError("Invalid pfs[%d]: unknown key(s) %s; valid keys: %s."
                         % (position, ", ".join(unknown), ", ".join(sorted(ENTRY_DEFAULTS))))
    result = dict(ENTRY_DEFAULTS)
    result.update((k, v) for k, v in entry.items() if v is not None)
    given = [key for key in ("pf", "pci_address", "select") if result[key] is not None]
    if len(given) != 1:
        raise SriovError("Invalid pfs[%d]: give exactly one of pf, pci_address or select%s."
                         % (position, " (got %s)" % " and ".join(given) if given else ""))
    if result["select"] is not None:
        result["select"] = normalize_select(result["select"], "pfs[%d].select" % position)
    return result


def entry_label(entry, position):
    """How messages name an entry: ``pfs[1] (pf enp2s0)``, ``pfs[0] (select device_id=10c9)``."""
    if entry["select"] is not None:
        return "pfs[%d] (select %s)" % (position, selector_label(entry["select"]))
    if entry["pf"] is not None:
        return "pfs[%d] (pf %s)" % (position, entry["pf"])
    return "pfs[%d] (pci_address %s)" % (position, entry["pci_address"])


def expand_entries(host, entries):
    """[(position, entry)] with one concrete entry (``pf`` or ``pci_address``) per PF: an entry
    with ``select`` becomes one entry per PF it chooses (by PCI address, ``select`` kept)."""
    expanded = []
    for position, raw in enumerate(entries):
        entry = normalize_entry(raw, position)
        if entry["select"] is None:
            expanded.append((position, entry))
            continue
        for address in resolve_select(host, entry["select"], "pfs[%d].select" % position):
            chosen = dict(entry)
            chosen["pci_address"] = str(address)
            expanded.append((position, chosen))
    return expanded


def plan_stage(host, entries, reader=None, recreate=False):
    """Validate every entry and plan every PF; nothing is written. Returns [PfStagePlan]."""
    plans = []
    seen = {}
    labels = {}
    for position, entry in expand_entries(host, entries):
        labels[position] = entry_label(entry, position)
        absent = entry["state"] == "absent"
        numvfs = plan_numvfs(
            host,
            pf=entry["pf"],
            pci_address=entry["pci_address"],
            num_vfs=None if absent else entry["num_vfs"],
            state=entry["state"],
            drivers_autoprobe=entry["drivers_autoprobe"],
            link_up=entry["link_up"],
            reader=reader,
            recreate=recreate,
        )
        key = str(numvfs.address)
        if key in seen:
            both = (labels[seen[key]], labels[position])
            raise SriovError("PF %s is listed twice in pfs, by %s and by %s: give each PF once%s."
                             % ((numvfs.label,) + both
                                + (" (narrow the selector)" if any("(select " in label for label in both) else "",)))
        seen[key] = position
        if entry["persist"] and numvfs.target > 0:
            rule = plan_rule(host, {"state": "present", "match": entry["match"], "link_up": entry["link_up"],
                                    "drivers_autoprobe": entry["drivers_autoprobe"]},
                             facts=numvfs.facts, num_vfs=numvfs.target)
        else:
            rule = plan_rule(host, {"state": "absent", "pci_address": key})
        plans.append(PfStagePlan(entry, numvfs, rule, position=position))
    return plans


def guard_management(host, plans, environ):
    """Refuse to change a PF that carries the Ansible connection or a default route, and to
    select one at all, unless its entry has ``allow_management``. Reads ``ip`` only when a plan
    needs the check; a read that fails refuses, naming the PFs and the reason."""
    checked = [plan for plan in plans if not plan.entry["allow_management"]
               and (plan.entry["select"] is not None or plan.changed)]
    if not checked:
        return
    try:
        found = management_pfs(host, environ)
    except SriovError as exc:
        raise SriovError("Refusing to change or select PF %s: %s. Set allow_management: true on the "
                         "entry to skip this check." % (", ".join(plan.numvfs.label for plan in checked),
                                                        exc.msg[:1].lower() + exc.msg[1:].rstrip(".")))
    refused = []
    refused_pfs = []
    for plan in checked:
        reasons = found.get(str(plan.numvfs.address))
        if not reasons:
            continue
        label = entry_label(plan.entry, plan.position)
        refused_pfs.append(str(plan.numvfs.address))
        if plan.entry["select"] is not None:
            refused.append("%s matches PF %s, which carries %s: selection never picks the management "
                           "NIC" % (label, plan.numvfs.label, " and ".join(reasons)))
        else:
            refused.append("%s would change PF %s, which carries %s"
                           % (label, plan.numvfs.label, " and ".join(reasons)))
    if refused:
        raise SriovError("Refusing to touch the management NIC: %s. Nothing was changed. Set "
                         "allow_management: true on the entry if this is intended." % "; ".join(refused),
                         management_pfs=refused_pfs)


def guard_stage(host, plans, usage, scan_error, force=False):
    """Every guard of every PF, before anything is written. Sets ``busy`` (VFs in use that
    ``force`` lets through), ``restart`` (idle networks to restart) and ``verified`` on each
    plan; returns the warnings."""
    warnings = []
    for plan in plans:
        pf_busy = []
        plan.restart = []
        if plan.numvfs.removes_vfs:
            warnings.extend(check_scan_complete(plan.numvfs, scan_error, force=force))
            pf_busy, plan.restart = check_removal_allowed(host, plan.numvfs, usage, force=force)
            if pf_busy:
                warnings.append("force=true: removing VFs of PF %s that are in use: %s" % (
                    plan.numvfs.label, ", ".join("VF %d (%s)" % (b["index"], b["pci_address"]) for b in pf_busy)))
        plan.busy = pf_busy
        if plan.numvfs.autoprobe_warning():
            warnings.append(plan.numvfs.autoprobe_warning())
        plan.verified = guard_rule(host, plan.rule)
        warnings.extend(plan.rule.warnings)
    return warnings


def restarted_networks(plans):
    """The idle hostdev networks of every PF, each once, in list order."""
    names = []
    for plan in plans:
        for name in plan.restart:
            if name not in names:
                names.append(name)
    return names


def apply_stage(host, plans, boot_changes, timeout=DEFAULT_TIMEOUT, writer=None, clock=time.monotonic,
                sleep=time.sleep, reader=None, network_control=None):
    """Counts first (each PF in list order, with the idle networks stopped around them), then
    rule files, one udev reload, the drop-ins. Returns (reloaded, warnings)."""
    warnings = []

    def counts():
        for plan in plans:
            if plan.numvfs.changed:
                warnings.extend(apply_numvfs(host, plan.numvfs, writer=writer, timeout=timeout, clock=clock,
                                             sleep=sleep, reader=reader))

    networks = restarted_networks(plans)
    if networks:
        restart_around(networks, network_control, counts)
    else:
        counts()
    rules_changed = False
    for plan in plans:
        if plan.rule.changed:
            apply_rule(host, plan.rule)
            rules_changed = True
    reloaded = False
    if rules_changed:
        reloaded, reload_warnings = reload_rules(host)
        warnings.extend(reload_warnings)
    warnings.extend(apply_boot_order(host, boot_changes))
    return reloaded, warnings


def _numvfs_diff(plan):
    before = {"numvfs": plan.before}
    after = {"numvfs": plan.target}
    if plan.autoprobe_after is not None:
        before["drivers_autoprobe"] = plan.autoprobe_before
        after["drivers_autoprobe"] = plan.autoprobe_after
    if plan.link_up_needed:
        before["link"] = "down"
        after["link"] = "up"
    if plan.recreates:
        before["vfs_recreated"] = False
        after["vfs_recreated"] = True
    header = "PF %s" % plan.label
    return {"before_header": header, "after_header": header, "before": before, "after": after}


def _file_diff(path, before, after):
    return {
        "before_header": path if before is not None else "%s (absent)" % path,
        "after_header": path if after is not None else "%s (absent)" % path,
        "before": before if before is not None else "",
        "after": after if after is not None else "",
    }


def stage_diff(plans, boot_changes):
    """--diff: per PF its count (when it changes) and its rule file (when it changes), then the
    drop-ins."""
    diff = []
    for plan in plans:
        if plan.numvfs.changed:
            entry = _numvfs_diff(plan.numvfs)
            if plan.restart:
                entry["before"]["restarted_networks"] = []
                entry["after"]["restarted_networks"] = list(plan.restart)
            diff.append(entry)
        if plan.rule.changed:
            diff.append(_file_diff(plan.rule.path, plan.rule.current, plan.rule.desired))
    for path, old, new in boot_changes:
        diff.append(_file_diff(path, old, new))
    return diff


def _vf_addresses(host, plan, pf_data, check_mode):
    """(addresses, predicted) of the VFs the PF has after the run."""
    numvfs = plan.numvfs
    if not check_mode:
        return [vf["pci_address"] for vf in pf_data.get("vfs", [])], False
    if not numvfs.count_change:
        return [str(a) for a in vf_addresses(host, numvfs.address).values()], False
    if numvfs.target == 0:
        return [], False
    return predict_vf_addresses(host, numvfs.address, numvfs.target), True


def manage_pfs(host, params, check_mode=False, writer=None, usage_loader=None, clock=time.monotonic,
               sleep=time.sleep, reader=None, network_control=None, environ=None):
    """Everything sriov_vfs does with ``pfs``. Returns the result dict. ``environ``: the module's
    environment (``SSH_CONNECTION`` names the Ansible connection)."""
    timeout = params.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise SriovError("Invalid timeout %r: expected a whole number of seconds >= 1." % (timeout,))
    entries = params.get("pfs") or []
    plans = plan_stage(host, entries, reader=reader, recreate=params.get("recreate", False))
    guard_management(host, plans, environ)
    persisted = any(plan.persisted for plan in plans)
    boot_changes = plan_boot_order(host, present=True) if persisted else []
    usage, scan_error = usage_loader(host) if (usage_loader and plans) else (None, None)
    warnings = guard_stage(host, plans, usage, scan_error, force=params.get("force", False))
    reloaded = False
    if not check_mode:
        reloaded, apply_warnings = apply_stage(host, plans, boot_changes, timeout=timeout, writer=writer,
                                               clock=clock, sleep=sleep, reader=reader,
                                               network_control=network_control)
        warnings.extend(apply_warnings)
        if usage is not None and any(plan.numvfs.count_change for plan in plans):
            usage, _ignored = usage_loader(host)  # the VF addresses changed: one rescan
    results = []
    for plan in plans:
        pf_data = describe(host, plan.numvfs.address, usage=usage, warnings=warnings)
        addresses, predicted = _vf_addresses(host, plan, pf_data, check_mode)
        entry = {
            "changed": plan.changed,
            "entry": plan.position,
            "select": plan.entry["select"],
            "pf": pf_data,
            "vfs": pf_data.get("vfs", []),
            "numvfs_before": plan.numvfs.before,
            "numvfs_after": plan.numvfs.target if check_mode else pf_data.get("numvfs"),
            "actions": network_actions(plan.restart, plan.numvfs.actions()) + _rule_actions(plan.rule),
            "vfs_in_use": plan.busy,
            "restarted_networks": plan.restart,
            "vf_addresses": addresses,
            "vf_addresses_predicted": predicted,
            "rule": rule_result(plan.rule, verified=plan.verified, reloaded=reloaded and plan.rule.changed),
        }
        if predicted and addresses is None:
            warnings.append("PF %s reports no sriov_offset/sriov_stride: the addresses of the VFs "
                            "this run would create cannot be predicted." % plan.numvfs.label)
        results.append(entry)
    return {
        "changed": any(plan.changed for plan in plans) or bool(boot_changes),
        "pfs": results,
        "restarted_networks": restarted_networks(plans),
        "boot_order": {"changed": bool(boot_changes), "files": [path for path, _o, _n in boot_changes]},
        "warnings": warnings,
        "diff": stage_diff(plans, boot_changes),
    }


def _rule_actions(rule):
    if not rule.changed:
        return []
    if rule.desired is None:
        return ["remove udev rule %s" % rule.path]
    return ["write udev rule %s" % rule.path]


__all__ = [
    "manage_pfs",
    "plan_stage",
    "predict_vf_addresses",
]
