# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The VF stage of a host in one execution: ``sriov_vfs`` with a list of PFs (``pfs``).

Discover once, plan every PF (count, ``sriov_drivers_autoprobe``, link, udev rule, and the
per-VF settings of entries with ``vfs``/``vf_defaults`` against the count the run sets), check
every guard of both (libvirt scan complete, no VF in use, rule files ours and valid, MAC/VLAN/
driver of VFs in use), then apply (counts, count rule files, the systemd drop-ins that order
libvirt's daemons after udev, then the VF settings through ``_vf_settings`` and their rule files,
one ``udevadm control --reload``) and read back once. Check mode stops after the guards and
reports the same plan, with the VF addresses the run would create; the settings of VFs the run
creates are predicted as changes.

A setting the driver refuses fails the run after the counts were applied: the settings of this
run are set back (``_vf_settings.apply_plans``), the counts, their rule files and the drop-ins
stay (they are complete and read back; the failure says so), and no settings rule is written.
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
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
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
from ansible_collections.virt.sriov.plugins.module_utils._vf_drivers import check_changes as check_driver_changes
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import (
    apply_plans,
    changes_by_vf,
    check_guard,
    plan_pf_for_count,
    report_plan,
    require_ip,
    review_plans,
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
    "vfs": None,
    "vf_defaults": None,
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
        # the per-VF settings plan (_vf_settings), with vfs or vf_defaults only
        self.settings = None

    @property
    def persisted(self):
        return self.rule.desired is not None

    @property
    def settings_changed(self):
        settings = self.settings
        return bool(settings and (settings["changes"] or settings["driver_changes"] or settings["rule_changed"]))

    @property
    def changed(self):
        return self.numvfs.changed or self.rule.changed or self.settings_changed


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


def wants_settings(entry):
    """Whether the entry manages per-VF settings (``vfs`` or ``vf_defaults`` given)."""
    return entry["vfs"] is not None or entry["vf_defaults"] is not None


def _settings_entry(plan):
    return {"vfs": plan.entry["vfs"] or [], "vf_defaults": plan.entry["vf_defaults"],
            "persist": plan.entry["persist"]}


def _settings_error(plan, exc):
    return SriovError("%s: %s" % (entry_label(plan.entry, plan.position), exc.msg), **exc.details)


def plan_settings(host, plans):
    """Plan the per-VF settings of every entry that has them, against the count this run sets
    (``plan.settings``). VFs the run creates start from the driver's defaults, so each of their
    settings is planned as a change. Returns the path of ``ip`` (None when no entry has settings)."""
    chosen = [plan for plan in plans if wants_settings(plan.entry)]
    if not chosen:
        return None
    ip_path = require_ip(host)
    for plan in chosen:
        numvfs = plan.numvfs
        if plan.entry["state"] == "absent" and (plan.entry["vfs"] or plan.entry["vf_defaults"]):
            raise SriovError("Invalid %s: vfs and vf_defaults need VFs, and state absent removes them; "
                             "leave them out." % entry_label(plan.entry, plan.position))
        addresses = None
        if numvfs.count_change:
            predicted = predict_vf_addresses(host, numvfs.address, numvfs.target) if numvfs.target else []
            addresses = dict((index, parse_pci_address(address)) for index, address in enumerate(predicted or []))
        try:
            plan.settings = plan_pf_for_count(host, numvfs.address, _settings_entry(plan), True, ip_path,
                                              numvfs.target, created=numvfs.count_change, addresses=addresses,
                                              count_persisted=plan.persisted)
        except SriovError as exc:
            raise _settings_error(plan, exc)
        plan.settings["numvfs"] = numvfs.target
    return ip_path


def _usage_loader(usage, scan_error):
    def load():
        if usage is None:
            raise SriovError(scan_error or "the libvirt scan did not run")
        return usage
    return load


def guard_settings(host, plans, usage, scan_error):
    """The guards of the settings (driver changes the host cannot make, MAC/VLAN/driver of VFs in
    use, refused when the libvirt scan did not complete), before anything changes. A VF that does
    not exist yet is checked once it does (after the counts)."""
    settings = [plan.settings for plan in plans if plan.settings is not None]
    if not settings:
        return
    for plan in plans:
        if plan.settings is None:
            continue
        existing = set(str(a) for a in vf_addresses(host, plan.numvfs.address).values())
        visible = dict(plan.settings, vf_addresses=dict(
            (index, address) for index, address in plan.settings["vf_addresses"].items() if str(address) in existing))
        try:
            check_driver_changes(host, visible)
        except SriovError as exc:
            raise _settings_error(plan, exc)
    check_guard(settings, _usage_loader(usage, scan_error))


def apply_settings(host, plans, ip_path, usage, scan_error, writer=None):
    """After the counts: plan each PF's settings again on the VFs as they now are, guard, apply
    (everything of this step set back on a failure), write the settings rules. Returns whether
    a settings rule changed."""
    chosen = [plan for plan in plans if plan.settings is not None]
    if not chosen:
        return False
    for plan in chosen:
        try:
            plan.settings = plan_pf_for_count(host, plan.numvfs.address, _settings_entry(plan), True, ip_path,
                                              plan.numvfs.target, count_persisted=plan.persisted)
        except SriovError as exc:
            raise _settings_error(plan, exc)
    guard_settings(host, chosen, usage, scan_error)
    return apply_plans(host, [plan.settings for plan in chosen], ip_path, writer=writer)


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
                sleep=time.sleep, reader=None, network_control=None, reload=True):
    """Counts first (each PF in list order, with the idle networks stopped around them), then
    rule files, one udev reload (with ``reload=False``, none: the caller reloads when the
    returned flag says a rule changed), the drop-ins. Returns (reloaded or rules changed, warnings)."""
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
    warnings.extend(apply_boot_order(host, boot_changes))
    if not reload:
        return rules_changed, warnings
    reloaded = False
    if rules_changed:
        reloaded, reload_warnings = reload_rules(host)
        warnings.extend(reload_warnings)
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
        diff.extend(_settings_diff(plan.settings))
    for path, old, new in boot_changes:
        diff.append(_file_diff(path, old, new))
    return diff


def _settings_diff(settings):
    """One item per VF whose settings change (``<PF> vf <N>``), then the settings rule file."""
    if settings is None:
        return []
    diff = [{"before_header": key, "after_header": key, "before": before, "after": after}
            for key, before, after in changes_by_vf(settings)]
    if settings["rule_changed"]:
        diff.append(_file_diff(settings["rule_path"], settings["rule_before"], settings["rule_after"]))
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
               sleep=time.sleep, reader=None, network_control=None, environ=None, driver_writer=None):
    """Everything sriov_vfs does with ``pfs``. Returns the result dict. ``environ``: the module's
    environment (``SSH_CONNECTION`` names the Ansible connection). ``driver_writer``: the bounded
    sysfs writer for VF driver changes (default ``writer``)."""
    timeout = params.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise SriovError("Invalid timeout %r: expected a whole number of seconds >= 1." % (timeout,))
    entries = params.get("pfs") or []
    plans = plan_stage(host, entries, reader=reader, recreate=params.get("recreate", False))
    ip_path = plan_settings(host, plans)
    guard_management(host, plans, environ)
    persisted = any(plan.persisted for plan in plans)
    boot_changes = plan_boot_order(host, present=True) if persisted else []
    usage, scan_error = usage_loader(host) if (usage_loader and plans) else (None, None)
    warnings = guard_stage(host, plans, usage, scan_error, force=params.get("force", False))
    guard_settings(host, plans, usage, scan_error)
    settings_warnings, settings_verified = review_plans(host, [p.settings for p in plans if p.settings is not None])
    warnings.extend(settings_warnings)
    reloaded = False
    if not check_mode:
        rules_changed, apply_warnings = apply_stage(host, plans, boot_changes, timeout=timeout, writer=writer,
                                                    clock=clock, sleep=sleep, reader=reader,
                                                    network_control=network_control, reload=False)
        warnings.extend(apply_warnings)
        if usage is not None and any(plan.numvfs.count_change for plan in plans):
            usage, _ignored = usage_loader(host)  # the VF addresses changed: one rescan
        try:
            rules_changed = apply_settings(host, plans, ip_path, usage, scan_error,
                                           writer=driver_writer or writer) or rules_changed
        except SriovError as exc:
            counts = [plan.numvfs.label for plan in plans if plan.numvfs.changed or plan.rule.changed]
            raise SriovError("%s%s" % (exc.msg.rstrip(".") + ".", (
                " The VF counts of this run stay as set, with their udev rules (PF %s); no VF settings "
                "rule was changed. Fix the settings and run again." % ", ".join(counts)) if counts else ""),
                **exc.details)
        finally:
            if rules_changed:
                reloaded, reload_warnings = reload_rules(host)
                warnings.extend(reload_warnings)
        if usage is not None and any(plan.settings and plan.settings["driver_changes"] for plan in plans):
            usage, _ignored = usage_loader(host)  # VFs moved between drivers: the report reads them again
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
            "actions": (network_actions(plan.restart, plan.numvfs.actions()) + _rule_actions(plan.rule)
                        + _settings_actions(plan.settings)),
            "vfs_in_use": plan.busy,
            "restarted_networks": plan.restart,
            "vf_addresses": addresses,
            "vf_addresses_predicted": predicted,
            "rule": rule_result(plan.rule, verified=plan.verified, reloaded=reloaded and plan.rule.changed),
            "vf_settings": report_plan(host, plan.settings, check_mode) if plan.settings is not None else None,
        }
        if predicted and addresses is None:
            warnings.append("PF %s reports no sriov_offset/sriov_stride: the addresses of the VFs "
                            "this run would create cannot be predicted." % plan.numvfs.label)
        results.append(entry)
    boot_order = {"changed": bool(boot_changes), "files": [path for path, _o, _n in boot_changes]}
    return {
        "changed": any(plan.changed for plan in plans) or bool(boot_changes),
        "pfs": results,
        "restarted_networks": restarted_networks(plans),
        "boot_order": boot_order,
        "vf_settings_verified": settings_verified,
        "planned_vfs": planned_vfs(results),
        "summary": summary_lines(results, boot_order),
        "warnings": warnings,
        "diff": stage_diff(plans, boot_changes),
    }


def planned_vfs(results):
    """{PF netdev (or PCI address): [VF PCI addresses]} after the run (predicted in check mode):
    what the role publishes as ``sriov_vfs_planned_vfs`` for the pool and guest stages."""
    return dict((item["pf"].get("netdev") or item["pf"]["pci_address"], item["vf_addresses"] or [])
                for item in results)


def summary_lines(results, boot_order):
    """The role's summary: one line per PF (count, change, rule), one per PF with settings, and
    the boot ordering drop-ins."""
    lines = ["%-24s %-15s %-12s %s" % ("PF", "VFs", "change", "udev rule")]
    for item in results:
        pf = item["pf"]
        name = ("%s %s" % (pf["netdev"], pf["pci_address"])) if pf.get("netdev") else pf["pci_address"]
        rule = item["rule"]
        lines.append("%-24s %-15s %-12s %s %s%s" % (
            name, "%s -> %s" % (item["numvfs_before"], item["numvfs_after"]),
            "changed" if item["changed"] else "ok", "present" if rule["content"] else "absent", rule["path"],
            " (changed)" if rule["changed"] else ""))
        settings = item["vf_settings"]
        if settings is not None:
            lines.append("%-24s VF settings: %d change(s), rule %s %s%s" % (
                "", len(settings["changes"]), "present" if settings["rule"] else "absent", settings["rule_path"],
                " (changed)" if settings["rule_changed"] else ""))
    lines.append("libvirt boot ordering drop-ins: %s" % (
        ("changed: " + ", ".join(boot_order["files"])) if boot_order["changed"] else "unchanged"))
    return lines


def _settings_actions(settings):
    if settings is None:
        return []
    actions = ["set %s of VF %d" % (change["setting"], change["vf"]) for change in settings["changes"]]
    actions.extend("bind VF %d to %s" % (change["vf"], change["after"]["driver"]) for change in settings["driver_changes"])
    if settings["rule_changed"]:
        actions.append("%s VF settings rule %s" % ("remove" if settings["rule_after"] is None else "write",
                                                   settings["rule_path"]))
    return actions


def _rule_actions(rule):
    if not rule.changed:
        return []
    if rule.desired is None:
        return ["remove udev rule %s" % rule.path]
    return ["write udev rule %s" % rule.path]


__all__ = [
    "manage_pfs",
    "planned_vfs",
    "plan_stage",
    "predict_vf_addresses",
]
