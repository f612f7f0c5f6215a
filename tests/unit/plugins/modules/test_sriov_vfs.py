# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json

import pytest

from ansible_collections.virt.sriov.plugins.modules import sriov_vfs
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeWriter
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import guest, usage_of

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"


def ip_link(argv):
    """``ip -j -d link show dev PF``: the PF reports its VFs' admin settings."""
    assert argv[:2] == ["ip", "-j"], argv
    return 0, json.dumps([{"ifname": argv[-1], "vfinfo_list": [
        {"vf": 0, "address": "00:00:00:00:00:00", "spoofchk": True, "trust": False, "link_state": "auto"},
    ]}]), ""


@pytest.fixture
def env(fake, run_module, monkeypatch):
    """Two igb PFs; the module's writer applies the kernel's rules to the fake tree."""
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    fake.add_pf(PF2, "enp2s0", totalvfs=7, mac="52:54:00:aa:00:02")
    state = {"writer": FakeWriter(fake), "usage": (None, None)}
    monkeypatch.setattr(sriov_vfs, "SubprocessWriter", lambda: state["writer"])
    monkeypatch.setattr(sriov_vfs, "gather_usage", lambda host, uri: state["usage"])

    def run(args, **kwargs):
        kwargs.setdefault("commands", ip_link)
        return run_module(sriov_vfs, args, **kwargs)

    run.state = state
    run.fake = fake
    return run


def numvfs(fake, pf):
    return fake.numvfs(pf)


def test_four_step_idempotence(env):
    args = {"pf": "enp1s0", "num_vfs": 4}
    first = env(args, check_mode=True, diff=True)
    assert first["changed"] and first["numvfs_after"] == 4
    assert first["diff"] == {"before": {"numvfs": 0}, "after": {"numvfs": 4}}
    assert numvfs(env.fake, PF1) == 0
    second = env(args)
    assert second["changed"] and numvfs(env.fake, PF1) == 4
    assert [vf["index"] for vf in second["vfs"]] == [0, 1, 2, 3]
    assert second["pf"]["numvfs"] == 4 and second["pf"]["vfs"] == second["vfs"]
    assert second["vfs"][0]["pci_address"] == "0000:01:10.0"
    assert not env(args, check_mode=True)["changed"]
    third = env(args)
    assert not third["changed"] and env.state["writer"].writes == [4]


def test_max_by_pci_address(env):
    result = env({"pci_address": "02:00.0", "num_vfs": "max"})
    assert result["changed"] and result["numvfs_after"] == 7 and numvfs(env.fake, PF2) == 7


def test_change_count_writes_zero_first(env):
    env.fake.set_numvfs(PF1, 4)
    result = env({"pf": "enp1s0", "num_vfs": 2})
    assert result["changed"] and env.state["writer"].writes == [0, 2]
    assert result["numvfs_before"] == 4 and result["numvfs_after"] == 2


def test_absent_removes_all(env):
    env.fake.set_numvfs(PF1, 3)
    result = env({"pf": "enp1s0", "state": "absent"})
    assert result["changed"] and numvfs(env.fake, PF1) == 0 and result["vfs"] == []


def test_in_use_refused_naming_vf_and_guest(env):
    env.fake.set_numvfs(PF1, 4)
    vf = env.fake.vf_address(PF1, 1)
    env.fake.bind_vfio(vf)

    env.state["usage"] = (usage_of(env.fake, domains=[guest("guestVM", [vf])]), None)
    result = env({"pf": "enp1s0", "num_vfs": 2})
    assert result["failed"]
    assert "VF 1 (%s)" % vf in result["msg"] and "guestVM" in result["msg"] and "vfio-pci" in result["msg"]
    assert result["vfs_in_use"][0]["pci_address"] == vf
    assert env.state["writer"].writes == [] and numvfs(env.fake, PF1) == 4
    forced = env({"pf": "enp1s0", "num_vfs": 2, "force": True})
    assert forced["failed"] and "force=true does not override" in forced["msg"]
    assert env.state["writer"].writes == [] and numvfs(env.fake, PF1) == 4


def test_force_removes_in_use_with_warning(env):
    env.fake.set_numvfs(PF1, 4)
    env.fake.bind_vfio(env.fake.vf_address(PF1, 1))
    env.state["usage"] = (None, "libvirt not reachable")
    result = env({"pf": "enp1s0", "num_vfs": 2, "force": True})
    assert result["changed"] and env.state["writer"].writes == [0, 2]
    assert result["vfs_in_use"][0]["index"] == 1


def test_stuck_write_fails_clearly(env):
    env.fake.set_numvfs(PF1, 4)
    env.state["writer"] = FakeWriter(env.fake, hang={0})
    result = env({"pf": "enp1s0", "num_vfs": 2, "force": True, "timeout": 5})
    assert result["failed"] and "stuck" in result["msg"] and "enp1s0" in result["msg"]


def test_kernel_erange_from_writer(env):
    env.state["writer"] = FakeWriter(env.fake, fail={3: errno.ENOMEM})
    result = env({"pf": "enp1s0", "num_vfs": 3})
    assert result["failed"] and "pci=realloc" in result["msg"]


@pytest.mark.parametrize("args, needle", [
    ({"pf": "nope0", "num_vfs": 2}, "'nope0' is not an SR-IOV capable PF"),
    ({"pf": "enp1s0v0", "num_vfs": 2}, "virtual function of PF"),
    ({"pf": "enp1s0", "num_vfs": 8}, "at most 7"),
    ({"pf": "enp1s0", "num_vfs": -1}, "cannot be negative"),
    ({"pf": "enp1s0", "num_vfs": "2.5"}, "Invalid num_vfs '2.5'"),
    ({"pf": "enp1s0", "num_vfs": "lots"}, "Invalid num_vfs 'lots'"),
    ({"pf": 'enp1s0"', "num_vfs": 2}, "Invalid network interface name"),
    ({"pf": "enp1s0\nx", "num_vfs": 2}, "Invalid network interface name"),
    ({"pci_address": "0000:01:00.9", "num_vfs": 2}, "Invalid PCI address"),
    ({"pf": "enp1s0", "num_vfs": 2, "pci_address": PF1}, "mutually exclusive"),
    ({"pf": "enp1s0"}, "num_vfs"),
    ({"pf": "enp1s0", "state": "absent", "num_vfs": 3}, "contradicts state=absent"),
])
def test_bad_input_changes_nothing(env, args, needle):
    env.fake.set_numvfs(PF1, 1)
    result = env(args)
    assert result["failed"], result
    assert needle in result["msg"]
    assert env.state["writer"].writes == [] and numvfs(env.fake, PF1) == 1


def test_vf_given_as_pf_by_address(env):
    env.fake.set_numvfs(PF1, 2)
    result = env({"pci_address": env.fake.vf_address(PF1, 0), "num_vfs": 2})
    assert result["failed"] and "is a virtual function of PF 0000:01:00.0" in result["msg"]
