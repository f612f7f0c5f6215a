# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _libvirt_interface and _mac with small libvirt fakes.

libvirt's test driver cannot attach devices, so FakeDomain keeps a persistent and a live XML tree
and does what the QEMU driver was seen doing in the lab: attach adds the element (with a guest
address, and an alias live), detach removes it from the config at once and from the live XML
only when the guest cooperates (``releases=False`` models the OS-less lab guest).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt_interface as li
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._mac import derive_mac, normalize_mac
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import (
    Clock,
    FakeConn,
    FakeDomain,
    FakeNetwork,
    guest_xml,
    set_pf_up,
)

UUID = "5a1c0f2e-6b7d-4e8a-9c3b-2d4f6a8b0c1e"
OTHER_UUID = "11111111-2222-3333-4444-555555555555"
PF = "0000:01:00.0"
VF1 = "0000:01:10.2"

POOL = """<network><name>passthrough</name><forward mode='hostdev' managed='yes'><pf dev='enp1s0'/>{addresses}
</forward>{vlan}</network>"""


def request(**params):
    params.setdefault("domain", "guestVM")
    return li.parse_request(params)


@pytest.fixture
def lab(fake):
    """The lab's shape: PF enp1s0 (up) with 4 VFs, guestVM running with 6 spare root ports."""
    fake.add_pf(PF, "enp1s0", numvfs=4)
    set_pf_up(fake, True)
    dom = FakeDomain(guest_xml(), fake=fake)
    conn = FakeConn([dom])
    return fake, conn, dom


def run(conn, fake, req, check_mode=False, releases_after=None):
    clock = Clock()
    return li.ensure_interface(conn, fake.host(), req, check_mode=check_mode, clock=clock, sleep=clock.sleep)


def strip_interfaces(xml):
    root = ET.fromstring(xml)
    devices = root.find("devices")
    for iface in devices.findall("interface"):
        devices.remove(iface)
    return ET.tostring(root, encoding="unicode")


# -- MAC ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("52:54:00:6D:90:02", "52:54:00:6d:90:02"),
    ("52-54-00-6d-90-02", "52:54:00:6d:90:02"),
    ("5254006d9002", "52:54:00:6d:90:02"),
    (" 02:00:00:00:00:01 ", "02:00:00:00:00:01"),
])
def test_normalize_mac(value, expected):
    assert normalize_mac(value) == expected


@pytest.mark.parametrize("value, words", [
    ("01:00:5e:00:00:01", "multicast"),
    ("ff:ff:ff:ff:ff:ff", "multicast"),
    ("00:00:00:00:00:00", "all-zero"),
    ("52:54:00:6d:90", "six hexadecimal"),
    ("52:54:00-6d:90:02", "six hexadecimal"),
    (42, "six hexadecimal"),
])
def test_invalid_mac(value, words):
    with pytest.raises(SriovError, match=words):
        normalize_mac(value)


def test_derived_mac_is_stable_locally_administered_unicast():
    first = derive_mac(UUID, VF1)
    assert first == derive_mac(UUID.upper(), VF1)
    assert first != derive_mac(UUID, "0000:01:10.4")
    assert first != derive_mac(OTHER_UUID, VF1)
    assert re.match(r"^02(:[0-9a-f]{2}){5}$", first)
    octet = int(first[:2], 16)
    assert octet & 0x02 and not octet & 0x01


# -- input ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "0000:01:10.2", "01:10.2", "pci_0000_01_10_2",
    {"domain": "0x0000", "bus": "0x01", "slot": "0x10", "function": "0x2"},
    {"domain": 0, "bus": 1, "slot": 16, "function": 2},
    {"bus": "1", "slot": "16", "function": "2"},
])
def test_pci_address_forms(value):
    assert str(request(pci_address=value)["pci_address"]) == VF1


@pytest.mark.parametrize("params, words", [
    ({"pci_address": "0000:01:10.2", "vlan": 42, "virtualport": {"type": "802.1Qbh", "profileid": "p"}},
     "libvirt refuses to start a guest"),
    ({"pci_address": "0000:01:10.2", "vlan": 4096}, "0 to 4095"),
    ({"pci_address": "0000:01:10.2", "vlan": True}, "0 to 4095"),
    ({"pci_address": {"bus": 1, "slot": 16}}, "missing: function"),
    ({"pci_address": {"bus": 1, "slot": 16, "function": 2, "port": 1}}, "unknown: port"),
    ({"pci_address": "01:10.9"}, "Invalid PCI address"),
    ({"pci_address": "0000:01:10.2", "network": "passthrough"}, "Exactly one way"),
    ({}, "Exactly one way"),
    ({"pf": "enp1s0"}, "go together"),
    ({"network": "a b"}, "Invalid network name"),
    ({"pci_address": VF1, "virtualport": {"type": "802.1Qbg", "profileid": "x"}}, "supports only 802.1Qbh"),
    ({"pci_address": VF1, "virtualport": {"type": "802.1Qbh", "profileid": "x" * 40}}, "1-39 printable"),
    ({"pci_address": VF1, "mac": "01:00:00:00:00:01"}, "multicast"),
    ({"pci_address": VF1, "restart_if_needed": True, "scope": "live"}, "scope=live"),
])
def test_bad_input_is_refused(params, words):
    with pytest.raises(SriovError, match=words):
        request(**params)


def test_vlan_and_virtualport_message_names_the_guide():
    with pytest.raises(SriovError) as err:
        request(pci_address=VF1, vlan=42, virtualport={"type": "802.1Qbh", "profileid": "finance"})
    assert "guide's example shows both" in err.value.msg


# -- attach ---------------------------------------------------------------------------------------

def test_attach_live_and_config_then_idempotent(lab):
    fake, conn, dom = lab
    before = strip_interfaces(dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE))
    req = request(pci_address=VF1, mac="52:54:00:6D:90:02", vlan=42)
    result = run(conn, fake, req)
    assert result["changed"] and result["actions"] == {"live": "attach", "config": "attach"}
    assert [c[:2] for c in dom.calls] == [("attach", 3)]
    sent = ET.fromstring(dom.calls[0][2])
    assert sent.get("type") == "hostdev" and sent.get("managed") == "yes"
    assert sent.find("driver").get("name") == "vfio"
    assert sent.find("source/address").attrib == {
        "type": "pci", "domain": "0x0000", "bus": "0x01", "slot": "0x10", "function": "0x2"}
    assert sent.find("vlan/tag").get("id") == "42"
    assert result["interface"]["mac"] == "52:54:00:6d:90:02" and result["interface"]["scope"] == "live"
    assert result["interface"]["vlan"] == 42 and result["interface"]["pci_address"] == VF1
    assert "<alias" in result["interface"]["xml"]
    # nothing but the interface changed in the persistent definition
    assert strip_interfaces(dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE)) == before
    again = run(conn, fake, req)
    assert not again["changed"] and again["actions"] == {"live": "none", "config": "none"}
    assert len(dom.calls) == 1
    assert again["diff"]["before"] == again["diff"]["after"]


def test_pf_and_vf_index_give_the_same_interface_and_mac(lab):
    fake, conn, dom = lab
    first = run(conn, fake, request(pf="enp1s0", vf=1))
    assert first["vf"] == VF1 and first["mac_source"] == "derived"
    assert first["mac"] == derive_mac(UUID, VF1)
    second = run(conn, fake, request(pci_address=VF1))
    assert not second["changed"]
    third = run(conn, fake, request(pf=PF, vf=1))
    assert not third["changed"]


def test_pf_without_that_vf(lab):
    fake, conn, _dom = lab
    with pytest.raises(SriovError, match="has no VF 6: it has VFs 0-3"):
        run(conn, fake, request(pf="enp1s0", vf=6))


def test_check_mode_changes_nothing_and_predicts(lab):
    fake, conn, dom = lab
    before = (dom.XMLDesc(0), dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE))
    result = run(conn, fake, request(pci_address=VF1, vlan=42), check_mode=True)
    assert result["changed"] and result["actions"] == {"live": "attach", "config": "attach"}
    assert dom.calls == []
    assert (dom.XMLDesc(0), dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE)) == before
    assert result["interface"]["vlan"] == 42
    assert "<!-- absent -->" in result["diff"]["before"] and "tag id=\"42\"" in result["diff"]["after"]


def test_stopped_domain_gets_config_only(fake):
    fake.add_pf(PF, "enp1s0", numvfs=4)
    set_pf_up(fake, True)
    dom = FakeDomain(guest_xml(), active=False, fake=fake)
    conn = FakeConn([dom])
    result = run(conn, fake, request(pci_address=VF1))
    assert result["scopes"] == ["config"] and [c[:2] for c in dom.calls] == [("attach", 2)]
    assert result["interface"]["scope"] == "config"
    with pytest.raises(SriovError, match="not running: scope=live"):
        run(conn, fake, request(pci_address=VF1, scope="live"))


def test_transient_domain_gets_live_only(lab):
    fake, conn, dom = lab
    dom.persistent = False
    result = run(conn, fake, request(pci_address=VF1))
    assert result["scopes"] == ["live"] and [c[:2] for c in dom.calls] == [("attach", 1)]
    with pytest.raises(SriovError, match="transient"):
        run(conn, fake, request(pci_address=VF1, scope="config"))


def test_scope_config_on_running_domain(lab):
    fake, conn, dom = lab
    result = run(conn, fake, request(pci_address=VF1, scope="config"))
    assert result["actions"] == {"config": "attach"} and [c[:2] for c in dom.calls] == [("attach", 2)]
    # a later auto run hotplugs only the live part
    result = run(conn, fake, request(pci_address=VF1))
    assert result["actions"] == {"live": "attach", "config": "none"}
    assert [c[:2] for c in dom.calls][-1] == ("attach", 1)


def test_domain_by_uuid_and_unknown_domain(lab):
    fake, conn, _dom = lab
    assert run(conn, fake, request(domain=UUID, pci_address=VF1))["domain"] == "guestVM"
    with pytest.raises(SriovError, match="Domain 'nope' does not exist. Defined domains: guestVM"):
        run(conn, fake, request(domain="nope", pci_address=VF1))


# -- replace and detach ---------------------------------------------------------------------------

def test_different_vlan_replaces_and_diff_shows_it(lab):
    fake, conn, dom = lab
    run(conn, fake, request(pci_address=VF1, mac="52:54:00:6d:90:02", vlan=42))
    result = run(conn, fake, request(pci_address=VF1, mac="52:54:00:6d:90:02", vlan=43))
    assert result["actions"] == {"live": "replace", "config": "replace"}
    assert [c[:2] for c in dom.calls[1:]] == [("detach", 2), ("attach", 2), ("detach", 1), ("attach", 1)]
    assert 'id="42"' in result["diff"]["before"] and 'id="43"' in result["diff"]["after"]
    assert result["interface"]["vlan"] == 43
    live_tags = [t.get("id") for t in ET.fromstring(dom.XMLDesc(0)).iter("tag")]
    assert live_tags == ["43"]


def test_omitted_vlan_removes_an_existing_one(lab):
    fake, conn, _dom = lab
    run(conn, fake, request(pci_address=VF1, vlan=42))
    result = run(conn, fake, request(pci_address=VF1))
    assert result["actions"] == {"live": "replace", "config": "replace"} and result["interface"]["vlan"] is None


def test_detach_waits_until_released(lab):
    fake, conn, dom = lab
    run(conn, fake, request(pci_address=VF1))
    assert fake.host().link_name("/sys/bus/pci/devices", VF1, "driver") == "vfio-pci"
    result = run(conn, fake, request(pci_address=VF1, state="absent"))
    assert result["changed"] and result["actions"] == {"live": "detach", "config": "detach"}
    assert result["interface"] is None
    assert "<interface" not in dom.XMLDesc(0) and "<interface" not in dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE)
    assert fake.host().link_name("/sys/bus/pci/devices", VF1, "driver") == "igbvf"
    assert not run(conn, fake, request(pci_address=VF1, state="absent"))["changed"]


def test_detach_from_guest_without_os_is_bounded_and_explained(lab):
    fake, conn, dom = lab
    run(conn, fake, request(pci_address=VF1))
    dom.releases = False
    with pytest.raises(SriovError) as err:
        run(conn, fake, request(pci_address=VF1, state="absent", timeout=5))
    assert "did not release VF 0000:01:10.2 within 5 s" in err.value.msg
    assert "pciehp" in err.value.msg and "persistent definition was already changed" in err.value.msg
    assert err.value.details["changed"] is True
    assert "<interface" not in dom.XMLDesc(li.VIR_DOMAIN_XML_INACTIVE)


# -- safety -------------------------------------------------------------------------------------------

def test_vf_of_another_guest_is_refused(lab):
    fake, conn, dom = lab
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    conn.domains.append(other)
    run(conn, fake, request(domain="otherVM", pci_address=VF1))
    with pytest.raises(SriovError, match=r"already used by domain otherVM \(shut off, persistent definition\)"):
        run(conn, fake, request(pci_address=VF1))
    assert dom.calls == []


def test_shared_iommu_group_is_refused(lab):
    fake, conn, dom = lab
    # put VF 2 into VF 1's IOMMU group and give it to another guest
    group = fake.host().link_name("/sys/bus/pci/devices", VF1, "iommu_group")
    fake._link("sys/kernel/iommu_groups/%s/devices/0000:01:10.4" % group, "sys/devices/pci0000:00/0000:01:10.4")
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    conn.domains.append(other)
    run(conn, fake, request(domain="otherVM", pci_address="0000:01:10.4"))
    with pytest.raises(SriovError, match="shares IOMMU group %s with 0000:01:10.4, which is used by domain otherVM"
                       % group):
        run(conn, fake, request(pci_address=VF1))


def test_pf_is_refused(lab):
    fake, conn, _dom = lab
    with pytest.raises(SriovError, match="is an SR-IOV PF, not a VF.*0000:01:10.0"):
        run(conn, fake, request(pci_address=PF))


def test_plain_nic_is_refused(lab):
    fake, conn, _dom = lab
    fake.add_nic("0000:05:00.0", "eno1")
    with pytest.raises(SriovError, match="not an SR-IOV VF"):
        run(conn, fake, request(pci_address="0000:05:00.0"))
    with pytest.raises(SriovError, match="does not exist"):
        run(conn, fake, request(pci_address="0000:09:00.0"))


def test_pf_down_refuses_live_and_warns_for_config(lab):
    fake, conn, dom = lab
    set_pf_up(fake, False)
    with pytest.raises(SriovError, match=r"PF enp1s0 \(0000:01:00.0\) is down.*ip link set enp1s0 up"):
        run(conn, fake, request(pci_address=VF1))
    assert dom.calls == []
    result = run(conn, fake, request(pci_address=VF1, scope="config"))
    assert result["changed"] and "is down" in result["warnings"][0]


def test_no_free_pcie_slot_is_refused_with_the_fix(fake):
    fake.add_pf(PF, "enp1s0", numvfs=4)
    dom = FakeDomain(guest_xml(ports=0), fake=fake)
    conn = FakeConn([dom])
    with pytest.raises(SriovError, match="no free PCIe slot.*add spare pcie-root-port"):
        run(conn, fake, request(pci_address=VF1))
    assert dom.calls == []


def test_libvirt_error_is_explained(lab):
    fake, conn, dom = lab
    dom.fail_attach = "internal error: Unable to configure VF 1 of PF 'enp1s0' because the PF is not online."
    with pytest.raises(SriovError) as err:
        run(conn, fake, request(pci_address=VF1))
    assert "Attaching VF 0000:01:10.2 (live and persistent) on domain guestVM failed" in err.value.msg
    assert "not online" in err.value.details["libvirt_error"]


def test_mac_used_by_another_interface(lab):
    fake, conn, _dom = lab
    run(conn, fake, request(pci_address=VF1, mac="02:00:00:00:00:05"))
    with pytest.raises(SriovError, match="MAC address 02:00:00:00:00:05 is already used"):
        run(conn, fake, request(pci_address="0000:01:10.4", mac="02:00:00:00:00:05"))


# -- network form ---------------------------------------------------------------------------------

def pool_network(active=True, vlan=""):
    addresses = "".join("<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x%d'/>" % f
                        for f in (0, 2, 4, 6))
    return FakeNetwork(POOL.format(addresses=addresses if active else "", vlan=vlan), active=active)


def test_network_interface_config_then_live(fake):
    fake.add_pf(PF, "enp1s0", numvfs=4)
    set_pf_up(fake, True)
    dom = FakeDomain(guest_xml(), active=False, fake=fake, pool=("passthrough", ["0000:01:10.0"]))
    conn = FakeConn([dom], [pool_network()])
    req = request(network="passthrough", vlan=7)
    result = run(conn, fake, req)
    assert result["actions"] == {"config": "attach"} and result["vf"] is None
    assert result["mac"] == derive_mac(UUID, "network:passthrough:0")
    sent = ET.fromstring(dom.calls[0][2])
    assert sent.get("type") == "network" and sent.find("source").get("network") == "passthrough"
    dom.create()  # the guest starts: libvirt gives it a VF of the pool, shown as type hostdev live
    live = ET.fromstring(dom.XMLDesc(0)).find("devices/interface")
    assert live.get("type") == "hostdev"
    again = run(conn, fake, req)
    assert not again["changed"], again["actions"]
    assert again["interface"]["pci_address"] == "0000:01:10.0"
    # the VF it got is now taken: asking for it directly for another guest is refused
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    conn.domains.append(other)
    with pytest.raises(SriovError, match="already used by domain guestVM"):
        run(conn, fake, request(domain="otherVM", pci_address="0000:01:10.0"))


def test_network_must_be_a_hostdev_network(lab):
    fake, conn, _dom = lab
    conn.networks.append(FakeNetwork("<network><name>default</name><forward mode='nat'/></network>"))
    with pytest.raises(SriovError, match="'default' is not a hostdev pool network"):
        run(conn, fake, request(network="default"))
    with pytest.raises(SriovError, match="'nope' does not exist"):
        run(conn, fake, request(network="nope"))


def test_inactive_network_refused_live(lab):
    fake, conn, _dom = lab
    conn.networks.append(pool_network(active=False))
    with pytest.raises(SriovError, match="not active"):
        run(conn, fake, request(network="passthrough"))


# -- offline flow (procedure 17.9) --------------------------------------------------------------

def test_restart_if_needed(lab):
    fake, conn, dom = lab
    req = request(pci_address=VF1, restart_if_needed=True)
    check = run(conn, fake, req, check_mode=True)
    assert check["changed"] and check["restarted"] and dom.calls == []
    result = run(conn, fake, req)
    assert result["restarted"] and [c[0] for c in dom.calls] == ["attach", "shutdown", "create"]
    assert dom.calls[0][1] == li.VIR_DOMAIN_AFFECT_CONFIG
    assert result["interface"]["scope"] == "live"
    again = run(conn, fake, req)
    assert not again["changed"] and not again["restarted"]


def test_restart_if_needed_picks_up_pending_config_change(lab):
    fake, conn, dom = lab
    run(conn, fake, request(pci_address=VF1, scope="config"))
    result = run(conn, fake, request(pci_address=VF1, restart_if_needed=True))
    assert result["actions"] == {"config": "none"} and result["restarted"] and result["changed"]


def test_restart_if_needed_never_forces_the_guest_off(lab):
    fake, conn, dom = lab
    dom.shuts_down = False
    with pytest.raises(SriovError, match="did not shut down within 10 s"):
        run(conn, fake, request(pci_address=VF1, restart_if_needed=True, shutdown_timeout=10))
    assert dom.isActive() and "create" not in [c[0] for c in dom.calls]


def test_restart_if_needed_refuses_transient(lab):
    fake, conn, dom = lab
    dom.persistent = False
    with pytest.raises(SriovError, match="transient"):
        run(conn, fake, request(pci_address=VF1, restart_if_needed=True))


# -- every interface of every guest in one run -----------------------------------------------

COMMON = {"timeout": 30, "restart_if_needed": False, "shutdown_timeout": 120}
VF2 = "0000:01:10.4"


def run_all(conn, fake, groups, check_mode=False, planned_vfs=None, planned_networks=None, **common):
    clock = Clock()
    options = dict(COMMON, **common)
    return li.ensure_interfaces(conn, fake.host(), groups, options, check_mode=check_mode,
                                planned_vfs=planned_vfs, clock=clock, sleep=clock.sleep,
                                planned_networks=planned_networks)


def test_all_guests_in_one_run_four_steps(lab):
    fake, conn, dom = lab
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    conn.domains.append(other)
    groups = [{"domain": "guestVM", "interfaces": [{"pci_address": VF1, "vlan": 42}]},
              {"domain": "otherVM", "interfaces": [{"pf": "enp1s0", "vf": 2}]}]
    first = run_all(conn, fake, groups, check_mode=True)
    assert first["changed"] and [r["actions"] for r in first["interfaces"]] == [
        {"live": "attach", "config": "attach"}, {"config": "attach"}]
    assert dom.calls == [] and other.calls == [] and len(first["diff"]) == 2
    second = run_all(conn, fake, groups)
    assert [r["actions"] for r in second["interfaces"]] == [r["actions"] for r in first["interfaces"]]
    assert second["interfaces"][1]["vf"] == VF2 and second["interfaces"][0]["interface"]["vlan"] == 42
    assert not run_all(conn, fake, groups, check_mode=True)["changed"]
    assert not run_all(conn, fake, groups)["changed"]


def test_a_vf_named_twice_is_refused_before_anything_changes(lab):
    fake, conn, dom = lab
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    conn.domains.append(other)
    groups = [{"domain": "guestVM", "interfaces": [{"pci_address": VF1}]},
              {"domain": "otherVM", "interfaces": [{"pf": "enp1s0", "vf": 1}]}]
    with pytest.raises(SriovError) as err:
        run_all(conn, fake, groups)
    assert "VF 0000:01:10.2 (guestVM, otherVM)" in err.value.msg
    assert dom.calls == [] and other.calls == []


def test_bad_entry_fails_before_anything_changes(lab):
    fake, conn, dom = lab
    groups = [{"domain": "guestVM", "interfaces": [{"pci_address": VF1}, {"pci_address": VF2, "mac": "01:00:5e:00:00:01"}]}]
    with pytest.raises(SriovError, match="multicast"):
        run_all(conn, fake, groups)
    assert dom.calls == []


def test_offline_flow_restarts_each_guest_once(lab):
    fake, conn, dom = lab
    groups = [{"domain": "guestVM", "interfaces": [{"pci_address": VF1}, {"pci_address": VF2}]}]
    check = run_all(conn, fake, groups, check_mode=True, restart_if_needed=True)
    assert check["restarted"] == ["guestVM"] and dom.calls == []
    assert [r["actions"] for r in check["interfaces"]] == [{"config": "attach"}] * 2
    result = run_all(conn, fake, groups, restart_if_needed=True)
    assert result["restarted"] == ["guestVM"] and all(r["restarted"] for r in result["interfaces"])
    assert [c[0] for c in dom.calls] == ["attach", "attach", "shutdown", "create"]
    assert [c[1] for c in dom.calls[:2]] == [li.VIR_DOMAIN_AFFECT_CONFIG] * 2
    again = run_all(conn, fake, groups, restart_if_needed=True)
    assert not again["changed"] and again["restarted"] == []


def test_check_mode_with_planned_vfs_predicts_for_a_pf_without_vfs(fake):
    fake.add_pf(PF, "enp1s0", numvfs=0)
    set_pf_up(fake, True)
    dom = FakeDomain(guest_xml(), fake=fake)
    conn = FakeConn([dom])
    planned = {"enp1s0": ["0000:01:10.0", VF1]}
    for selector in ({"pci_address": VF1}, {"pf": "enp1s0", "vf": 1}):
        groups = [{"domain": "guestVM", "interfaces": [dict(selector, vlan=42)]}]
        check = run_all(conn, fake, groups, check_mode=True, planned_vfs=planned)
        assert check["changed"] and check["interfaces"][0]["vf"] == VF1
        assert check["interfaces"][0]["actions"] == {"live": "attach", "config": "attach"}
        assert dom.calls == []
        with pytest.raises(SriovError):  # without the plan, or in a real run, the VF must exist
            run_all(conn, fake, groups, check_mode=True)
        with pytest.raises(SriovError):
            run_all(conn, fake, groups, planned_vfs=planned)
    assert dom.calls == []


def test_check_mode_with_planned_vf_still_refuses_a_vf_of_another_guest(fake):
    fake.add_pf(PF, "enp1s0", numvfs=0)
    other = FakeDomain(guest_xml("otherVM", OTHER_UUID), active=False, fake=fake)
    other.attachDeviceFlags(li.to_text(li.build_element({
        "network": None, "vf": parse_pci_address(VF1), "mac": "02:00:00:00:00:01", "vlan": None,
        "virtualport": None})), li.VIR_DOMAIN_AFFECT_CONFIG)
    conn = FakeConn([FakeDomain(guest_xml(), fake=fake), other])
    groups = [{"domain": "guestVM", "interfaces": [{"pci_address": VF1}]}]
    with pytest.raises(SriovError, match="already used by domain otherVM"):
        run_all(conn, fake, groups, check_mode=True, planned_vfs={"enp1s0": [VF1]})


# -- check mode: a pool network the same run creates ------------------------------------------

PLANNED_POOL = [{"name": "passthrough", "changed": True, "actions": ["define", "start", "autostart"],
                 "network": {"exists": False, "name": "passthrough", "active": False}}]


def test_check_mode_with_planned_network_predicts_the_attach(lab):
    fake, conn, dom = lab
    groups = [{"domain": "guestVM", "interfaces": [{"network": "passthrough"}]}]
    check = run_all(conn, fake, groups, check_mode=True, planned_networks=PLANNED_POOL)
    assert check["changed"]
    assert set(check["interfaces"][0]["actions"].values()) == {"attach"}
    assert dom.calls == []
    with pytest.raises(SriovError, match="'passthrough' does not exist"):  # without the plan
        run_all(conn, fake, groups, check_mode=True)
    with pytest.raises(SriovError, match="'passthrough' does not exist"):  # a real run ignores the plan
        run_all(conn, fake, groups, planned_networks=PLANNED_POOL)
    assert dom.calls == []


def test_check_mode_planned_network_state_follows_the_pool_stage(lab):
    fake, conn, dom = lab
    conn.networks.append(pool_network(active=False))
    groups = [{"domain": "guestVM", "interfaces": [{"network": "passthrough", "scope": "live"}]}]
    with pytest.raises(SriovError, match="not active"):
        run_all(conn, fake, groups, check_mode=True)
    started = [{"name": "passthrough", "actions": ["start"], "network": {"exists": True, "active": False}}]
    check = run_all(conn, fake, groups, check_mode=True, planned_networks=started)
    assert check["interfaces"][0]["actions"] == {"live": "attach"}
    removed = [{"name": "passthrough", "actions": ["undefine"], "network": {"exists": True, "active": False}}]
    with pytest.raises(SriovError, match="removed by the pool network stage"):
        run_all(conn, fake, groups, check_mode=True, planned_networks=removed)
    assert dom.calls == []


def test_planned_network_reads_the_pool_result():
    assert li.planned_network(None, "x") is None
    assert li.planned_network([{"name": "y", "actions": ["define"]}], "x") is None
    entry = {"name": "x", "actions": ["stop", "define", "start"], "network": {"active": True, "autostart": True}}
    assert li.planned_network([entry], "x") == {"removed": False, "active": True, "autostart": True}
    entry = {"name": "x", "actions": ["stop", "no_autostart"], "network": {"active": True, "autostart": True}}
    assert li.planned_network([entry], "x") == {"removed": False, "active": False, "autostart": False}
    entry = {"name": "x", "actions": ["stop", "undefine"], "network": {"active": True}}
    assert li.planned_network([entry], "x")["removed"]
