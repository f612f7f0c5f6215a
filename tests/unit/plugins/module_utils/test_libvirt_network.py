# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostdev pool networks: pure XML helpers, validation against a fake sysfs tree, and the
define/start/autostart/restart/remove paths against libvirt's own test driver (a private node
XML per test, so nothing is shared between tests). libvirt's test driver cannot run guests:
the in-use paths use small fakes that return the live XML libvirt 9.0 produced in the lab."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt_network as net
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import FakeConn, FakeDomain, FakeNetwork

libvirt = pytest.importorskip("libvirt")

PF = "0000:01:00.0"

# `virsh net-dumpxml` in the lab with guestVM running on the pool (libvirt 9.0, Debian 12).
LIVE_IN_USE = """<network connections='1'>
  <name>passthrough</name>
  <uuid>2865423b-a823-43ce-966c-4675ffa0313a</uuid>
  <forward mode='hostdev' managed='yes'>
    <driver name='vfio'/>
    <pf dev='enp1s0'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x2'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x4'/>
    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x6'/>
  </forward>
</network>"""

INACTIVE = """<network>
  <name>passthrough</name>
  <uuid>2865423b-a823-43ce-966c-4675ffa0313a</uuid>
  <forward mode='hostdev' managed='yes'>
    <driver name='vfio'/>
    <pf dev='enp1s0'/>
  </forward>
</network>"""

# guestVM's live XML in the lab: the network interface became a hostdev with the VF it got.
GUEST_LIVE = """<domain type='qemu'><name>guestVM</name><devices>
<interface type='hostdev' managed='yes'><mac address='52:54:00:94:6f:1f'/><driver name='vfio'/>
<source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/></source>
</interface></devices></domain>"""
GUEST_CONFIG = """<domain type='qemu'><name>guestVM</name><devices>
<interface type='network'><source network='passthrough'/></interface></devices></domain>"""


@pytest.fixture
def conn(tmp_path):
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n")
    connection = libvirt.open("test://%s" % node)
    yield connection
    connection.close()


@pytest.fixture
def host(fake):
    fake.add_pf(PF, "enp1s0", numvfs=4)
    fake.add_pf("0000:02:00.0", "enp2s0", numvfs=0)
    fake.add_nic("0000:03:00.0", "eno1")
    return fake.host()


def params(**kwargs):
    base = dict(name="passthrough", pf="enp1s0", vfs=None, managed=True, driver="vfio", vlan=None,
                state="active", autostart=None, force=False)
    base.update(kwargs)
    return base


# -- pure helpers --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["", "a/b", "-x", ".hidden", "has space", "x" * 65, "n\u00e9t", None, 5])
def test_invalid_names(name):
    with pytest.raises(SriovError) as err:
        net.validate_name(name)
    assert "Invalid network name" in err.value.msg


@pytest.mark.parametrize("name", ["passthrough", "pool_1", "vf-pool.42", "A+B"])
def test_valid_names(name):
    assert net.validate_name(name) == name


def test_canonical_ignores_uuid_defaults_spelling_and_expanded_vfs():
    live = net.canonical_network(LIVE_IN_USE)
    assert live == net.canonical_network(INACTIVE) == {
        "name": "passthrough", "forward_mode": "hostdev", "managed": True, "driver": "vfio",
        "pf": "enp1s0", "vfs": None, "vlan": None}
    implicit = "<network><name>p</name><forward mode='hostdev'><pf dev='enp1s0'/></forward></network>"
    assert net.canonical_network(implicit)["driver"] == "vfio"
    assert net.canonical_network(implicit)["managed"] is False
    decimal = ("<network><name>p</name><forward mode='hostdev' managed='yes'>"
               "<address type='pci' domain='0' bus='1' slot='16' function='2'/>"
               "<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>"
               "</forward><vlan><tag id='42'/></vlan></network>")
    canon = net.canonical_network(decimal)
    assert canon["vfs"] == ["0000:01:10.0", "0000:01:10.2"]
    assert canon["vlan"] == 42 and canon["pf"] is None


def test_connections_live_xml():
    assert net.connections_of(LIVE_IN_USE) == 1
    assert net.connections_of(INACTIVE) == 0
    assert net.connections_of("<network><name>x</name><forward mode='hostdev' connections='2'/></network>") == 2
    assert [str(a) for a in net.pool_addresses(LIVE_IN_USE)] == [
        "0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]


def test_build_xml_keeps_unrelated_elements_and_uuid():
    base = ("<network><name>passthrough</name><uuid>u-1</uuid><forward mode='nat'/><bridge name='virbr9'/>"
            "<portgroup name='pg'><vlan><tag id='7'/></vlan></portgroup><vlan><tag id='5'/></vlan></network>")
    desired = net.desired_canonical("passthrough", {"pf": "enp1s0", "vfs": None}, True, "vfio", 42)
    text = net.build_network_xml(desired, base_xml=base, uuid="u-1")
    canon = net.canonical_network(text)
    assert canon == desired
    assert "<portgroup name=\"pg\">" in text and "virbr9" not in text
    assert text.count("<uuid>u-1</uuid>") == 1
    assert text.index("<forward") < text.index("<portgroup")
    vfs = net.desired_canonical("p", {"pf": None, "vfs": [net.parse_pci_address("01:10.2")]}, False, "kvm", None)
    text = net.build_network_xml(vfs)
    assert "managed" not in text and "slot=\"0x10\"" in text and "function=\"0x2\"" in text
    assert net.canonical_network(text) == vfs


# -- validation against sysfs --------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, needle", [
    (dict(pf="enp9s9"), "'enp9s9' is not an SR-IOV capable PF"),
    (dict(pf="eno1"), "has no SR-IOV capability"),
    (dict(pf="enp1s0v1"), "is a virtual function of PF 0000:01:00.0"),
    (dict(pf="enp1s0,enp2s0"), "exactly one PF"),
    (dict(pf="bad/name"), "Invalid network interface name"),
    (dict(pf=None, vfs=["0000:01:00.0"]), "is a PF: a hostdev pool lists only VFs"),
    (dict(pf=None, vfs=["0000:03:00.0"]), "is not a virtual function"),
    (dict(pf=None, vfs=["0000:01:11.6"]), "does not exist on this host: create the VFs first"),
    (dict(pf=None, vfs=["zz"]), "Invalid PCI address 'zz'"),
    (dict(pf=None, vfs=[]), "non-empty list"),
    (dict(pf=None, vfs=None), "Exactly one of pf"),
    (dict(pf="enp2s0"), "No VFs on PF enp2s0 (0000:02:00.0): create them first"),
    (dict(vlan=4096), "Invalid vlan 4096"),
    (dict(driver="xen"), "Invalid driver 'xen'"),
    (dict(state="running"), "Invalid state 'running'"),
])
def test_bad_input_fails_before_libvirt(host, kwargs, needle):
    class Untouchable(object):
        def __getattr__(self, item):
            raise AssertionError("libvirt touched: %s" % item)

    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(Untouchable(), host, params(**kwargs))
    assert needle in err.value.msg


def test_pf_without_vfs_may_be_defined(host, conn):
    result = net.ensure_vf_pool_network(conn, host, params(pf="enp2s0", state="present"))
    assert result["actions"] == ["define"]
    assert result["network"]["active"] is False


def test_vfs_spellings_are_one_pool(host):
    pool = net.resolve_pool(host, vfs=["01:10.2", "pci_0000_01_10_0", "0000:01:10.2"])
    assert [str(a) for a in pool["vfs"]] == ["0000:01:10.0", "0000:01:10.2"]


# -- test driver: define, start, autostart, redefine, remove -------------------------------------

def test_active_four_steps(host, conn):
    wanted = params(autostart=True, vlan=42)
    check = net.ensure_vf_pool_network(conn, host, wanted, check_mode=True)
    assert check["changed"] and check["actions"] == ["define", "start", "autostart"]
    assert conn.listAllNetworks(0) == []
    assert check["diff"][1]["before_header"] == "network passthrough (absent)"
    assert "<pf dev=\"enp1s0\" />" in check["diff"][1]["after"]
    assert check["diff"][0] == {
        "before": {"active": False, "autostart": False, "vfs": []},
        "after": {"active": True, "autostart": True,
                  "vfs": ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]}}
    applied = net.ensure_vf_pool_network(conn, host, wanted)
    assert applied["changed"] and applied["actions"] == check["actions"]
    network = applied["network"]
    assert network["active"] and network["autostart"] and network["persistent"]
    assert network["pf"] == "enp1s0" and network["vlan"] == 42 and network["connections"] == 0
    for check_mode in (True, False):
        again = net.ensure_vf_pool_network(conn, host, wanted, check_mode=check_mode)
        assert not again["changed"] and again["actions"] == []
        assert again["network"]["uuid"] == network["uuid"]


def test_change_restarts_unused_network_and_keeps_uuid(host, conn):
    first = net.ensure_vf_pool_network(conn, host, params())
    changed = net.ensure_vf_pool_network(conn, host, params(vlan=7, managed=True))
    assert changed["actions"] == ["stop", "define", "start"]
    assert changed["reasons"] == ["the running network has another definition"]
    assert changed["network"]["uuid"] == first["network"]["uuid"]
    assert changed["network"]["vlan"] == 7 and changed["network"]["active"]


def test_present_defines_without_starting_and_keeps_autostart(host, conn):
    result = net.ensure_vf_pool_network(conn, host, params(state="present"))
    assert result["actions"] == ["define"] and not result["network"]["active"]
    result = net.ensure_vf_pool_network(conn, host, params(state="present", autostart=True))
    assert result["actions"] == ["autostart"]
    result = net.ensure_vf_pool_network(conn, host, params(state="present"))
    assert result["actions"] == [] and result["network"]["autostart"] is True


def test_vfs_pool_and_absent(host, conn):
    wanted = params(pf=None, vfs=["0000:01:10.2", "0000:01:10.0"])
    result = net.ensure_vf_pool_network(conn, host, wanted)
    assert result["network"]["vfs"] == ["0000:01:10.0", "0000:01:10.2"]
    same = net.ensure_vf_pool_network(conn, host, params(pf=None, vfs=["01:10.0", "pci_0000_01_10_2"]))
    assert not same["changed"]
    check = net.ensure_vf_pool_network(conn, host, params(state="absent"), check_mode=True)
    assert check["actions"] == ["stop", "undefine"] and len(conn.listAllNetworks(0)) == 1
    gone = net.ensure_vf_pool_network(conn, host, params(state="absent"))
    assert gone["changed"] and gone["network"]["exists"] is False
    assert conn.listAllNetworks(0) == []
    again = net.ensure_vf_pool_network(conn, host, params(state="absent", pf=None))
    assert not again["changed"]


def test_refuses_a_network_of_another_kind(host, conn):
    conn.networkDefineXML("<network><name>passthrough</name><forward mode='nat'/>"
                          "<bridge name='virbr5'/><ip address='192.168.150.1' netmask='255.255.255.0'/></network>")
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params())
    assert "forward mode 'nat'" in err.value.msg


def test_transient_network_is_made_persistent(host, conn):
    conn.networkCreateXML("<network><name>passthrough</name><forward mode='hostdev' managed='yes'>"
                          "<pf dev='enp1s0'/></forward></network>")
    result = net.ensure_vf_pool_network(conn, host, params())
    assert result["actions"] == ["define"] and result["network"]["persistent"]


def test_libvirt_errors_become_plain_messages(host, conn, monkeypatch):
    class Failing(object):
        def __init__(self, real):
            self._real = real

        def __getattr__(self, item):
            return getattr(self._real, item)

        def networkDefineXML(self, xml):
            network = self._real.networkDefineXML(xml)
            outer = self

            class Net(object):
                def __getattr__(self, item):
                    return getattr(network, item)

                def create(self):
                    raise libvirt.libvirtError("internal error: No usable Vf's present on SRIOV PF enp1s0")
            outer.last = Net()
            return outer.last

    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(Failing(conn), host, params())
    assert err.value.msg.startswith("Starting network passthrough failed: The PF has no VFs libvirt can use")


# -- in use: fakes that answer with the lab's live XML ------------------------------------------

def in_use():
    return FakeConn([FakeDomain(GUEST_CONFIG, live_xml=GUEST_LIVE)], [FakeNetwork(LIVE_IN_USE, inactive=INACTIVE)])


def test_up_to_date_pool_in_use_is_left_alone(host):
    result = net.ensure_vf_pool_network(in_use(), host, params())
    assert not result["changed"] and result["network"]["connections"] == 1


@pytest.mark.parametrize("state, change, needle", [
    ("active", dict(numvfs=2), "restart it (the running pool is stale: it holds 4 VF(s)"),
    ("present", dict(vlan=9), "restart it (the running network has another definition)"),
    ("absent", {}, "Refusing to remove it"),
])
def test_in_use_refusal_names_guests(fake, host, state, change, needle):
    if "numvfs" in change:
        fake.set_numvfs(PF, 0)
        fake.set_numvfs(PF, change["numvfs"])
    conn = in_use()
    for check_mode in (True, False):
        with pytest.raises(SriovError) as err:
            net.ensure_vf_pool_network(conn, host, params(state=state, vlan=change.get("vlan")),
                                       check_mode=check_mode)
        assert needle in err.value.msg
        assert "1 connection(s); guests holding VFs: guestVM (VF 0000:01:10.0)" in err.value.msg
        assert err.value.details["guests"] == [{"domain": "guestVM", "vfs": ["0000:01:10.0"]}]
    assert conn.network.calls == [] and conn.defined == []


def test_force_restarts_stale_pool_with_warning(fake, host):
    fake.set_numvfs(PF, 0)
    fake.set_numvfs(PF, 2)
    conn = in_use()
    result = net.ensure_vf_pool_network(conn, host, params(force=True))
    assert result["actions"] == ["stop", "start"]
    assert conn.network.calls == ["destroy", "create"] and conn.defined == []
    assert "restarted with force" in result["warnings"][0]
    assert result["diff"][0]["after"]["vfs"] == ["0000:01:10.0", "0000:01:10.2"]


def test_stale_pool_without_guests_restarts(fake, host):
    fake.set_numvfs(PF, 0)
    fake.set_numvfs(PF, 2)
    conn = FakeConn([], [FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)])
    check = net.ensure_vf_pool_network(conn, host, params(), check_mode=True)
    assert check["actions"] == ["stop", "start"] and conn.network.calls == []
    result = net.ensure_vf_pool_network(conn, host, params())
    assert result["actions"] == ["stop", "start"] and conn.network.calls == ["destroy", "create"]
    assert "stale" in result["reasons"][0]


def test_stale_pool_when_vfs_are_gone_says_create_them(fake, host):
    fake.set_numvfs(PF, 0)
    conn = FakeConn([], [FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)])
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(state="present"))
    assert "No VFs on PF enp1s0" in err.value.msg


def test_pf_down_warns(fake, host, conn):
    fake.write("sys/devices/pci0000:00/%s/net/enp1s0/operstate" % PF, "down\n")
    result = net.ensure_vf_pool_network(conn, host, params())
    assert any("PF enp1s0 is down" in w for w in result["warnings"])


# -- every network of the host in one run --------------------------------------------------------

def systemctl(fake):
    """A systemctl on the fake host whose calls are recorded; returns the list of calls."""
    fake.add_program("usr/bin/systemctl")
    calls = []

    def run(argv, **_kwargs):
        calls.append(list(argv))
        return 0, "", ""
    return calls, fake.host(run_command=run)


def test_list_four_steps_with_boot_order(fake, host, conn):
    calls, host = systemctl(fake)
    fake.set_numvfs("0000:02:00.0", 2)
    items = [params(name="pool1", autostart=True),
             params(name="pool2", pf=None, vfs=[fake.vf_address("0000:02:00.0", 0)], state="present")]
    first = net.ensure_vf_pool_networks(conn, host, items, check_mode=True)
    assert first["changed"]
    assert [n["actions"] for n in first["networks"]] == [["define", "start", "autostart"], ["define"]]
    assert [n["name"] for n in first["networks"]] == ["pool1", "pool2"]
    assert first["boot_order"]["changed"] and len(first["boot_order"]["files"]) == 3
    assert "network pool1" in [d.get("before_header") for d in first["diff"]]
    assert any("After=systemd-udev-settle.service" in d["after"] for d in first["diff"]
               if d["after_header"].startswith("systemd"))
    assert conn.listAllNetworks(0) == [] and calls == []
    assert not os.path.exists(fake.p("etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf"))
    second = net.ensure_vf_pool_networks(conn, host, items)
    assert second["changed"] and [n["actions"] for n in second["networks"]] == [n["actions"] for n in first["networks"]]
    assert "After=systemd-udev-settle.service" in fake.read("etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf")
    assert calls == [["/usr/bin/systemctl", "daemon-reload"]]
    third = net.ensure_vf_pool_networks(conn, host, items, check_mode=True)
    fourth = net.ensure_vf_pool_networks(conn, host, items)
    assert not third["changed"] and not fourth["changed"] and not fourth["boot_order"]["changed"]
    assert len(calls) == 1


def test_list_without_autostarted_network_writes_no_dropin(fake, host, conn):
    result = net.ensure_vf_pool_networks(conn, host, [params(autostart=False), params(name="gone", state="absent")])
    assert result["changed"] and result["boot_order"] == {"changed": False, "files": []}
    assert not os.path.exists(fake.p("etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf"))


def test_list_validates_everything_before_libvirt(host, conn):
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_networks(conn, host, [params(name="ok"), params(name="bad", pf="enp2s0")])
    assert "No VFs on PF enp2s0" in err.value.msg and conn.listAllNetworks(0) == []
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_networks(conn, host, [params(name="twice"), params(name="twice", state="absent")])
    assert "listed twice" in err.value.msg


# -- check mode predicts from the VFs an earlier stage would create ----------------------------

PLANNED = {"enp2s0": ["0000:02:10.0", "0000:02:10.2"]}


def test_check_mode_with_planned_vfs_predicts_a_pool_on_a_pf_without_vfs(host, conn):
    check = net.ensure_vf_pool_networks(conn, host, [params(pf="enp2s0", autostart=True)], check_mode=True,
                                        planned_vfs=PLANNED)
    result = check["networks"][0]
    assert check["changed"] and result["actions"] == ["define", "start", "autostart"]
    assert [d for d in check["diff"] if d.get("before_header") == "network passthrough"][0]["after"]["vfs"] == \
        PLANNED["enp2s0"]
    assert conn.listAllNetworks(0) == []
    with pytest.raises(SriovError, match="No VFs on PF enp2s0"):
        net.ensure_vf_pool_network(conn, host, params(pf="enp2s0"), check_mode=True)
    with pytest.raises(SriovError, match="No VFs on PF enp2s0"):  # a real run never trusts a plan
        net.ensure_vf_pool_network(conn, host, params(pf="enp2s0"), planned_vfs=PLANNED)


def test_check_mode_accepts_planned_addresses(host, conn):
    check = net.ensure_vf_pool_network(conn, host, params(pf=None, vfs=["02:10.2"]), check_mode=True,
                                       planned_vfs=PLANNED)
    assert check["changed"] and check["actions"] == ["define", "start"]
    with pytest.raises(SriovError, match="does not exist on this host"):
        net.ensure_vf_pool_network(conn, host, params(pf=None, vfs=["02:10.2"]), check_mode=True)


def test_check_mode_with_planned_vfs_predicts_a_stale_pool(fake, host):
    conn = FakeConn([], [FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)])
    planned = {"enp1s0": ["0000:01:10.0", "0000:01:10.2"]}  # the VF stage goes 4 -> 2
    check = net.ensure_vf_pool_network(conn, host, params(), check_mode=True, planned_vfs=planned)
    assert check["actions"] == ["stop", "start"] and "stale" in check["reasons"][0]
    assert conn.network.calls == []


# -- removal checks the guests' persistent definitions ---------------------------------------

def test_absent_refuses_while_shut_off_guests_name_the_network(host):
    conn = FakeConn([FakeDomain(GUEST_CONFIG, active=False)], [FakeNetwork(INACTIVE, active=False)])
    for check_mode in (True, False):
        with pytest.raises(SriovError) as err:
            net.ensure_vf_pool_network(conn, host, params(state="absent"), check_mode=check_mode)
        assert "persistent definition of domain(s) guestVM" in err.value.msg
        assert err.value.details["domains"] == ["guestVM"]
    assert conn.network.calls == []
    forced = net.ensure_vf_pool_network(conn, host, params(state="absent", force=True))
    assert forced["actions"] == ["undefine"] and conn.network.calls == ["undefine"]


# -- a restart whose start fails rolls back -------------------------------------------------

def test_failed_restart_rolls_back_to_the_old_definition(host):
    network = FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)
    network.fail_create = ["internal error: new definition refused"]
    conn = FakeConn([], [network])
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(state="present", vlan=9))
    assert "new definition refused" in err.value.msg and "rolled back" in err.value.msg
    assert network.calls == ["destroy", "create", "create"] and network.active
    assert conn.defined[-1] == INACTIVE and network.inactive == INACTIVE


def test_failed_restart_and_failed_rollback_name_both_errors(host):
    network = FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)
    network.fail_create = ["internal error: first", "internal error: second"]
    conn = FakeConn([], [network])
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(state="present", vlan=9))
    assert "first" in err.value.msg and "second" in err.value.msg and "is down" in err.value.msg
    assert not network.active


# -- partitions of a PF (vf_range) ----------------------------------------------------------

def test_vf_range_pools_only_those_vfs(host, conn):
    result = net.ensure_vf_pool_network(conn, host, params(vf_range="1-2"))
    xml = conn.networkLookupByName("passthrough").XMLDesc(0)
    assert "<pf " not in xml and xml.count("<address ") == 2, xml
    assert result["network"]["vfs"] == ["0000:01:10.2", "0000:01:10.4"]
    assert not net.ensure_vf_pool_network(conn, host, params(vf_range="1-2"))["changed"]


@pytest.mark.parametrize("value, needle", [
    ("5-2", "Invalid vf_range '5-2'"),
    ("a-b", "Invalid vf_range 'a-b'"),
    ("3-6", "names VF(s) 4, 5, 6, which do not exist"),
])
def test_bad_vf_range(host, conn, value, needle):
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(vf_range=value))
    assert needle in err.value.msg and conn.listAllNetworks(0) == []


def test_overlapping_partitions_are_refused_before_anything_changes(host, conn):
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_networks(conn, host, [params(name="a", vf_range="0-1"), params(name="b", vf_range="1-2")])
    assert "VF 0000:01:10.2: networks a, b" in err.value.msg and conn.listAllNetworks(0) == []


def test_partition_overlapping_a_fixed_assignment_or_another_pool_is_refused(host):
    fixed = GUEST_LIVE.replace("function='0x0'", "function='0x4'")
    conn = FakeConn([FakeDomain(fixed, active=False)], [])
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(name="part", vf_range="1-2"))
    assert "VF 0000:01:10.4" in err.value.msg and "assigned to domain(s) guestVM" in err.value.msg
    assert conn.defined == []
    conn = FakeConn([], [FakeNetwork(LIVE_IN_USE.replace(" connections='1'", ""), inactive=INACTIVE)])
    with pytest.raises(SriovError) as err:
        net.ensure_vf_pool_network(conn, host, params(name="part", vf_range="3"))
    assert "in the pool of network(s) passthrough" in err.value.msg and conn.defined == []
