# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sriov_vfs ``pfs[].select`` (PFs chosen by hardware) and the management-NIC guard."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _udev
from ansible_collections.virt.sriov.plugins.modules import sriov_vfs
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeWriter

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"
PF3 = "0000:03:00.0"  # ixgbe: another device ID
NIC = "0000:00:03.0"  # e1000e: no SR-IOV
RULE1 = _udev.default_rule_path(PF1)
RULE2 = _udev.default_rule_path(PF2)
CONNECTION = "198.51.100.7 50022 192.0.2.2 22"


@pytest.fixture
def env(fake, run_module, monkeypatch):
    fake.add_nic(NIC, "enp0s3")
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    fake.add_pf(PF2, "enp2s0", totalvfs=7, mac="52:54:00:aa:00:02")
    fake.add_pf(PF3, "enp3s0", card="ixgbe", totalvfs=63, mac="52:54:00:aa:00:03")
    for program in ("usr/bin/udevadm", "usr/bin/systemctl", "usr/sbin/ip"):
        fake.add_program(program)
    fake.add_address("enp0s3", "192.0.2.2")
    fake.add_default_route("enp0s3")
    state = {"writer": FakeWriter(fake)}
    monkeypatch.setattr(sriov_vfs, "SubprocessWriter", lambda: state["writer"])
    monkeypatch.setattr(sriov_vfs, "gather_usage", lambda host, uri: (None, None))
    monkeypatch.setenv("SSH_CONNECTION", CONNECTION)

    def run(args, **kwargs):
        return run_module(sriov_vfs, args, commands=fake.vf_stage_commands(), **kwargs)

    run.state = state
    run.fake = fake
    run.calls = run_module.calls
    return run


def numvfs(fake, pf):
    return fake.numvfs(pf)


def unchanged(env):
    return (env.state["writer"].writes == [] and numvfs(env.fake, PF1) == 0 and numvfs(env.fake, PF2) == 0
            and not os.path.exists(env.fake.p(RULE1)) and not os.path.exists(env.fake.p(RULE2)))


@pytest.mark.parametrize("device_id", ["10c9", "0x10c9", "10C9", "0X10C9"])
def test_select_by_device_id_picks_both_pfs_and_no_other_nic(env, device_id):
    args = {"pfs": [{"select": {"device_id": device_id, "driver": "igb"}, "num_vfs": 2}]}
    check = env(args, check_mode=True, diff=True)
    assert check["changed"] and [p["pf"]["netdev"] for p in check["pfs"]] == ["enp1s0", "enp2s0"]
    assert [p["entry"] for p in check["pfs"]] == [0, 0]
    assert check["pfs"][0]["select"] == {"device_id": "10c9", "driver": "igb"}
    assert [d["after_header"] for d in check["diff"][:3]] == ["PF enp1s0 (0000:01:00.0)", RULE1, "PF enp2s0 (0000:02:00.0)"]
    assert unchanged(env)
    apply = env(args)
    assert apply["changed"] and numvfs(env.fake, PF1) == 2 and numvfs(env.fake, PF2) == 2
    assert numvfs(env.fake, PF3) == 0
    assert not env(args, check_mode=True)["changed"]
    assert not env(args)["changed"] and env.state["writer"].writes == [2, 2]


@pytest.mark.parametrize("select, chosen", [
    ({"netdev": "enp2*"}, ["enp2s0"]),
    ({"netdev": "enp[13]s0"}, ["enp1s0", "enp3s0"]),
    ({"pci_address": "02:00.*"}, ["enp2s0"]),
    ({"pci_address": "0000:0[12]:00.0"}, ["enp1s0", "enp2s0"]),
    ({"vendor_id": "8086", "netdev": "enp?s0"}, ["enp1s0", "enp2s0", "enp3s0"]),
])
def test_select_by_glob(env, select, chosen):
    result = env({"pfs": [{"select": select, "num_vfs": 1}]}, check_mode=True)
    assert [p["pf"]["netdev"] for p in result["pfs"]] == chosen


def test_each_selected_pf_gets_the_entry_settings_next_to_explicit_entries(env):
    result = env({"pfs": [{"pf": "enp3s0", "num_vfs": 4},
                          {"select": {"device_id": "10c9"}, "num_vfs": "max", "persist": False}]})
    assert [(p["entry"], p["pf"]["netdev"], p["numvfs_after"]) for p in result["pfs"]] == [
        (0, "enp3s0", 4), (1, "enp1s0", 7), (1, "enp2s0", 7)]
    assert result["pfs"][0]["select"] is None
    assert [p["rule"]["content"] is None for p in result["pfs"]] == [False, True, True]


def test_select_without_match_fails_listing_the_pfs(env):
    result = env({"pfs": [{"select": {"device_id": "1572", "driver": "i40e"}, "num_vfs": 2}]}, check_mode=True)
    assert result["failed"] and "pfs[0].select (device_id=1572 driver=i40e) matches no SR-IOV PF" in result["msg"]
    assert "enp1s0 (0000:01:00.0) [8086:10c9 igb]" in result["msg"]
    assert "enp3s0 (0000:03:00.0) [8086:10fb ixgbe]" in result["msg"] and "enp0s3" not in result["msg"]


def test_two_entries_resolving_to_one_pf_fail_naming_both(env):
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2}, {"select": {"driver": "igb"}, "num_vfs": 3}]})
    assert result["failed"] and "PF enp2s0 (0000:02:00.0) is listed twice" in result["msg"]
    assert "by pfs[0] (pf enp2s0) and by pfs[1] (select driver=igb)" in result["msg"]
    assert unchanged(env)


@pytest.mark.parametrize("check_mode", [True, False])
def test_connection_address_on_a_pf_refuses_its_change(env, check_mode):
    env.fake._ip()["addrs"].clear()
    env.fake.add_address("enp2s0", "192.0.2.2")
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}, {"pf": "enp2s0", "num_vfs": 2}]}, check_mode=check_mode)
    assert result["failed"] and "pfs[1] (pf enp2s0) would change PF enp2s0 (0000:02:00.0)" in result["msg"]
    assert "the Ansible connection (192.0.2.2, the server address of SSH_CONNECTION, is on enp2s0)" in result["msg"]
    assert "enp1s0" not in result["msg"] and result["management_pfs"] == [PF2]
    assert unchanged(env)


def test_connection_on_a_bond_over_a_pf_and_selection(env):
    env.fake._ip()["addrs"].clear()
    env.fake.add_virtual_link("bond0", ports=["enp1s0"])
    env.fake.add_virtual_link("bond0.10", link="bond0")
    env.fake.add_address("bond0.10", "192.0.2.2")
    result = env({"pfs": [{"select": {"device_id": "10c9"}, "num_vfs": 2}]}, check_mode=True)
    assert result["failed"] and "pfs[0] (select device_id=10c9) matches PF enp1s0 (0000:01:00.0)" in result["msg"]
    assert "is on bond0.10, over enp1s0)" in result["msg"] and "selection never picks" in result["msg"]
    assert unchanged(env)


def test_connection_of_an_ancestor_when_sudo_reset_the_environment(env, monkeypatch):
    """sudo's env_reset drops SSH_CONNECTION from the module's environment; sudo itself and the
    shell above it keep the environment sshd gave them."""
    monkeypatch.delenv("SSH_CONNECTION")
    env.fake._ip()["addrs"].clear()
    env.fake.add_address("enp1s0", "192.0.2.2")
    me = os.getpid()
    env.fake.write("proc/%d/stat" % me, "%d (python3) S 4001 4001 0 0 -1\n" % me)
    env.fake.write("proc/4001/stat", "4001 (sudo) S 4000 4000 0 0 -1\n")
    env.fake.write("proc/4001/environ", "TERM=xterm\0PATH=/usr/bin\0")
    env.fake.write("proc/4000/stat", "4000 (sh (login)) S 3000 3000 0 0 -1\n")
    env.fake.write("proc/4000/environ", "USER=ops\0SSH_CONNECTION=%s\0HOME=/home/ops\0" % CONNECTION)
    env.fake.write("proc/3000/stat", "3000 (sshd) S 1 1 0 0 -1\n")
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}]})
    assert result["failed"] and "the Ansible connection (192.0.2.2, the server address of SSH_CONNECTION, " \
        "is on enp1s0)" in result["msg"]
    assert unchanged(env)
    env.fake.write("proc/4000/environ", "USER=ops\0")  # no SSH session above: only routes count
    assert env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}]})["changed"]


def test_default_route_refuses_ipv4_and_ipv6(env):
    env.fake.add_default_route("enp2s0", gateway="192.0.2.1", table="mgmt")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2}]})
    assert result["failed"] and "a default route (default via 192.0.2.1 dev enp2s0 table mgmt)" in result["msg"]
    env.fake._ip()["routes"].pop()
    env.fake.enable_ipv6()
    env.fake.add_default_route("enp1s0", gateway="fe80::1")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2}, {"pf": "enp1s0", "num_vfs": 2}]})
    assert result["failed"] and "would change PF enp1s0 (0000:01:00.0), which carries a default route " \
        "(default via fe80::1 dev enp1s0)" in result["msg"]
    assert unchanged(env)


def test_ipv6_default_route_from_a_router_advertisement_does_not_count(env):
    """The kernel adds it on any port that is up on a network with an IPv6 router (the lab's
    igb ports get one from QEMU's user-mode network as soon as their link is up)."""
    env.fake.enable_ipv6()
    env.fake.add_default_route("enp2s0", gateway="fe80::2", protocol="ra")
    result = env({"pfs": [{"select": {"device_id": "10c9"}, "num_vfs": 2}]})
    assert result["changed"] and numvfs(env.fake, PF2) == 2


def test_vf_netdev_carrying_the_connection_protects_its_pf(env):
    env.fake.set_numvfs(PF2, 2)
    env.fake.add_address("enp2s0v1", "192.0.2.2")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 4}]})
    assert result["failed"] and "is on enp2s0v1)" in result["msg"] and numvfs(env.fake, PF2) == 2


def test_allow_management_lets_the_change_through(env):
    env.fake.add_default_route("enp2s0")
    args = {"pfs": [{"select": {"device_id": "10c9"}, "num_vfs": 2, "allow_management": True}]}
    result = env(args)
    assert result["changed"] and numvfs(env.fake, PF2) == 2
    assert not any(call[:3] == ["ip", "-j", "addr"] for call in env.calls)  # no check, no read
    assert not env(args)["changed"]


def test_unchanged_explicit_pf_needs_no_check(env):
    env({"pfs": [{"pf": "enp2s0", "num_vfs": 2}]})
    env.fake.add_default_route("enp2s0")
    env.fake.fail_ip("addr")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2}]})
    assert not result.get("failed") and not result["changed"]


@pytest.mark.parametrize("word, needle", [
    ("addr", "'ip -j addr show' failed with exit code 255: Cannot open netlink socket"),
    ("route", "'ip -j -4 route show table all default' failed with exit code 2"),
])
def test_failing_ip_read_refuses(env, word, needle):
    env.fake.fail_ip(word)
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}]}, check_mode=True)
    assert result["failed"] and "Refusing to change or select PF enp1s0 (0000:01:00.0): cannot tell" in result["msg"]
    assert needle in result["msg"]
    assert unchanged(env)


def test_malformed_ssh_connection_refuses(env, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "192.0.2.2")
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}]})
    assert result["failed"] and "SSH_CONNECTION '192.0.2.2' is not" in result["msg"] and unchanged(env)


@pytest.mark.parametrize("entry, needle", [
    ({"select": {"vendor": "8086"}, "num_vfs": 2}, "pfs.select.vendor"),
    ({"select": {}, "num_vfs": 2}, "Invalid pfs[0].select: it sets no key, and an empty selector would choose every PF"),
    ({"select": {"driver": None}, "num_vfs": 2}, "an empty selector"),
    ({"select": {"device_id": "10c9"}, "pf": "enp1s0", "num_vfs": 2}, "pf|pci_address|select"),
    ({"select": {"device_id": "10c9x"}, "num_vfs": 2}, "Invalid pfs[0].select.device_id '10c9x': expected 1-4 hex digits"),
    ({"select": {"vendor_id": 8086}, "num_vfs": 2}, "Invalid pfs[0].select.vendor_id 8086: give the PCI ID as a quoted string"),
    ({"select": {"netdev": "en p*"}, "num_vfs": 2}, "Invalid pfs[0].select.netdev 'en p*'"),
    ({"select": {"pci_address": "0000:01:00.0;x"}, "num_vfs": 2}, "Invalid pfs[0].select.pci_address '0000:01:00.0;x'"),
])
def test_bad_select_changes_nothing(env, entry, needle):
    result = env({"pfs": [entry]})
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert unchanged(env) and env.calls == []
