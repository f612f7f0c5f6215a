# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report as one self-contained HTML page.

``sriov_report_view`` shapes what ``sriov_info`` and ``iommu_info`` returned on each host into
a view model (summary, problems first, hosts with their PFs and VF states); ``sriov_report_html``
renders that view with the page template below in its own Jinja2 environment with autoescaping
on: every host, domain and network name is untrusted text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

try:
    import jinja2
except ImportError:  # pragma: no cover - ansible-core depends on Jinja2
    jinja2 = None

from ansible.errors import AnsibleFilterError

from ansible_collections.virt.sriov.plugins.module_utils._values import format_cpulist, parse_cpulist

# Remediation texts, worded as the modules word them (plugins/module_utils/_libvirt.py and
# _libvirt_network.py for a PF that is down, docs/docsite/rst/fleet.rst for pool and direct use of one VF).
PF_DOWN_REMEDIATION = (
    "The PF's link is down: bring it up (ip link set PF up, and at boot sriov_udev_rule "
    "link_up=true or the host's network configuration) before starting guests on its VFs.")
SHARED_REMEDIATION = (
    "Give each guest its own VF: remove the interface from all definitions but one "
    "(virt.sriov.libvirt_hostdev_interface with state=absent).")
POOL_AND_DIRECT_REMEDIATION = (
    "Do not give one PF's VFs both to a pool network and directly to a guest: libvirt hands pool "
    "VFs to whichever guest starts next. Assign by address from another PF, or use the pool.")
NOT_PERSISTENT_REMEDIATION = (
    "Persist the VF count with virt.sriov.sriov_vfs (persist=true, the default of the role "
    "sriov_vfs) or virt.sriov.sriov_udev_rule: without a rule the VFs are gone after a reboot or "
    "a driver reload.")
OTHER_OWNERS_REMEDIATION = (
    "Keep one owner of the VF count: remove the other settings named here (or stop persisting the "
    "count with this collection), otherwise they fight at boot and NetworkManager resets the count "
    "when its connection goes down.")
RULE_COUNT_REMEDIATION = (
    "Run virt.sriov.sriov_vfs with the count you want (persist=true): it sets the count and the "
    "rule together.")
MISSING_VF_REMEDIATION = (
    "Create the VFs again (virt.sriov.sriov_vfs) or remove the interface from the guest "
    "(virt.sriov.libvirt_hostdev_interface with state=absent).")
MISSING_POOL_VF_REMEDIATION = (
    "Create the VFs again (virt.sriov.sriov_vfs), or define the network again on a PF that exists "
    "(virt.sriov.libvirt_vf_pool_network; restart it so that its pool lists the VFs that exist now) "
    "or remove it (state=absent).")
NUMA_REMEDIATION = (
    "Pin the guest's vCPUs to the PF's local CPUs and its memory to the PF's node (<cputune> "
    "vcpupin, <numatune>), or give it a VF of a PF on the node it is pinned to: otherwise every "
    "packet crosses the link between the sockets.")
DROPS_REMEDIATION = (
    "Packets are being dropped on this VF: check the receiving side (the guest's driver and ring "
    "sizes, its CPU load, vCPUs pinned next to the PF), the VF's max_tx_rate and the PF's link, "
    "and compare with the guest's own counters.")
LIBVIRT_REMEDIATION = (
    "Install libvirt-python (python3-libvirt) on the host and make sure libvirtd answers, then "
    "run the report again.")

STATES = (
    ("pool", "guest via pool"),
    ("hostdev", "guest via hostdev"),
    ("host", "host driver"),
    ("vfio", "vfio-pci, unused"),
    ("free", "free"),
    ("unknown", "unknown"),
)
STATE_LABELS = dict(STATES)
SEVERITY_ORDER = {"error": 0, "warning": 1}


def _text(value, default=""):
    if value is None:
        return default
    return u"%s" % (value,)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _failure(result, what):
    """Why a registered result is not usable, or None."""
    if not result:
        return "%s: not reached" % what
    if result.get("unreachable"):
        return "%s: unreachable: %s" % (what, _text(result.get("msg"), "no message"))
    if result.get("failed"):
        return "%s failed: %s" % (what, _text(result.get("msg"), "no message"))
    if result.get("skipped"):
        return "%s: skipped" % what
    return None


def _users(vf):
    users = vf.get("used_by")
    if users is None:
        return None
    return [u for u in users if isinstance(u, dict)]


def vf_state(vf):
    """The state of one VF dict of sriov_info (see DOCUMENTATION)."""
    users = _users(vf)
    if users is None:
        return "unknown"
    if users:
        if any(_text(u.get("via")).startswith("network:") for u in users):
            return "pool"
        return "hostdev"
    if vf.get("networks"):
        return "free"
    driver = vf.get("driver")
    if driver == "vfio-pci":
        return "vfio"
    if driver:
        return "host"
    return "free"


def _vlan(vf):
    vlan = _int(vf.get("vlan"))
    return vlan if vlan else None


def _mac(vf):
    mac = _text(vf.get("mac")).lower()
    return None if mac in ("", "00:00:00:00:00:00") else mac


def _describe_users(users):
    seen, parts = set(), []
    for user in users:
        key = (_text(user.get("domain")), _text(user.get("config")))
        if key in seen:
            continue
        seen.add(key)
        parts.append("%s (%s, %s definition%s)" % (
            key[0], "running" if user.get("running") else "shut off",
            "live" if key[1] == "live" else "persistent",
            "" if _text(user.get("via"), "hostdev") == "hostdev" else ", via " + _text(user.get("via"))))
    return ", ".join(parts)


def _pf_view(host, pf, problems, previous=None, counters=None):
    label = _text(pf.get("netdev")) or _text(pf.get("pci_address"), "?")
    numa = _numa(pf)
    link = pf.get("link_state")
    vfs = []
    counts = dict((key, 0) for key, _label in STATES)
    networks = set()
    for vf in pf.get("vfs") or []:
        if not isinstance(vf, dict):
            continue
        state = vf_state(vf)
        counts[state] += 1
        users = _users(vf) or []
        domains = []
        for user in users:
            name = _text(user.get("domain"))
            if name and name not in domains:
                domains.append(name)
        vf_networks = [_text(n) for n in (vf.get("networks") or [])]
        networks.update(vf_networks)
        address = _text(vf.get("pci_address"), "?")
        vfs.append({
            "index": vf.get("index"),
            "pci_address": address,
            "driver": _text(vf.get("driver")),
            "state": state,
            "state_label": STATE_LABELS[state],
            "guests": domains,
            "users": _describe_users(users),
            "mac": _mac(vf),
            "vlan": _vlan(vf),
            "networks": vf_networks,
        })
        subject = "VF %s of %s (%s)" % (vf.get("index"), label, address)
        _drops(host, vf, address, subject, problems, previous, counters)
        if numa is not None:
            _cross_numa(host, users, numa, subject, problems)
        if len(domains) > 1:
            problems.append(_problem("error", host, subject, "VF shared by two definitions",
                                     "Used by %s." % _describe_users(users), SHARED_REMEDIATION))
        direct = [u for u in users if _text(u.get("via"), "hostdev") == "hostdev"]
        if vf_networks and direct:
            problems.append(_problem(
                "error", host, subject, "VF shared by two definitions",
                "In pool network %s and assigned directly to %s." % (
                    ", ".join(vf_networks), _describe_users(direct)),
                POOL_AND_DIRECT_REMEDIATION))
    if networks and link is not None and link != "up":
        for name in sorted(networks):
            problems.append(_problem(
                "error", host, "PF %s (%s)" % (label, _text(pf.get("pci_address"))), "pool whose PF is down",
                "PF %s is %s: guests on network %s will fail to start (libvirt: 'the PF is not "
                "online') until its link is up." % (label, link, name),
                PF_DOWN_REMEDIATION))
    persistence = _persistence(pf)
    numvfs = _int(pf.get("numvfs"))
    pf_subject = "PF %s (%s)" % (label, _text(pf.get("pci_address")))
    rule = persistence["rule"]
    if persistence["known"] and numvfs and not rule and not persistence["other_owners"]:
        problems.append(_problem(
            "warning", host, pf_subject, "VF count not persistent",
            "%d VFs exist now but no udev rule recreates them at boot." % numvfs,
            NOT_PERSISTENT_REMEDIATION))
    if persistence["other_owners"]:
        problems.append(_problem(
            "warning", host, pf_subject, "VF count owned by others too",
            "%sowned by %s too." % (
                "Its udev rule sets %s VFs, and the count is " % rule["num_vfs"] if rule
                else "No udev rule of this collection; the count is ",
                "; ".join(persistence["other_owners"])),
            OTHER_OWNERS_REMEDIATION))
    if rule and numvfs is not None and _int(rule["num_vfs"]) is not None and _int(rule["num_vfs"]) != numvfs:
        problems.append(_problem(
            "warning", host, pf_subject, "persisted VF count differs",
            "The udev rule %s sets %s VFs at boot; %d exist now: the count changes at the next "
            "reboot or driver reload." % (rule["path"], rule["num_vfs"], numvfs),
            RULE_COUNT_REMEDIATION))
    used = counts["pool"] + counts["hostdev"]
    return {
        "name": label,
        "pci_address": _text(pf.get("pci_address")),
        "driver": _text(pf.get("driver"), "none"),
        "tested_driver": pf.get("tested_driver", True) is not False,
        "device": " ".join(x for x in (_text(pf.get("vendor_name")), _text(pf.get("device_name"))) if x),
        "link": _text(link, "unknown"),
        "numvfs": numvfs,
        "totalvfs": _int(pf.get("totalvfs")),
        "autoprobe": pf.get("drivers_autoprobe"),
        "persistence": persistence,
        "numa_node": numa["node"] if numa else None,
        "networks": sorted(networks),
        "vfs": vfs,
        "used_vfs": [vf for vf in vfs if vf["guests"]],
        "counts": counts,
        "used": used,
        "free": len(vfs) - used - counts["unknown"],
    }


def _persistence(pf):
    """Persistence facts when the PF dict carries them (udev_rule, other_owners), else unknown.

    ``rule``: {path, num_vfs, ...} of sriov_info's ``udev_rule``, or None (no rule)."""
    known = "udev_rule" in pf
    raw = pf.get("udev_rule")
    rule = None
    if isinstance(raw, dict):
        rule = {"path": _text(raw.get("path")), "num_vfs": raw.get("num_vfs"),
                "match": _text(raw.get("match"), "pci_address"), "link_up": bool(raw.get("link_up"))}
    elif raw:
        rule = {"path": _text(raw), "num_vfs": None, "match": "", "link_up": False}
    owners = pf.get("other_owners") or []
    numvfs = _int(pf.get("numvfs"))
    return {
        "known": known,
        "rule": rule,
        "differs": bool(rule and _int(rule["num_vfs"]) is not None and numvfs is not None
                        and _int(rule["num_vfs"]) != numvfs),
        "other_owners": [_text(o) for o in owners],
    }


def _numa(pf):
    """{node, cpus (set), cpulist} of a PF on a known NUMA node, else None."""
    node = _int(pf.get("numa_node"))
    if node is None or node < 0:
        return None
    cpus = parse_cpulist(_text(pf.get("local_cpulist")))
    return {"node": node, "cpus": cpus, "cpulist": _text(pf.get("local_cpulist"))}


def _cross_numa(host, users, numa, subject, problems):
    """A problem per guest whose pinned vCPUs or bound memory are off the PF's NUMA node.

    The live definition of a running guest is what counts; a guest pinned nowhere is not flagged
    (the report cannot tell where it runs)."""
    chosen = {}
    for user in users:
        name = _text(user.get("domain"))
        if name not in chosen or _text(user.get("config")) == "live":
            chosen[name] = user
    for name in sorted(chosen):
        user = chosen[name]
        found = []
        cpus = parse_cpulist(_text(user.get("cpus")))
        if cpus and numa["cpus"] and not cpus <= numa["cpus"]:
            found.append("its vCPUs are pinned to CPUs %s (%s off the PF's local CPUs %s)" % (
                _text(user.get("cpus")), format_cpulist(cpus - numa["cpus"]), numa["cpulist"]))
        nodes = parse_cpulist(_text(user.get("memory_nodes")))
        if nodes and numa["node"] not in nodes:
            found.append("its memory is bound to NUMA node %s" % _text(user.get("memory_nodes")))
        if found:
            problems.append(_problem(
                "warning", host, subject, "cross-NUMA assignment",
                "Guest %s uses this VF of a PF on NUMA node %d, but %s." % (name, numa["node"], " and ".join(found)),
                NUMA_REMEDIATION))


DROP_COUNTERS = ("rx_dropped", "tx_dropped")


def _drops(host, vf, address, subject, problems, previous, counters):
    """Record the VF's drop counters in ``counters`` and flag those that rose since ``previous``
    ({host: {VF address: {rx_dropped, tx_dropped}}} of an earlier report). A counter that went
    down was reset (VFs recreated, host rebooted) and is not compared."""
    stats = vf.get("stats")
    if not isinstance(stats, dict):
        return
    now = dict((key, _int(stats.get(key))) for key in DROP_COUNTERS)
    if counters is not None:
        counters[address] = now
    before = ((previous or {}).get(host) or {}).get(address)
    if not isinstance(before, dict):
        return
    rises = []
    for key in DROP_COUNTERS:
        old, new = _int(before.get(key)), now[key]
        if old is not None and new is not None and new > old:
            rises.append("%s %d -> %d (+%d)" % (key, old, new, new - old))
    if rises:
        problems.append(_problem("warning", host, subject, "drop counters rising",
                                 "Since the previous report: %s." % ", ".join(rises), DROPS_REMEDIATION))


def _problem(severity, host, subject, kind, text, remediation):
    return {"severity": severity, "host": host, "subject": subject, "kind": kind,
            "text": text, "remediation": remediation or ""}


def _missing_problem(name, missing):
    """The problem of one missing_vf_users entry of sriov_info (older results: {domain, ...})."""
    kind = _text(missing.get("kind"), "domain")
    who = _text(missing.get("name") or missing.get("domain"))
    config = _text(missing.get("config"), "persistent")
    address = missing.get("pci_address")
    pf = _text(missing.get("pf"))
    if kind == "network":
        if address is None:
            text = "Its %s definition takes its VFs from PF %s, which is not a network interface of this host." % (
                config, pf)
        else:
            text = "Its %s definition lists %s, which is not a VF of this host%s." % (
                config, address, " (a VF slot of PF %s that is not created)" % pf if pf else "")
        return _problem("error", name, "network %s" % who, "pool network on a VF that no longer exists",
                        text, MISSING_POOL_VF_REMEDIATION)
    text = "Its %s definition uses %s, which is not a VF of this host%s." % (
        config, _text(address), " (VF slot of PF %s, which has fewer VFs now)" % pf if pf else "")
    return _problem("error", name, "domain %s" % who, "guest on a VF that no longer exists", text,
                    MISSING_VF_REMEDIATION)


def _host_view(entry, problems, failed, previous=None, counters=None):
    name = _text(entry.get("name"), "?")
    iommu = entry.get("iommu") or {}
    sriov = entry.get("sriov") or {}
    reasons = [r for r in (_failure(iommu, "iommu_info"), _failure(sriov, "sriov_info")) if r]
    if reasons:
        failed.append({"host": name, "reason": "; ".join(reasons)})
    host_problems = []
    if _failure(iommu, "iommu_info"):
        iommu_state = "unknown"
    elif iommu.get("enabled"):
        iommu_state = "on"
    else:
        iommu_state = "off"
        host_problems.append(_problem(
            "error", name, "IOMMU", "IOMMU off",
            _text(iommu.get("reason"), "The IOMMU is not enabled."),
            _text(iommu.get("remediation"))))
    pfs = []
    if not _failure(sriov, "sriov_info"):
        if sriov.get("libvirt_connected") is False:
            libvirt_warnings = [w for w in sriov.get("warnings") or [] if "libvirt" in _text(w)]
            host_problems.append(_problem(
                "warning", name, "libvirt", "VF users unknown",
                " ".join(_text(w) for w in libvirt_warnings) or "libvirt was not asked which guests use the VFs.",
                LIBVIRT_REMEDIATION))
        for missing in sriov.get("missing_vf_users") or []:
            if isinstance(missing, dict):
                host_problems.append(_missing_problem(name, missing))
        host_counters = {} if counters is not None else None
        for pf in sriov.get("pfs") or []:
            if isinstance(pf, dict):
                pfs.append(_pf_view(name, pf, host_problems, previous=previous, counters=host_counters))
        if host_counters:
            counters[name] = host_counters
    problems.extend(host_problems)
    return {
        "name": name,
        "ok": not reasons,
        "failure": "; ".join(reasons),
        "iommu": iommu_state,
        "cpu_vendor": _text(iommu.get("cpu_vendor")),
        "libvirt": sriov.get("libvirt_connected"),
        "warnings": [_text(w) for w in sriov.get("warnings") or []],
        "pfs": pfs,
        "problems": len(host_problems),
        "vfs": sum(len(pf["vfs"]) for pf in pfs),
        "used": sum(pf["used"] for pf in pfs),
        "free": sum(pf["free"] for pf in pfs),
    }


def _previous_counters(previous):
    """The {host: {VF address: counters}} of an earlier report's ``counters``, or None."""
    if previous is None or previous == "" or previous == {}:
        return None, ""
    if not isinstance(previous, dict) or not isinstance(previous.get("vfs"), dict):
        raise AnsibleFilterError(
            "sriov_report_view: previous must be the 'counters' of an earlier report ({generated, vfs: "
            "{host: {VF address: {rx_dropped, tx_dropped}}}}, the JSON file the report playbook writes "
            "next to the page), got %s" % (type(previous).__name__ if not isinstance(previous, dict)
                                           else "a dict without 'vfs'"))
    return previous["vfs"], _text(previous.get("generated"))


def sriov_report_view(hosts, generated="", previous=None):
    """The view model of the fleet report (see DOCUMENTATION)."""
    if not isinstance(hosts, (list, tuple)):
        raise AnsibleFilterError("sriov_report_view expects a list of {name, iommu, sriov}, got %s"
                                 % type(hosts).__name__)
    previous_vfs, previous_generated = _previous_counters(previous)
    problems, failed, views = [], [], []
    counters = {}
    for entry in hosts:
        if not isinstance(entry, dict):
            raise AnsibleFilterError("sriov_report_view: each host must be a dict {name, iommu, sriov}, got %s"
                                     % type(entry).__name__)
        views.append(_host_view(entry, problems, failed, previous=previous_vfs, counters=counters))
    anchors = {}
    for number, host in enumerate(views, 1):
        host["anchor"] = "h-%d" % number
        anchors.setdefault(host["name"], host["anchor"])
    for problem in problems:
        problem["anchor"] = anchors.get(problem["host"], "")
    problems.sort(key=lambda p: (SEVERITY_ORDER.get(p["severity"], 9), p["host"]))
    pools = {}
    for host in views:
        for pf in host["pfs"]:
            for vf in pf["vfs"]:
                for network in vf["networks"]:
                    pool = pools.setdefault(network, {"name": network, "total": 0, "free": 0, "hosts": {}})
                    pool["total"] += 1
                    per_host = pool["hosts"].setdefault(host["name"], {"host": host["name"], "free": 0, "total": 0})
                    per_host["total"] += 1
                    if vf["state"] == "free":
                        pool["free"] += 1
                        per_host["free"] += 1
    pool_list = []
    for name in sorted(pools):
        pool = pools[name]
        pool["hosts"] = sorted(pool["hosts"].values(), key=lambda h: (-h["free"], h["host"]))
        pool_list.append(pool)
    all_pfs = [pf for host in views for pf in host["pfs"]]
    summary = {
        "hosts": len(views),
        "hosts_ok": sum(1 for h in views if h["ok"]),
        "hosts_failed": len(failed),
        "iommu_on": sum(1 for h in views if h["iommu"] == "on"),
        "iommu_off": sum(1 for h in views if h["iommu"] == "off"),
        "iommu_unknown": sum(1 for h in views if h["iommu"] == "unknown"),
        "pfs": len(all_pfs),
        "vfs": sum(len(pf["vfs"]) for pf in all_pfs),
        "used": sum(pf["used"] for pf in all_pfs),
        "free": sum(pf["free"] for pf in all_pfs),
        "unknown": sum(pf["counts"]["unknown"] for pf in all_pfs),
        "errors": sum(1 for p in problems if p["severity"] == "error"),
        "warnings": sum(1 for p in problems if p["severity"] != "error"),
    }
    return {
        "generated": _text(generated),
        "previous": previous_generated if previous_vfs is not None else None,
        "counters": {"generated": _text(generated), "vfs": counters},
        "summary": summary,
        "pools": pool_list,
        "failed": failed,
        "problems": problems,
        "hosts": views,
        "states": [{"key": key, "label": label} for key, label in STATES],
    }


# The page: plain tables (readable without JavaScript), inline CSS, a few lines of inline
# script for sorting and filtering. No data is ever placed inside the script.
PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>SR-IOV fleet report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em}h3{font-size:1.05em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.3em 0 1em}th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right}
.error{color:#a00;font-weight:bold}.warning{color:#a60;font-weight:bold}.ok{color:#060}
.bar{display:flex;gap:1px;min-width:10em;max-width:40em}.vf{flex:1;height:1.2em;min-width:4px;border-radius:2px}
.k{display:inline-block;width:1em;height:1em;vertical-align:middle;border-radius:2px;margin:0 .2em 0 .8em}
.s-free{background:#8c8}.s-hostdev{background:#36c}.s-pool{background:#86c}.s-host{background:#ccc}
.s-vfio{background:#e93}.s-unknown{background:#fff;border:1px dashed #999}
section.host{border-top:2px solid #ddd;margin-top:1em}.muted{color:#777}code{font-size:.95em}
</style>
</head>
<body>
<h1>SR-IOV fleet report</h1>
<p class="muted">Generated {{ generated or "(time not given)" }} from sriov_info and iommu_info on each host.
{%- if previous is not none %} Drop counters compared with the report of {{ previous or "(time not given)" }}.{% endif %}</p>
{% set s = summary %}
<h2 id="summary">Fleet summary</h2>
<table id="summary-table">
<tr><th>hosts</th><th>reported</th><th>failed</th><th>IOMMU on</th><th>IOMMU off</th><th>PFs</th><th>VFs</th><th>used</th><th>free</th><th>problems</th></tr>
<tr><td class="n">{{ s.hosts }}</td><td class="n">{{ s.hosts_ok }}</td><td class="n">{{ s.hosts_failed }}</td><td class="n">{{ s.iommu_on }}</td>
<td class="n">{{ s.iommu_off }}</td><td class="n">{{ s.pfs }}</td><td class="n">{{ s.vfs }}</td><td class="n">{{ s.used }}</td>
<td class="n">{{ s.free }}</td><td class="n">{{ s.errors }} errors, {{ s.warnings }} warnings</td></tr>
</table>
<h2 id="problems">Problems ({{ problems | length }})</h2>
{% if problems %}
<table class="sortable" id="problem-table">
<thead><tr><th>severity</th><th>host</th><th>what</th><th>problem</th><th>details</th><th>remediation</th></tr></thead>
<tbody>
{% for p in problems %}<tr><td class="{{ p.severity }}">{{ p.severity }}</td><td><a href="#{{ p.anchor }}">{{ p.host }}</a></td>
<td>{{ p.subject }}</td><td>{{ p.kind }}</td><td>{{ p.text }}</td><td>{{ p.remediation }}</td></tr>
{% endfor %}</tbody>
</table>
{% else %}<p class="ok">No problems found.</p>{% endif %}
{% if s.unknown %}<p class="warning">{{ s.unknown }} VFs have an unknown state: libvirt was not asked on some hosts.</p>{% endif %}
<h2 id="pools">Free VFs per pool network</h2>
{% if pools %}
<table class="sortable" id="pools">
<thead><tr><th>network</th><th>free</th><th>total</th><th>free per host</th></tr></thead>
<tbody>
{% for p in pools %}<tr><td>{{ p.name }}</td><td class="n" data-network="{{ p.name }}">{{ p.free }}</td><td class="n">{{ p.total }}</td>
<td>{% for h in p.hosts %}{{ h.host }}: {{ h.free }}/{{ h.total }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}</tbody>
</table>
{% else %}<p class="muted">No hostdev pool network.</p>{% endif %}
{% if failed %}
<h2 id="failed-hosts">Hosts that did not report</h2>
<table id="failed"><tr><th>host</th><th>why</th></tr>
{% for f in failed %}<tr><td>{{ f.host }}</td><td>{{ f.reason }}</td></tr>
{% endfor %}</table>
{% endif %}
<h2 id="hosts">Hosts</h2>
<p>VF states:{% for st in states %}<span class="k s-{{ st.key }}"></span>{{ st.label }}{% endfor %}</p>
<p id="filter-slot"></p>
<table class="sortable" id="host-table">
<thead><tr><th>host</th><th>IOMMU</th><th>PFs</th><th>VFs</th><th>used</th><th>free</th><th>problems</th></tr></thead>
<tbody>
{% for h in hosts %}<tr class="hostrow"><td><a href="#{{ h.anchor }}">{{ h.name }}</a></td><td>{{ h.iommu }}</td><td class="n">{{ h.pfs | length }}</td>
<td class="n">{{ h.vfs }}</td><td class="n">{{ h.used }}</td><td class="n">{{ h.free }}</td><td class="n">{{ h.problems }}</td></tr>
{% endfor %}</tbody>
</table>
{% for h in hosts %}
<section class="host" id="{{ h.anchor }}" data-host="{{ h.name }}">
<h3>{{ h.name }}{% if not h.ok %} <span class="error">did not report</span>{% endif %}</h3>
<p>IOMMU {{ h.iommu }}{% if h.cpu_vendor %} ({{ h.cpu_vendor }}){% endif %}
{%- if h.libvirt is sameas false %}; <span class="warning">libvirt not asked: VF users unknown</span>{% endif %}
{% if h.failure %}<br><span class="error">{{ h.failure }}</span>{% endif %}</p>
{% for w in h.warnings %}<p class="warning">{{ w }}</p>{% endfor %}
{% if h.pfs %}
<table>
<tr><th>PF</th><th>PCI</th><th>driver</th><th>link</th><th>NUMA</th><th>VFs / max</th><th>persistence</th><th>pool networks</th><th>VFs by state</th></tr>
{% for pf in h.pfs %}<tr><td>{{ pf.name }}</td><td><code>{{ pf.pci_address }}</code></td>
<td>{{ pf.driver }}{% if not pf.tested_driver %} <span class="warning">(not tested)</span>{% endif %}</td>
<td{% if pf.link != "up" %} class="warning"{% endif %}>{{ pf.link }}</td><td class="n">{{ pf.numa_node if pf.numa_node is not none else "" }}</td>
<td class="n">{{ pf.numvfs }} / {{ pf.totalvfs }}</td>
<td class="persistence">{% if pf.persistence.known %}{% set r = pf.persistence.rule %}
{%- if r %}<span title="{{ r.path }}"{% if pf.persistence.differs %} class="warning"{% endif %}>udev rule
{%- if r.num_vfs is not none %}: {{ r.num_vfs }} VFs{% else %} {{ r.path }}{% endif %}{% if r.link_up %}, link up{% endif %}</span>
{%- else %}<span class="warning">no udev rule</span>{% endif %}{% else %}<span class="muted">not reported</span>{% endif %}
{% for o in pf.persistence.other_owners %}<br><span class="warning">other owner: {{ o }}</span>{% endfor %}</td>
<td>{{ pf.networks | join(", ") }}</td>
<td><div class="bar">{% for vf in pf.vfs %}<span class="vf s-{{ vf.state }}" title="VF {{ vf.index }} {{ vf.pci_address }}: {{ vf.state_label }}
{%- if vf.guests %} ({{ vf.guests | join(", ") }}){% endif %}"></span>{% endfor %}</div>
{% for st in states if pf.counts[st.key] %}{{ pf.counts[st.key] }} {{ st.label }}{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}</table>
{% set used = h.pfs | map(attribute="used_vfs") | sum(start=[]) %}
{% if used %}
<table class="used">
<tr><th>PF</th><th>VF</th><th>PCI</th><th>guest</th><th>via</th><th>MAC</th><th>VLAN</th></tr>
{% for pf in h.pfs %}{% for vf in pf.used_vfs %}<tr><td>{{ pf.name }}</td><td class="n">{{ vf.index }}</td><td><code>{{ vf.pci_address }}</code></td>
<td>{{ vf.guests | join(", ") }}</td><td>{{ vf.state_label }}</td><td><code>{{ vf.mac or "" }}</code></td><td>{{ vf.vlan or "" }}</td></tr>
{% endfor %}{% endfor %}</table>
{% endif %}
{% elif h.ok %}<p class="muted">No SR-IOV PF.</p>{% endif %}
</section>
{% endfor %}
<script>
document.querySelectorAll("table.sortable th").forEach(function(th){th.style.cursor="pointer";th.onclick=function(){
var t=th.closest("table").tBodies[0],i=th.cellIndex,d=th.dataset.d=th.dataset.d=="1"?-1:1;
Array.from(t.rows).sort(function(a,b){var x=a.cells[i].textContent,y=b.cells[i].textContent,nx=parseFloat(x),ny=parseFloat(y);
return d*(isNaN(nx)||isNaN(ny)?x.localeCompare(y):nx-ny);}).forEach(function(r){t.appendChild(r);});};});
var f=document.createElement("input");f.placeholder="filter hosts";f.oninput=function(){var q=f.value.toLowerCase();
document.querySelectorAll("section.host,tr.hostrow").forEach(function(e){e.style.display=e.textContent.toLowerCase().indexOf(q)<0?"none":"";});};
document.getElementById("filter-slot").appendChild(f);
</script>
</body>
</html>
"""


def sriov_report_html(view):
    """Render the view model as one self-contained HTML page (autoescaped)."""
    if jinja2 is None:  # pragma: no cover
        raise AnsibleFilterError("sriov_report_html needs Jinja2")
    if not isinstance(view, dict) or "hosts" not in view:
        raise AnsibleFilterError("sriov_report_html expects the output of virt.sriov.sriov_report_view")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=False, lstrip_blocks=False)
    page = env.from_string(PAGE).render(**view)
    return u"%s" % re.sub(r"\n{3,}", "\n\n", page)


class FilterModule(object):
    """virt.sriov filters for the fleet report."""

    def filters(self):
        return {
            "sriov_report_view": sriov_report_view,
            "sriov_report_html": sriov_report_html,
        }
