# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report page (plugins/filter/sriov_report.py) from recorded lab facts of 1, 50 and
500 hosts: content, problems first, escaping, size bound, nothing fetched from outside."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re
import time

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.virt.sriov.plugins.filter import sriov_report
from ansible_collections.virt.sriov.plugins.filter.sriov_report import (
    FilterModule,
    sriov_report_html,
    sriov_report_view,
    vf_state,
)

import fleet_facts

# docs/docsite/rst/fleet.rst states this bound: 500 hosts with the lab's 2 PFs and 11 VFs each.
MAX_BYTES_500 = 2 * 1024 * 1024


def render(hosts, generated="2026-01-01 10:00 UTC"):
    view = sriov_report_view(hosts, generated=generated)
    return view, sriov_report_html(view)


def assert_self_contained(page):
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I), "external reference"
    assert "@import" not in page
    assert not re.search(r"url\(", page), "CSS url() reference"
    assert not re.search(r"<(link|iframe|object|embed|img)\b", page, re.I)
    assert page.count("<script") == 1
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert len(script.strip().splitlines()) <= 8 and len(script) < 1200, script
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "import(" not in script


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"sriov_report_view", "sriov_report_html"}


def test_one_host_from_the_lab():
    rec = fleet_facts.recorded()
    view, page = render([{"name": "lab", "iommu": rec["iommu"], "sriov": rec["sriov"]}])
    s = view["summary"]
    assert (s["hosts"], s["hosts_ok"], s["iommu_on"], s["pfs"], s["vfs"], s["used"], s["free"]) == (1, 1, 1, 2, 11, 1, 10)
    assert view["pools"] == [{"name": "passthrough", "total": 4, "free": 4,
                              "hosts": [{"host": "lab", "free": 4, "total": 4}]}]
    assert view["problems"] == [] and view["failed"] == []
    pfs = {pf["name"]: pf for pf in view["hosts"][0]["pfs"]}
    assert [vf["state"] for vf in pfs["enp1s0"]["vfs"]] == ["free"] * 4
    assert [vf["state"] for vf in pfs["enp2s0"]["vfs"]] == ["host", "hostdev", "host", "host", "host", "host", "host"]
    used = pfs["enp2s0"]["used_vfs"]
    assert [(vf["index"], vf["guests"], vf["mac"], vf["vlan"]) for vf in used] == [(1, ["guestVM"], "52:54:00:6d:90:02", 42)]
    for text in ("enp1s0", "enp2s0", "0000:01:00.0", "0000:02:10.2", "igb", "guestVM", "52:54:00:6d:90:02",
                 "<td>42</td>", "4 / 7", "7 / 7", "No problems found."):
        assert text in page, text
    assert '<td class="n" data-network="passthrough">4</td>' in page
    # persistence from the recorded sriov_info: the rules sriov_vfs wrote on the lab
    assert [pf["persistence"]["rule"]["num_vfs"] for pf in view["hosts"][0]["pfs"]] == [4, 7]
    assert ">udev rule: 4 VFs, link up</span>" in page and ">udev rule: 7 VFs, link up</span>" in page
    assert "not reported" not in page and "other owner" not in page
    assert view["counters"]["vfs"]["lab"]["0000:02:10.2"] == {"rx_dropped": 0, "tx_dropped": 0}
    assert_self_contained(page)


@pytest.mark.parametrize("n", [50, 500])
def test_fleet_pages(n):
    hosts = fleet_facts.fleet(n)
    view, page = render(hosts)
    unreachable = [i for i in range(n) if i % 25 == 7]
    iommu_off = [i for i in range(n) if i % 10 == 3 and i % 25 != 7]
    ok = n - len(unreachable)
    s = view["summary"]
    assert (s["hosts"], s["hosts_failed"], s["iommu_off"], s["iommu_unknown"]) == (n, len(unreachable), len(iommu_off), len(unreachable))
    assert (s["pfs"], s["vfs"], s["used"], s["free"]) == (2 * ok, 11 * ok, ok, 10 * ok)
    assert view["pools"][0]["free"] == 4 * ok
    assert '<td class="n" data-network="passthrough">%d</td>' % (4 * ok) in page
    # problems first: the problem table comes before the first host section, errors first
    assert page.index('id="problem-table"') < page.index('<section class="host"')
    kinds = [(p["severity"], p["kind"], p["host"]) for p in view["problems"]]
    assert kinds == [("error", "IOMMU off", fleet_facts.host_name(i)) for i in iommu_off]
    assert fleet_facts.IOMMU_OFF_REMEDIATION in page
    assert [f["host"] for f in view["failed"]] == [fleet_facts.host_name(i) for i in unreachable]
    assert fleet_facts.UNREACHABLE in page
    for i in (0, n - 1):
        if i not in unreachable:
            assert fleet_facts.guest_mac(i) in page and "guest-%03d" % i in page
    assert page.count('<section class="host"') == n
    assert_self_contained(page)
    if n == 500:
        assert len(page.encode("utf-8")) < MAX_BYTES_500, len(page)


def test_500_hosts_with_persistence_numa_and_counters_stay_fast_and_small():
    """Every field the report reads (persistence, pinning, counters of a previous report) on 500
    hosts: measured 0.6 s for both reports on the development machine; bound 5 s for loaded CI."""
    hosts = fleet_facts.fleet(500)
    for host in hosts:
        for pf in host["sriov"].get("pfs") or []:
            pf["udev_rule"] = dict(RULE, num_vfs=pf["numvfs"])
            pf["other_owners"] = []
            pf["numa_node"], pf["local_cpulist"] = 0, "0-1"
            for user in (u for vf in pf["vfs"] for u in vf["used_by"] or []):
                user["cpus"], user["memory_nodes"] = "0-1", "0"
        if host["sriov"].get("pfs"):
            with_stats(host, {})
    started = time.time()
    previous = json.loads(json.dumps(sriov_report_view(hosts)["counters"]))
    view = sriov_report_view(hosts, previous=previous)
    page = sriov_report_html(view)
    elapsed = time.time() - started
    assert elapsed < 5, elapsed
    assert view["problems"] and all(p["kind"] == "IOMMU off" for p in view["problems"])
    assert len(page.encode("utf-8")) < MAX_BYTES_500
    assert len(json.dumps(previous)) < 512 * 1024  # the counters file next to the page


HOSTILE = "<script>alert('x')</script>\"'&{{7*7}}"


def test_everything_is_escaped():
    hosts = fleet_facts.fleet(2)
    hosts[0]["name"] = "<img src=x onerror=alert(1)>"
    vf = hosts[1]["sriov"]["pfs"][1]["vfs"][1]
    vf["used_by"][0]["domain"] = HOSTILE
    vf["used_by"][1]["domain"] = HOSTILE
    hosts[1]["sriov"]["pfs"][0]["vfs"][0]["networks"] = ['net"><b>x</b>']
    hosts[1]["sriov"]["pfs"][0]["link_state"] = "down"
    _view, page = render(hosts, generated="<b>now</b>")
    assert HOSTILE not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&#34;&#39;&amp;{{7*7}}" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "net&#34;&gt;&lt;b&gt;x&lt;/b&gt;" in page
    assert page.count("<script") == 1
    assert_self_contained(page)


def test_problems_derived_from_the_facts():
    base = fleet_facts.fleet(1)[0]
    host = copy.deepcopy(base)
    pfs = host["sriov"]["pfs"]
    pfs[0]["link_state"] = "down"  # enp1s0 holds the pool
    user = {"domain": "other", "uuid": "u", "running": False, "config": "persistent", "via": "hostdev"}
    pfs[0]["vfs"][2]["used_by"] = [user]  # pool VF also assigned directly
    pfs[1]["vfs"][1]["used_by"].append(dict(user, domain="second"))  # two domains on one VF
    pfs[0]["udev_rule"], pfs[0]["other_owners"] = None, []
    pfs[1]["udev_rule"] = dict(RULE, num_vfs=4)  # 7 VFs exist
    pfs[1]["other_owners"] = ["udev rule /etc/udev/rules.d/99-other.rules:1 also sets sriov_numvfs for this PF"]
    host["sriov"]["missing_vf_users"] = [
        {"kind": "domain", "name": "ghost", "pci_address": "0000:01:10.6", "pf": "0000:01:00.0",
         "config": "persistent", "active": False},
        {"kind": "network", "name": "gone", "pci_address": None, "pf": "enp9s0", "config": "persistent",
         "active": False},
        {"domain": "old-shape", "pci_address": "0000:01:11.0", "config": "persistent"},
    ]
    view = sriov_report_view([host])
    kinds = [(p["severity"], p["kind"]) for p in view["problems"]]
    assert kinds[:6] and all(sev == "error" for sev, _k in kinds[:6])
    assert sorted(kinds) == sorted([
        ("error", "pool whose PF is down"),
        ("error", "VF shared by two definitions"),
        ("error", "VF shared by two definitions"),
        ("error", "guest on a VF that no longer exists"),
        ("error", "guest on a VF that no longer exists"),
        ("error", "pool network on a VF that no longer exists"),
        ("warning", "VF count not persistent"),
        ("warning", "VF count owned by others too"),
        ("warning", "persisted VF count differs"),
    ])
    by_kind = dict((p["kind"], p) for p in view["problems"])
    down = by_kind["pool whose PF is down"]
    assert "network passthrough" in down["text"] and "link_up=true" in down["remediation"]
    assert by_kind["VF count not persistent"]["subject"] == "PF enp1s0 (0000:01:00.0)"
    assert "4 VFs exist now but no udev rule" in by_kind["VF count not persistent"]["text"]
    assert "persist=true" in by_kind["VF count not persistent"]["remediation"]
    owners = by_kind["VF count owned by others too"]
    assert owners["text"] == ("Its udev rule sets 4 VFs, and the count is owned by udev rule "
                              "/etc/udev/rules.d/99-other.rules:1 also sets sriov_numvfs for this PF too.")
    assert "Keep one owner" in owners["remediation"]
    assert "sets 4 VFs at boot; 7 exist now" in by_kind["persisted VF count differs"]["text"]
    missing = [p for p in view["problems"] if "no longer exists" in p["kind"]]
    assert [(p["subject"], p["text"]) for p in missing] == [
        ("domain ghost", "Its persistent definition uses 0000:01:10.6, which is not a VF of this host "
                         "(VF slot of PF 0000:01:00.0, which has fewer VFs now)."),
        ("network gone", "Its persistent definition takes its VFs from PF enp9s0, which is not a network "
                         "interface of this host."),
        ("domain old-shape", "Its persistent definition uses 0000:01:11.0, which is not a VF of this host."),
    ]
    assert "virt.sriov.sriov_vfs" in missing[0]["remediation"] and "state=absent" in missing[1]["remediation"]
    page = sriov_report_html(view)
    assert "no udev rule" in page and "other owner: udev rule /etc/udev/rules.d/99-other.rules:1" in page
    assert '<span title="/etc/udev/rules.d/82-virt-sriov-numvfs-0000:02:00.0.rules" class="warning">udev rule: 4 VFs, link up</span>' in page
    for problem in view["problems"]:
        assert problem["remediation"] and problem["remediation"] in page.replace("&#39;", "'"), problem


RULE = {"path": "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:02:00.0.rules", "match": "pci_address",
        "num_vfs": 7, "link_up": True, "drivers_autoprobe": None}


def test_persistence_not_reported_by_an_older_sriov_info():
    host = fleet_facts.fleet(1)[0]
    for pf in host["sriov"]["pfs"]:
        del pf["udev_rule"], pf["other_owners"]
    view, page = render([host])
    assert view["problems"] == []
    assert page.count("not reported") == 2 and "udev rule" not in page


def numa_host(cpus="0-1", memory_nodes=None, node=1, local="2-3"):
    host = fleet_facts.fleet(1)[0]
    pf = host["sriov"]["pfs"][1]  # enp2s0, VF 1 given to guestVM (live and persistent definitions)
    pf["numa_node"], pf["local_cpulist"] = node, local
    for user in pf["vfs"][1]["used_by"]:
        user["cpus"], user["memory_nodes"] = cpus, memory_nodes
    return host


@pytest.mark.parametrize("kwargs, text", [
    ({}, "Guest guest-000 uses this VF of a PF on NUMA node 1, but its vCPUs are pinned to CPUs 0-1 "
         "(0-1 off the PF's local CPUs 2-3)."),
    ({"cpus": "1-3"}, "but its vCPUs are pinned to CPUs 1-3 (1 off the PF's local CPUs 2-3)."),
    ({"cpus": None, "memory_nodes": "0"}, "but its memory is bound to NUMA node 0."),
    ({"cpus": "8", "memory_nodes": "0", "local": "8-15"}, "but its memory is bound to NUMA node 0."),
    ({"cpus": "0", "memory_nodes": "0"}, "pinned to CPUs 0 (0 off the PF's local CPUs 2-3) and its memory is bound to NUMA node 0."),
])
def test_cross_numa_assignment(kwargs, text):
    view, page = render([numa_host(**kwargs)])
    problems = [p for p in view["problems"] if p["kind"] == "cross-NUMA assignment"]
    assert len(problems) == 1, view["problems"]  # one per guest, not per definition
    assert problems[0]["subject"] == "VF 1 of enp2s0 (0000:02:10.2)"
    assert problems[0]["text"].endswith(text), problems[0]["text"]
    assert problems[0]["remediation"] == sriov_report.NUMA_REMEDIATION
    assert "cross-NUMA assignment" in page


@pytest.mark.parametrize("kwargs", [
    {"cpus": "2-3", "memory_nodes": "1"},  # pinned next to the PF
    {"cpus": None, "memory_nodes": None},  # not pinned: the report cannot tell
    {"node": None},  # no NUMA topology (the lab): numa_node null
    {"memory_nodes": "0-1", "cpus": "2"},  # memory may be on the PF's node
])
def test_no_cross_numa_problem(kwargs):
    view, _page = render([numa_host(**kwargs)])
    assert [p for p in view["problems"] if p["kind"] == "cross-NUMA assignment"] == []


def with_stats(host, drops):
    """Give every VF counters; ``drops`` {VF address: (rx_dropped, tx_dropped)} (others 0)."""
    for pf in host["sriov"]["pfs"]:
        for vf in pf["vfs"]:
            rx, tx = drops.get(vf["pci_address"], (0, 0))
            vf["stats"] = {"rx_packets": 100, "rx_bytes": 6400, "rx_dropped": rx,
                           "tx_packets": 50, "tx_bytes": 3200, "tx_dropped": tx}
    return host


def test_rising_drop_counters_against_the_previous_report():
    first = sriov_report_view([with_stats(fleet_facts.fleet(1)[0], {"0000:02:10.2": (10, 0), "0000:01:10.0": (5, 5)})],
                              generated="2026-01-01 10:00 UTC")
    assert first["previous"] is None and first["problems"] == []
    counters = first["counters"]
    assert counters["generated"] == "2026-01-01 10:00 UTC"
    assert counters["vfs"]["hv000.example.com"]["0000:02:10.2"] == {"rx_dropped": 10, "tx_dropped": 0}
    assert len(counters["vfs"]["hv000.example.com"]) == 11
    # what the playbook does: the JSON file written next to the page, read back next time
    previous = json.loads(json.dumps(counters))
    now = with_stats(fleet_facts.fleet(1)[0], {"0000:02:10.2": (250, 3), "0000:01:10.0": (1, 0)})
    view = sriov_report_view([now], generated="2026-01-02 10:00 UTC", previous=previous)
    assert [(p["severity"], p["kind"], p["subject"], p["text"]) for p in view["problems"]] == [
        ("warning", "drop counters rising", "VF 1 of enp2s0 (0000:02:10.2)",
         "Since the previous report: rx_dropped 10 -> 250 (+240), tx_dropped 0 -> 3 (+3).")]
    # 0000:01:10.0 went down (counters reset by a reboot or new VFs): not compared
    page = sriov_report_html(view)
    assert "compared with the report of 2026-01-01 10:00 UTC" in page
    assert sriov_report.DROPS_REMEDIATION in page.replace("&#39;", "'")
    # a host or VF the previous report did not have, and results without stats, are not compared
    other = fleet_facts.fleet(1)[0]
    other["name"] = "new-host"
    assert sriov_report_view([with_stats(other, {"0000:02:10.2": (999, 0)})], previous=previous)["problems"] == []
    no_stats = fleet_facts.fleet(1)
    for pf in no_stats[0]["sriov"]["pfs"]:
        for vf in pf["vfs"]:
            del vf["stats"]  # sriov_info without stats: true
    view = sriov_report_view(no_stats, previous=previous)
    assert view["counters"]["vfs"] == {} and view["problems"] == []


@pytest.mark.parametrize("previous", ["x", ["a"], {"generated": "t"}, {"vfs": []}])
def test_bad_previous_report_is_a_clear_error(previous):
    with pytest.raises(AnsibleFilterError, match="previous must be the 'counters' of an earlier report"):
        sriov_report_view(fleet_facts.fleet(1), previous=previous)


def test_libvirt_not_asked_and_missing_fields():
    host = fleet_facts.fleet(1)[0]
    host["sriov"]["libvirt_connected"] = False
    host["sriov"]["warnings"] = ["The libvirt Python bindings (libvirt-python, package python3-libvirt) are not installed"]
    for pf in host["sriov"]["pfs"]:
        for key in ("link_state", "tested_driver", "vendor_name", "mac"):
            pf.pop(key)
        for vf in pf["vfs"]:
            vf["used_by"] = None
            vf["networks"] = None
    view, page = render([host])
    assert view["summary"]["unknown"] == 11 and view["summary"]["used"] == 0
    assert [p["kind"] for p in view["problems"]] == ["VF users unknown"]
    assert "libvirt-python" in view["problems"][0]["text"]
    assert "unknown" in page


def test_host_without_pfs_and_not_reached():
    hosts = [{"name": "empty", "iommu": fleet_facts.recorded()["iommu"], "sriov": {"pfs": [], "libvirt_connected": True}},
             {"name": "gone", "iommu": {}, "sriov": {}},
             {"name": "broken", "iommu": {"failed": True, "msg": "boom"}, "sriov": {"failed": True, "msg": "bang"}}]
    view, page = render(hosts)
    assert [(f["host"], f["reason"]) for f in view["failed"]] == [
        ("gone", "iommu_info: not reached; sriov_info: not reached"),
        ("broken", "iommu_info failed: boom; sriov_info failed: bang")]
    assert "No SR-IOV PF." in page


@pytest.mark.parametrize("vf, state", [
    ({"used_by": None}, "unknown"),
    ({"used_by": [{"domain": "g", "via": "network:p"}], "networks": ["p"]}, "pool"),
    ({"used_by": [{"domain": "g", "via": "hostdev"}], "driver": "vfio-pci"}, "hostdev"),
    ({"used_by": [], "driver": "vfio-pci", "networks": []}, "vfio"),
    ({"used_by": [], "driver": "igbvf", "networks": []}, "host"),
    ({"used_by": [], "driver": "igbvf", "networks": ["p"]}, "free"),
    ({"used_by": [], "driver": None, "networks": []}, "free"),
])
def test_vf_state(vf, state):
    assert vf_state(vf) == state


@pytest.mark.parametrize("value", [None, "x", [1], {"hosts": 1}])
def test_bad_input_is_a_clear_error(value):
    with pytest.raises(AnsibleFilterError):
        if isinstance(value, dict):
            sriov_report_html(value if "summary" in value else "nope")
        else:
            sriov_report_view(value)
