# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""vf_settings of libvirt_vf_pool_network: a fake sysfs tree with a fake ``ip`` that keeps the VF
settings, and libvirt's test driver (one connection for every run of a test)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from contextlib import contextmanager

import pytest

from ansible.module_utils import basic

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._pool_vf_settings import (
    normalize_pool_settings,
    pool_rule_path,
)
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import (
    rule_setting_pairs,
    validate_rule_text,
)
from ansible_collections.virt.sriov.plugins.modules import libvirt_vf_pool_network as module
from ansible_collections.virt.sriov.plugins.modules import sriov_vf_settings
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import usage_of

libvirt = pytest.importorskip("libvirt")

PF1 = "0000:01:00.0"
POOL_RULE = "etc/udev/rules.d/84-virt-sriov-pool-trusted.rules"
PF_RULE = "etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules"
EINVAL = "RTNETLINK answers: Invalid argument"
SETTINGS = {"trust": True, "spoofchk": False}
ARGS = {"name": "trusted", "pf": "enp1s0", "vf_range": "0-1", "vf_settings": SETTINGS}


@pytest.fixture
def env(fake, run_module, tmp_path, monkeypatch):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    fake.add_program("usr/sbin/ip")
    fake.add_program("usr/bin/udevadm")
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n")
    connection = libvirt.open("test://%s" % node)

    @contextmanager
    def shared(uri="qemu:///system", read_only=False):
        yield connection

    monkeypatch.setattr(module, "open_connection", shared)
    state = {"refuse": None}

    def run(args, mod=module, **kwargs):
        kwargs.setdefault("commands", fake.ip_set_commands(refuse=state["refuse"]))
        return run_module(mod, args, **kwargs)

    run.state, run.fake, run.conn = state, fake, connection
    yield run
    connection.close()


def sets(fake):
    return [c[4:] for c in getattr(fake, "ip_calls", []) if c[1:3] == ["link", "set"]]


def admin(fake, index):
    return dict(fake._admin().get((PF1, index), {}))


def test_four_steps_with_diff_and_rule(env):
    first = env(ARGS, check_mode=True, diff=True)
    assert first["changed"] and first["actions"] == ["define", "start"]
    assert sets(env.fake) == [] and not os.path.exists(env.fake.p(POOL_RULE))
    assert env.conn.listAllNetworks(0) == []
    values = first["diff"][0]
    assert values["before"]["enp1s0 vf 0"] == {"spoofchk": True, "trust": False}
    assert values["after"]["enp1s0 vf 1"] == {"spoofchk": False, "trust": True}
    assert "enp1s0 vf 2" not in values["after"]
    assert first["diff"][-1]["after_header"] == "/" + POOL_RULE
    predicted = first["vf_settings"]["vfs"]
    assert [(v["vf"], v["trust"], v["spoofchk"]) for v in predicted] == [(0, True, False), (1, True, False)]

    second = env(ARGS, diff=True)
    assert second["changed"] and second["network"]["active"]
    assert admin(env.fake, 0) == {"trust": True, "spoofchk": False} == admin(env.fake, 1)
    assert admin(env.fake, 2) == {} and admin(env.fake, 3) == {}  # VFs outside vf_range untouched
    assert sorted(sets(env.fake)) == [["enp1s0", "vf", "0", "spoofchk", "off"], ["enp1s0", "vf", "0", "trust", "on"],
                                      ["enp1s0", "vf", "1", "spoofchk", "off"], ["enp1s0", "vf", "1", "trust", "on"]]
    assert second["vf_settings"]["vfs"] == predicted
    assert predicted[0]["pci_address"] == env.fake.vf_address(PF1, 0)
    rule = env.fake.read(POOL_RULE)
    assert validate_rule_text(rule, PF1) == 4
    assert ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", '
            'RUN+="/usr/sbin/ip link set dev $name vf 1 trust on"') in rule
    assert oct(os.stat(env.fake.p(POOL_RULE)).st_mode & 0o777) == "0o644"
    assert ["/usr/bin/udevadm", "control", "--reload"] in env.fake.ip_calls

    third = env(ARGS, check_mode=True, diff=True)
    fourth = env(ARGS)
    assert not third["changed"] and not fourth["changed"]
    assert not third["vf_settings"]["changed"] and fourth["vf_settings"]["vfs"] == predicted
    assert sets(env.fake) == []


def test_whole_pf_and_list_form(env):
    args = {"networks": [{"name": "trusted", "pf": "enp1s0", "vf_settings": {"max_tx_rate": 500}}]}
    result = env(args)
    assert result["changed"] and [v["vf"] for v in result["networks"][0]["vf_settings"]["vfs"]] == [0, 1, 2, 3]
    assert all(admin(env.fake, i) == {"max_tx_rate": 500} for i in range(4))
    assert not env(args)["changed"]


def test_dropping_vf_settings_and_absent_remove_the_file(env):
    env(ARGS)
    assert os.path.exists(env.fake.p(POOL_RULE))
    dropped = env(dict(ARGS, vf_settings=None), diff=True)
    assert dropped["changed"] and dropped["actions"] == [] and not os.path.exists(env.fake.p(POOL_RULE))
    assert dropped["vf_settings"]["rule"] is None and dropped["vf_settings"]["rule_changed"]
    assert admin(env.fake, 0) == {"trust": True, "spoofchk": False}  # live values are left alone
    assert not env(dict(ARGS, vf_settings=None))["changed"]
    env(ARGS)
    gone = env({"name": "trusted", "state": "absent"})
    assert gone["changed"] and gone["actions"] == ["stop", "undefine"]
    assert not os.path.exists(env.fake.p(POOL_RULE))
    assert not env({"name": "trusted", "state": "absent"})["changed"]


@pytest.mark.parametrize("settings, needle", [
    ({"mac": "52:54:00:00:00:10"}, "vf_settings of network trusted cannot set mac: libvirt sets the MAC"),
    ({"vlan": 10, "trust": True}, "cannot set vlan: libvirt sets the MAC and the VLAN of a pool VF"),
    ({"qos": 1}, "Use the network's vlan option for a VLAN"),
    ({"driver": "vfio-pci"}, "cannot set driver: libvirt moves pool VFs to vfio-pci itself"),
    ({"bogus": 1}, "Unknown VF setting bogus in vf_settings of network trusted"),
    ({"trust": "maybe"}, "Invalid trust 'maybe' for vf_settings of network trusted: expected true or false"),
    ({"max_tx_rate": -1}, "Invalid max_tx_rate -1 for vf_settings of network trusted"),
    ({"link_state": "up"}, "Invalid link_state 'up' for vf_settings of network trusted"),
])
def test_bad_input_vf_settings(env, settings, needle):
    result = env(dict(ARGS, vf_settings=settings))
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert env.conn.listAllNetworks(0) == [] and sets(env.fake) == []
    assert not os.path.exists(env.fake.p(POOL_RULE))


def test_bad_input_vf_settings_need_pf(env):
    result = env({"name": "trusted", "vfs": [env.fake.vf_address(PF1, 0)], "vf_settings": SETTINGS})
    assert result["failed"] and "vf_settings of network trusted need the pool given by pf" in result["msg"]
    assert env.conn.listAllNetworks(0) == []


@pytest.mark.parametrize("name", ["../etc/x", "a/b", ".hidden", "", "x" * 65])
def test_bad_input_rule_file_name(name):
    with pytest.raises(SriovError) as info:
        pool_rule_path(name)
    assert "Invalid network name" in info.value.msg


def test_overlap_with_pf_settings_file_refused_before_anything_changes(env):
    env.fake.write(PF_RULE, '# other owner\nACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", '
                            'ATTR{device/sriov_numvfs}=="?*", RUN+="/usr/sbin/ip link set dev $name vf 1 trust on"\n')
    result = env(ARGS)
    assert result["failed"]
    assert "trust of VF 1 (set by /%s)" % PF_RULE in result["msg"] and "two owners" in result["msg"].lower()
    assert env.conn.listAllNetworks(0) == [] and sets(env.fake) == []
    assert not os.path.exists(env.fake.p(POOL_RULE))
    # a setting the file does not own is fine
    assert env(dict(ARGS, vf_settings={"spoofchk": False}))["changed"]


def test_sriov_vf_settings_refuses_a_setting_a_pool_owns(env, monkeypatch):
    env(ARGS)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: None)
    monkeypatch.setattr("ansible_collections.virt.sriov.plugins.module_utils._vf_settings.load_usage",
                        lambda host, uri: usage_of(env.fake))
    result = env({"pf": "enp1s0", "vf_defaults": {"trust": True}}, mod=sriov_vf_settings)
    assert result["failed"] and "trust of VF 0 of PF enp1s0 (0000:01:00.0) (set by /%s)" % POOL_RULE in result["msg"]
    assert sets(env.fake) == [] and not os.path.exists(env.fake.p(PF_RULE))
    ok = env({"pf": "enp1s0", "vfs": [{"vf": 2, "trust": True}]}, mod=sriov_vf_settings)
    assert ok["changed"] and not ok.get("failed")


def test_driver_refusal_rolls_back_and_changes_nothing_else(env):
    env.state["refuse"] = {"max_tx_rate": EINVAL}
    result = env(dict(ARGS, vf_settings={"trust": True, "max_tx_rate": 100}))
    assert result["failed"]
    assert "igb driver of PF enp1s0 (0000:01:00.0) refused max_tx_rate = 100 on VF 0" in result["msg"]
    assert "EINVAL" in result["msg"] and "Set back what this run had changed: enp1s0 (0000:01:00.0) VF 0 trust" in result["msg"]
    assert admin(env.fake, 0) == {"trust": False}  # set back
    assert env.conn.listAllNetworks(0) == [] and not os.path.exists(env.fake.p(POOL_RULE))


def test_rule_setting_pairs_reads_only_settings_lines_of_the_pf():
    text = "\n".join([
        "# comment",
        'ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", '
        'RUN+="/usr/sbin/ip link set dev $name vf 3 state enable"',
        'ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:02:00.0", ATTR{device/sriov_numvfs}=="?*", '
        'RUN+="/usr/sbin/ip link set dev $name vf 0 trust on"',
        'ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", '
        'RUN+="/usr/sbin/ip link set dev $name vf 1 vlan 5 qos 0 proto 802.1Q"',
        "not a rule",
    ])
    assert rule_setting_pairs(text, "01:00.0") == [(1, "vlan"), (3, "link_state")]


def test_normalize_pool_settings():
    assert normalize_pool_settings(None, "n") is None
    assert normalize_pool_settings({"trust": None}, "n") is None
    assert normalize_pool_settings({"trust": "yes", "max_tx_rate": "10"}, "n") == {"trust": True, "max_tx_rate": 10}


def test_libvirt_failure_after_the_settings_sets_them_back(env, monkeypatch):
    def refuse(conn, spec, plan, current):
        raise SriovError("Defining network trusted failed: boom")

    monkeypatch.setattr("ansible_collections.virt.sriov.plugins.module_utils._libvirt_network.apply_network", refuse)
    result = env(ARGS)
    assert result["failed"] and "Defining network trusted failed: boom." in result["msg"]
    assert "VF settings set back: enp1s0 (0000:01:00.0) VF 1 trust" in result["msg"]
    assert admin(env.fake, 0) == {"trust": False, "spoofchk": True} == admin(env.fake, 1)
    assert not os.path.exists(env.fake.p(POOL_RULE))


def test_check_mode_predicts_for_vfs_an_earlier_stage_creates(env):
    env.fake.add_pf("0000:02:00.0", "enp2s0")
    planned = {"enp2s0": ["0000:02:10.0", "0000:02:10.2"]}
    result = env({"name": "later", "pf": "enp2s0", "vf_settings": {"trust": True}, "planned_vfs": planned},
                 check_mode=True)
    assert result["changed"] and not result.get("failed"), result
    assert [(v["vf"], v["trust"]) for v in result["vf_settings"]["vfs"]] == [(0, True), (1, True)]
    assert "vf 1 trust on" in result["vf_settings"]["rule"] and sets(env.fake) == []
