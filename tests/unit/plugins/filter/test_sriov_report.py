# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report page (plugins/filter/sriov_report.py) from recorded lab facts of 1, 50 and
500 hosts: content, problems first, escaping, size bound, nothing fetched from outside."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

import pytest

from ansible.errors import AnsibleFilterError

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
    assert "not reported" in page  # persistence: sriov_info does not say today
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


def test_problems_derived_from_today_s_facts():
    base = fleet_facts.fleet(1)[0]
    host = copy.deepcopy(base)
    pfs = host["sriov"]["pfs"]
    pfs[0]["link_state"] = "down"  # enp1s0 holds the pool
    user = {"domain": "other", "uuid": "u", "running": False, "config": "persistent", "via": "hostdev"}
    pfs[0]["vfs"][2]["used_by"] = [user]  # pool VF also assigned directly
    pfs[1]["vfs"][1]["used_by"].append(dict(user, domain="second"))  # two domains on one VF
    pfs[1]["udev_rule"] = None  # a future sriov_info that reports persistence
    pfs[1]["other_owners"] = ["/etc/udev/rules.d/99-other.rules sets sriov_numvfs"]
    host["sriov"]["missing_vf_users"] = [{"domain": "ghost", "pci_address": "0000:01:10.6", "config": "persistent"}]
    view = sriov_report_view([host])
    kinds = [(p["severity"], p["kind"]) for p in view["problems"]]
    assert kinds[:4] and all(sev == "error" for sev, _k in kinds[:4])
    assert sorted(kinds) == sorted([
        ("error", "pool whose PF is down"),
        ("error", "VF shared by two definitions"),
        ("error", "VF shared by two definitions"),
        ("error", "guest on a VF that no longer exists"),
        ("warning", "VF count not persistent"),
        ("warning", "VF count has other owners"),
    ])
    down = [p for p in view["problems"] if p["kind"] == "pool whose PF is down"][0]
    assert "network passthrough" in down["text"] and "link_up=true" in down["remediation"]
    page = sriov_report_html(view)
    assert "no udev rule" in page and "other owner: /etc/udev/rules.d/99-other.rules" in page


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
