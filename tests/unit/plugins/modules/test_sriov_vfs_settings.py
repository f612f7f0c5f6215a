# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""sriov_vfs with ``pfs[].vfs`` / ``pfs[].vf_defaults``: counts and per-VF settings in one execution."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _udev, _vf_settings
from ansible_collections.virt.sriov.plugins.modules import sriov_vfs
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeWriter
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import guest, usage_of

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"
COUNT2 = _udev.default_rule_path(PF2)
SETTINGS2 = _vf_settings.rule_path(PF2)
EINVAL = "RTNETLINK answers: Invalid argument"
LAB = [
    {"pf": "enp1s0", "num_vfs": 4},
    {"pf": "enp2s0", "num_vfs": "max", "vf_defaults": {"spoofchk": False}, "vfs": [{"vf": 3, "trust": True}]},
]


@pytest.fixture
def env(fake, run_module, monkeypatch):
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    fake.add_pf(PF2, "enp2s0", totalvfs=7, mac="52:54:00:aa:00:02")
    for program in ("usr/bin/udevadm", "usr/bin/systemctl", "usr/sbin/ip"):
        fake.add_program(program)
    state = {"writer": FakeWriter(fake), "refuse": None}
    state["usage"] = (usage_of(fake), None)
    monkeypatch.setattr(sriov_vfs, "SubprocessWriter", lambda: state["writer"])
    monkeypatch.setattr(sriov_vfs, "gather_usage", lambda host, uri: state["usage"])
    monkeypatch.delenv("SSH_CONNECTION", raising=False)

    def run(args, **kwargs):
        settings = fake.ip_set_commands(refuse=state["refuse"])

        def commands(argv):
            answer = fake.ip_management_answer(argv)
            if answer is not None:
                return answer
            if argv[0].endswith("systemctl") or (argv[0].endswith("udevadm") and argv[1] == "settle"):
                return 0, "", ""
            if argv[0].endswith("ip") and argv[1:3] == ["-j", "-d"]:
                return settings(["ip"] + argv[1:])
            return settings(argv)

        return run_module(sriov_vfs, args, commands=commands, **kwargs)

    run.state = state
    run.fake = fake
    return run


def admin(fake, pf, index):
    return dict(fake._admin().get((pf, index), {}))


def sets(fake):
    return [c[4:] for c in getattr(fake, "ip_calls", []) if c[1:3] == ["link", "set"] and "vf" in c]


def test_counts_and_settings_four_steps_in_one_execution(env):
    args = {"pfs": LAB}
    check = env(args, check_mode=True, diff=True)
    assert check["changed"]
    pf2 = check["pfs"][1]
    assert check["pfs"][0]["vf_settings"] is None
    settings = pf2["vf_settings"]
    # the VFs do not exist yet: every setting of the 7 VFs is predicted as a change
    assert settings["numvfs"] == 7 and pf2["changed"]
    assert [(c["vf"], c["setting"]) for c in settings["changes"]] == (
        [(i, "spoofchk") for i in range(3)] + [(3, "spoofchk"), (3, "trust")] + [(i, "spoofchk") for i in range(4, 7)])
    assert settings["changes"][0]["before"] == {"spoofchk": None} and settings["changes"][0]["after"] == {"spoofchk": False}
    vf3 = [vf for vf in settings["vfs"] if vf["vf"] == 3][0]
    assert vf3["trust"] is True and vf3["spoofchk"] is False and vf3["pci_address"] == "0000:02:10.6"
    assert settings["rule_path"] == SETTINGS2 and settings["rule_changed"]
    assert "vf 3 trust on" in settings["rule"]
    headers = [d.get("after_header") for d in check["diff"]]
    assert "enp2s0 vf 3" in headers and SETTINGS2 in headers
    assert [d for d in check["diff"] if d.get("after_header") == "enp2s0 vf 3"][0]["after"] == {"spoofchk": False, "trust": True}
    assert check["planned_vfs"]["enp2s0"][3] == "0000:02:10.6" and len(check["planned_vfs"]["enp1s0"]) == 4
    assert any("VF settings: 8 change(s)" in line for line in check["summary"])
    # check mode changed nothing
    assert env.fake.numvfs(PF2) == 0 and not os.path.exists(env.fake.p(SETTINGS2.lstrip("/"))) and sets(env.fake) == []

    apply = env(args)
    assert apply["changed"] and env.fake.numvfs(PF2) == 7
    assert admin(env.fake, PF2, 3) == {"spoofchk": False, "trust": True}
    assert admin(env.fake, PF2, 6) == {"spoofchk": False}
    assert env.fake.read(SETTINGS2.lstrip("/")) == settings["rule"]  # the prediction held
    assert os.path.exists(env.fake.p(COUNT2.lstrip("/")))
    applied = apply["pfs"][1]["vf_settings"]
    assert len(applied["changes"]) == 8 and applied["vfs"][3]["trust"] is True
    assert apply["planned_vfs"] == check["planned_vfs"]
    reloads = [c for c in env.fake.ip_calls if c[1:] == ["control", "--reload"]]
    assert len(reloads) == 1  # one reload for the count and the settings rules

    again = env(args, check_mode=True, diff=True)
    assert not again["changed"] and not again["pfs"][1]["vf_settings"]["changes"]
    last = env(args)
    assert not last["changed"] and sets(env.fake) == []
    assert last["pfs"][1]["vf_settings"]["vfs"][3]["trust"] is True


def test_settings_on_existing_vfs_keep_the_count(env):
    env({"pfs": LAB[:1] + [{"pf": "enp2s0", "num_vfs": "max"}]})
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": "max", "vfs": [{"vf": "1-2", "trust": True}]}]},
                 check_mode=True)
    assert result["changed"] and result["pfs"][0]["numvfs_before"] == 7
    assert [(c["vf"], c["before"]) for c in result["pfs"][0]["vf_settings"]["changes"]] == [
        (1, {"trust": False}), (2, {"trust": False})]
    assert env.state["writer"].writes == [4, 7]


def test_select_gives_its_settings_to_each_pf_it_chose(env):
    result = env({"pfs": [{"select": {"driver": "igb"}, "num_vfs": 2, "vfs": [{"vf": 1, "trust": True}]}]})
    assert [p["vf_settings"]["pci_address"] for p in result["pfs"]] == [PF1, PF2]
    assert admin(env.fake, PF1, 1) == {"trust": True} and admin(env.fake, PF2, 1) == {"trust": True}


def test_mac_on_vf_in_use_refused_before_anything_changes(env):
    env.fake.set_numvfs(PF2, 7)
    vf1 = env.fake.vf_address(PF2, 1)
    env.state["usage"] = (usage_of(env.fake, domains=[guest("guestVM", [vf1])]), None)
    vfs = [{"vf": 0, "trust": True}, {"vf": 1, "mac": "52:54:00:00:00:21"}]
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 4}, {"pf": "enp2s0", "num_vfs": 7, "vfs": vfs}]})
    assert result["failed"] and "guestVM" in result["msg"] and "VF 1 (%s) mac" % vf1 in result["msg"]
    # nothing changed: not the count of enp1s0 listed first, no setting, no rule
    assert env.state["writer"].writes == [] and env.fake.numvfs(PF1) == 0
    assert sets(env.fake) == [] and admin(env.fake, PF2, 0) == {}
    assert not os.path.exists(env.fake.p(_udev.default_rule_path(PF1))) and not os.path.exists(env.fake.p(SETTINGS2.lstrip("/")))


def test_mac_refused_when_libvirt_scan_incomplete(env):
    env.state["usage"] = (None, "libvirt is unreachable (Cannot connect)")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2, "vfs": [{"vf": 0, "mac": "52:54:00:00:00:21"}]}]})
    assert result["failed"] and "libvirt is unreachable" in result["msg"]
    assert env.state["writer"].writes == [] and env.fake.numvfs(PF2) == 0


def test_refused_setting_rolls_back_settings_and_keeps_the_complete_count(env):
    env.state["refuse"] = {"min_tx_rate": EINVAL}
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": 2,
                           "vfs": [{"vf": 0, "trust": True}, {"vf": 1, "min_tx_rate": 10}]}]})
    assert result["failed"] and "igb driver of PF enp2s0" in result["msg"] and "min_tx_rate" in result["msg"]
    assert "Set back what this run had changed: enp2s0 (0000:02:00.0) VF 0 trust" in result["msg"]
    assert "The VF counts of this run stay as set, with their udev rules" in result["msg"]
    assert result["errno"] == "EINVAL" and result["vf"] == 1
    # the count is complete (written, read back, persisted, udev reloaded); no setting stayed
    assert env.fake.numvfs(PF2) == 2 and os.path.exists(env.fake.p(COUNT2.lstrip("/")))
    assert admin(env.fake, PF2, 0) == {"trust": False}
    assert not os.path.exists(env.fake.p(SETTINGS2.lstrip("/")))
    assert [c for c in env.fake.ip_calls if c[1:] == ["control", "--reload"]]


@pytest.mark.parametrize("entry, needle", [
    ({"pf": "enp2s0", "num_vfs": 2, "vfs": [{"vf": 5, "trust": True}]}, "VF 5 of PF enp2s0"),
    ({"pf": "enp2s0", "num_vfs": 2, "vfs": [{"vf": "3-1", "trust": True}]}, "Invalid vf '3-1'"),
    ({"pf": "enp2s0", "num_vfs": 2, "vfs": [{"vf": 0, "vlan": 5000}]}, "Invalid vlan 5000"),
    ({"pf": "enp2s0", "num_vfs": 2, "vf_defaults": {"trust": "maybe"}}, "Invalid trust 'maybe'"),
    ({"pf": "enp2s0", "num_vfs": 2, "vf_defaults": {"mac": "52:54:00:00:00:01"}}, "cannot be shared"),
    ({"pf": "enp2s0", "state": "absent", "vf_defaults": {"trust": True}}, "vfs and vf_defaults need VFs"),
])
def test_bad_settings_change_nothing(env, entry, needle):
    result = env({"pfs": [{"pf": "enp1s0", "num_vfs": 4}, entry]})
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert "pfs[1] (pf enp2s0)" in result["msg"] or "Invalid vf" in result["msg"] or "Invalid vlan" in result["msg"]
    assert env.state["writer"].writes == [] and env.fake.numvfs(PF1) == 0 and sets(env.fake) == []


def test_absent_with_empty_vfs_removes_the_settings_rule_too(env):
    env({"pfs": LAB})
    assert os.path.exists(env.fake.p(SETTINGS2.lstrip("/")))
    # without vfs/vf_defaults the settings rule is left alone
    kept = env({"pfs": [{"pf": "enp2s0", "num_vfs": 7}]})
    assert kept["pfs"][0]["vf_settings"] is None and os.path.exists(env.fake.p(SETTINGS2.lstrip("/")))
    check = env({"pfs": [{"pf": "enp2s0", "state": "absent", "vfs": []}]}, check_mode=True)
    assert check["changed"] and check["pfs"][0]["vf_settings"]["rule_changed"]
    assert os.path.exists(env.fake.p(SETTINGS2.lstrip("/")))
    gone = env({"pfs": [{"pf": "enp2s0", "state": "absent", "vfs": []}]})
    assert gone["changed"] and env.fake.numvfs(PF2) == 0
    assert not os.path.exists(env.fake.p(SETTINGS2.lstrip("/"))) and not os.path.exists(env.fake.p(COUNT2.lstrip("/")))
    assert not env({"pfs": [{"pf": "enp2s0", "state": "absent", "vfs": []}]})["changed"]


def test_settings_change_on_the_management_pf_is_refused(env):
    env({"pfs": LAB})
    env.fake.add_default_route("enp2s0")
    result = env({"pfs": [{"pf": "enp2s0", "num_vfs": "max", "vfs": [{"vf": 0, "trust": True}]}]})
    assert result["failed"] and "management NIC" in result["msg"] and admin(env.fake, PF2, 0) == {"spoofchk": False}
    allowed = env({"pfs": [{"pf": "enp2s0", "num_vfs": "max", "allow_management": True, "vfs": [{"vf": 0, "trust": True}]}]})
    assert allowed["changed"] and admin(env.fake, PF2, 0)["trust"] is True
