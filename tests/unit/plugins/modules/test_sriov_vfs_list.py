# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sriov_vfs with ``pfs``: the whole VF stage of a host in one execution."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _systemd, _udev
from ansible_collections.virt.sriov.plugins.modules import sriov_vfs
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeWriter
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import NetworkControl, hostdev_pool, usage_of

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"
RULE1 = _udev.default_rule_path(PF1)
RULE2 = _udev.default_rule_path(PF2)
DROPINS = [_systemd.dropin_path(unit) for unit in _systemd.LIBVIRT_DAEMONS]
LIST = [{"pf": "enp1s0", "num_vfs": 4}, {"pci_address": PF2, "num_vfs": "max", "link_up": False}]


@pytest.fixture
def env(fake, run_module, monkeypatch):
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    fake.add_pf(PF2, "enp2s0", totalvfs=7, mac="52:54:00:aa:00:02")
    for program in ("usr/bin/udevadm", "usr/bin/systemctl", "usr/sbin/ip"):
        fake.add_program(program)
    state = {"writer": FakeWriter(fake), "usage": (None, None)}
    monkeypatch.setattr(sriov_vfs, "SubprocessWriter", lambda: state["writer"])
    monkeypatch.setattr(sriov_vfs, "gather_usage", lambda host, uri: state["usage"])

    monkeypatch.delenv("SSH_CONNECTION", raising=False)

    def run(args, **kwargs):
        return run_module(sriov_vfs, args, commands=fake.vf_stage_commands(), **kwargs)

    run.state = state
    run.fake = fake
    run.calls = run_module.calls
    return run


def numvfs(fake, pf):
    return fake.numvfs(pf)


def count(env, suffix):
    return sum(1 for c in env.calls if c[0].endswith(suffix[0]) and c[1:] == suffix[1:])


def test_four_steps_in_one_execution(env):
    args = {"pfs": LIST}
    check = env(args, check_mode=True, diff=True)
    assert check["changed"] and [p["changed"] for p in check["pfs"]] == [True, True]
    first = check["pfs"][0]
    assert first["numvfs_before"] == 0 and first["numvfs_after"] == 4
    assert first["vf_addresses"] == ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    assert first["vf_addresses_predicted"] is True
    assert len(check["pfs"][1]["vf_addresses"]) == 7
    assert first["rule"]["changed"] and first["rule"]["path"] == RULE1
    assert "ip link set dev $name up" in first["rule"]["content"]
    assert check["pfs"][1]["rule"]["link_up_rule"] is None
    assert check["boot_order"] == {"changed": True, "files": DROPINS}
    headers = [d.get("after_header") for d in check["diff"]]
    assert headers == ["PF enp1s0 (0000:01:00.0)", RULE1, "PF enp2s0 (0000:02:00.0)", RULE2] + DROPINS
    assert check["diff"][0]["after"] == {"numvfs": 4}
    assert numvfs(env.fake, PF1) == 0 and not os.path.exists(env.fake.p(RULE1))
    assert not os.path.exists(env.fake.p(DROPINS[0])) and env.state["writer"].writes == []

    apply = env(args)
    assert apply["changed"] and numvfs(env.fake, PF1) == 4 and numvfs(env.fake, PF2) == 7
    assert apply["pfs"][0]["vf_addresses"] == first["vf_addresses"]  # the prediction held
    assert apply["pfs"][0]["vf_addresses_predicted"] is False
    assert apply["pfs"][0]["rule"]["reloaded"]
    assert env.fake.read(RULE1) == first["rule"]["content"]
    assert env.fake.read(DROPINS[0]) == _systemd.DROPIN_TEXT
    assert count(env, ["udevadm", "control", "--reload"]) == 1  # one reload for both rules
    assert count(env, ["systemctl", "daemon-reload"]) == 1

    again = env(args, check_mode=True)
    assert not again["changed"] and [p["changed"] for p in again["pfs"]] == [False, False]
    assert again["pfs"][0]["vf_addresses"] == first["vf_addresses"]
    assert again["pfs"][0]["vf_addresses_predicted"] is False
    last = env(args)
    assert not last["changed"] and env.state["writer"].writes == [4, 7]
    assert count(env, ["udevadm", "control", "--reload"]) == 1


def test_guards_of_every_pf_before_any_change(env):
    env.fake.set_numvfs(PF2, 4)
    vf = env.fake.vf_address(PF2, 1)
    env.fake.bind_vfio(vf)
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 4}, {"pf": "enp2s0", "num_vfs": 2}]})
    assert result["failed"] and "VF 1 (%s)" % vf in result["msg"]
    # PF1 comes first in the list, yet nothing was written for it
    assert env.state["writer"].writes == [] and numvfs(env.fake, PF1) == 0
    assert not os.path.exists(env.fake.p(RULE1)) and not os.path.exists(env.fake.p(DROPINS[0]))


def test_incomplete_libvirt_scan_refuses_removal(env):
    env.fake.set_numvfs(PF1, 4)
    env.state["usage"] = (None, "libvirt is unreachable (Cannot connect)")
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}]})
    assert result["failed"] and "could not be checked: libvirt is unreachable" in result["msg"]
    assert numvfs(env.fake, PF1) == 4
    forced = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2}], "force": True})
    assert forced["changed"] and numvfs(env.fake, PF1) == 2


def test_not_persisted_and_absent_remove_rules_and_write_no_dropins(env):
    env({"pfs": LIST})
    for path in DROPINS:
        os.unlink(env.fake.p(path))
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 4, "persist": False},
                          {"pf": "enp2s0", "state": "absent", "num_vfs": 5}]}, diff=True)
    assert result["changed"] and numvfs(env.fake, PF1) == 4 and numvfs(env.fake, PF2) == 0
    assert [p["rule"]["content"] for p in result["pfs"]] == [None, None]
    assert [p["actions"] for p in result["pfs"]] == [
        ["remove udev rule %s" % RULE1], ["write 0 to sriov_numvfs (remove 7 VFs)", "remove udev rule %s" % RULE2]]
    assert not os.path.exists(env.fake.p(RULE1)) and not os.path.exists(env.fake.p(RULE2))
    assert result["boot_order"] == {"changed": False, "files": []}
    assert not os.path.exists(env.fake.p(DROPINS[0]))


def test_legacy_dropins_are_replaced_once(env):
    legacy = _systemd.dropin_path("libvirtd.service", "50-virt-sriov-vfs.conf")
    env.fake.write(legacy, "[Unit]\nAfter=systemd-udev-settle.service\n")
    env({"pfs": LIST})
    assert not os.path.exists(env.fake.p(legacy)) and os.path.exists(env.fake.p(DROPINS[0]))
    assert not env({"pfs": LIST})["changed"]


def test_empty_list_changes_nothing(env):
    result = env({"pfs": []})
    assert result["changed"] is False and result["pfs"] == [] and env.calls == []


@pytest.mark.parametrize("pfs, needle", [
    ([{"pf": "enp1s0", "num_vfs": 2}, {"pci_address": PF1, "num_vfs": 3}], "listed twice"),
    ([{"pf": "enp1s0", "pci_address": PF1, "num_vfs": 2}], "mutually exclusive"),
    ([{"pf": "enp1s0"}], "num_vfs"),
    ([{"pf": "enp1s0", "num_vfs": 2, "numvfs": 3}], "numvfs"),
    ([{"pf": "enp1s0", "num_vfs": 2}, {"pf": "nope0", "num_vfs": 2}], "'nope0' is not an SR-IOV capable PF"),
    ([{"pf": "enp1s0", "num_vfs": 9}], "at most 7"),
])
def test_bad_entries_change_nothing(env, pfs, needle):
    result = env({"pfs": pfs})
    assert result["failed"] and needle in result["msg"], result
    assert env.state["writer"].writes == [] and not os.path.exists(env.fake.p(RULE1))


def test_list_and_single_form_are_exclusive(env):
    result = env({"pfs": LIST, "pf": "enp1s0"})
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_idle_pool_restarted_once_around_all_counts(env, monkeypatch):
    env.fake.set_numvfs(PF1, 4)
    env.state["usage"] = (usage_of(env.fake, networks=[hostdev_pool()]), None)
    control = NetworkControl()
    monkeypatch.setattr(sriov_vfs, "libvirt_network_control", lambda uri: control)
    args = {"pfs": [{"pf": "enp1s0", "num_vfs": 6}]}
    check = env(args, check_mode=True, diff=True)
    assert check["restarted_networks"] == ["passthrough"] and control.calls == []
    assert check["pfs"][0]["restarted_networks"] == ["passthrough"]
    assert check["diff"][0]["after"]["restarted_networks"] == ["passthrough"]
    result = env(args)
    assert result["changed"] and numvfs(env.fake, PF1) == 6
    assert control.calls == [("stop", "passthrough"), ("start", "passthrough")]


def test_autoprobe_persists_in_the_rule(env):
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 2, "drivers_autoprobe": False}]})
    assert 'ATTR{device/sriov_drivers_autoprobe}="0", ATTR{device/sriov_numvfs}="2"' in env.fake.read(RULE1)
    assert result["pfs"][0]["rule"]["rule"].endswith('ATTR{device/sriov_numvfs}="2"')
    assert not env({"pfs": [{"pf": "enp1s0", "num_vfs": 2, "drivers_autoprobe": False}]})["changed"]
