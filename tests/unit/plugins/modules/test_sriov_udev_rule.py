# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible.module_utils import basic

from ansible_collections.virt.sriov.plugins.modules import sriov_udev_rule

PF1 = "0000:01:00.0"
RULE1 = "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"


@pytest.fixture
def env(fake, run_module, monkeypatch):
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))
    fake.add_pf(PF1, "enp1s0", totalvfs=7, mac="52:54:00:5a:00:01")
    fake.add_pf("0000:02:00.0", "enp2s0", totalvfs=7)
    fake.add_program("usr/bin/udevadm")
    calls = []

    def commands(argv):
        calls.append(argv)
        if argv == ["/usr/bin/udevadm", "--version"]:
            return 0, "252\n", ""
        if argv == ["/usr/bin/udevadm", "control", "--reload"]:
            return 0, "", ""
        raise AssertionError(argv)

    def run(args, **kwargs):
        return run_module(sriov_udev_rule, args, commands=commands, **kwargs)

    run.fake = fake
    run.calls = calls
    run.warnings = warnings
    return run


def reloads(env):
    return sum(1 for c in env.calls if c == ["/usr/bin/udevadm", "control", "--reload"])


def test_four_steps(env):
    args = {"pf": "enp1s0", "num_vfs": 4}
    first = env(args, check_mode=True, diff=True)
    assert first["changed"] and first["path"] == RULE1
    assert first["diff"]["before"] == "" and 'ATTR{device/sriov_numvfs}="4"' in first["diff"]["after"]
    assert not os.path.exists(env.fake.p(RULE1)) and reloads(env) == 0
    second = env(args)
    assert second["changed"] and second["reloaded"] and reloads(env) == 1
    assert second["rule"] == ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", '
                              'ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4"')
    assert stat.S_IMODE(os.stat(env.fake.p(RULE1)).st_mode) == 0o644
    assert not env(args, check_mode=True)["changed"]
    third = env(args)
    assert not third["changed"] and not third["reloaded"] and reloads(env) == 1


def test_max_resolved_and_change(env):
    env({"pci_address": PF1, "num_vfs": 4})
    result = env({"pci_address": PF1, "num_vfs": "max"}, diff=True)
    assert result["changed"] and result["num_vfs"] == 7
    assert '"4"' in result["diff"]["before"] and '"7"' in result["diff"]["after"]


def test_wrong_mode_is_fixed(env):
    env({"pf": "enp1s0", "num_vfs": 4})
    os.chmod(env.fake.p(RULE1), 0o600)
    assert env({"pf": "enp1s0", "num_vfs": 4})["changed"]
    assert stat.S_IMODE(os.stat(env.fake.p(RULE1)).st_mode) == 0o644


def test_match_mac_and_driver_warns(env):
    mac = env({"pf": "enp1s0", "num_vfs": 2, "match": "mac"})
    assert 'ATTR{address}=="52:54:00:5a:00:01"' in mac["rule"]
    drv = env({"pf": "enp1s0", "num_vfs": 2, "match": "driver"})
    assert 'ENV{ID_NET_DRIVER}=="igb"' in drv["rule"]
    assert any("EVERY port" in w for w in env.warnings)


def test_absent(env):
    env({"pf": "enp1s0", "num_vfs": 4})
    check = env({"pci_address": PF1, "state": "absent"}, check_mode=True)
    assert check["changed"] and os.path.exists(env.fake.p(RULE1))
    result = env({"pci_address": PF1, "state": "absent"})
    assert result["changed"] and not os.path.exists(env.fake.p(RULE1)) and reloads(env) == 2
    assert not env({"pci_address": PF1, "state": "absent"})["changed"]
    # the PF need not exist any more
    assert not env({"pci_address": "0000:09:00.0", "state": "absent"})["changed"]


def test_custom_path(env):
    path = "/run/udev/rules.d/90-sriov-enp1s0.rules"
    result = env({"pf": "enp1s0", "num_vfs": 3, "path": path})
    assert result["changed"] and result["path"] == path and os.path.exists(env.fake.p(path))
    assert env({"pf": "enp1s0", "state": "absent", "path": path})["changed"]


def test_other_owner_warning(env):
    env.fake.write("etc/udev/rules.d/70-guide.rules",
                   'ACTION=="add", SUBSYSTEM=="net", ENV{ID_NET_DRIVER}=="igb", ATTR{device/sriov_numvfs}="2"\n')
    result = env({"pf": "enp1s0", "num_vfs": 4})
    assert any("70-guide.rules" in w for w in env.warnings)
    assert result["other_owners"]


@pytest.mark.parametrize("args, needle", [
    ({"pf": "nope0", "num_vfs": 2}, "'nope0' is not an SR-IOV capable PF"),
    ({"pf": "enp1s0", "num_vfs": 8}, "at most 7"),
    ({"pf": "enp1s0", "num_vfs": 0}, "state=absent"),
    ({"pf": "enp1s0", "num_vfs": -3}, "cannot be negative"),
    ({"pf": "enp1s0", "num_vfs": "3x"}, "Invalid num_vfs"),
    ({"pf": 'enp1s0", RUN+="/bin/sh', "num_vfs": 2}, "Invalid network interface name"),
    ({"pf": "enp1s0\n", "num_vfs": 2}, "'enp1s0\\n'"),
    ({"pf": "enp1s0", "num_vfs": 2, "path": "/etc/passwd"}, "outside the udev rules directories"),
    ({"pf": "enp1s0", "num_vfs": 2, "path": "/etc/udev/rules.d/../../passwd"}, "without '..'"),
    ({"pf": "enp1s0", "num_vfs": 2, "match": "name"}, "value of match must be one of"),
])
def test_bad_input(env, args, needle):
    result = env(args)
    assert result["failed"] and needle in result["msg"], result
    rules_dir = env.fake.p("etc/udev/rules.d")
    assert not os.path.isdir(rules_dir) or os.listdir(rules_dir) == []
    assert reloads(env) == 0


def test_vf_as_pf(env):
    env.fake.set_numvfs(PF1, 2)
    result = env({"pf": "enp1s0v0", "num_vfs": 2})
    assert result["failed"] and "virtual function" in result["msg"]


def test_stuck_numvfs_fails_without_change(env, monkeypatch):
    from ansible_collections.virt.sriov.plugins.module_utils import _numvfs_read

    monkeypatch.setattr(_numvfs_read, "read_bounded", lambda path, timeout: _numvfs_read.TIMED_OUT)
    result = env({"pf": "enp1s0", "num_vfs": 4})
    assert result["failed"] and "did not answer" in result["msg"]
    assert not os.path.exists(env.fake.p(RULE1)) and reloads(env) == 0


def test_link_up_four_steps_and_switch(env):
    env.fake.add_program("usr/sbin/ip")
    args = {"pf": "enp1s0", "num_vfs": 4, "link_up": True}
    first = env(args, check_mode=True, diff=True)
    assert first["changed"] and not os.path.exists(env.fake.p(RULE1))
    assert 'RUN+="/usr/sbin/ip link set dev $name up"' in first["diff"]["after"]
    second = env(args)
    assert second["changed"] and reloads(env) == 1
    assert second["link_up_rule"] == ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", '
                                      'ATTR{device/sriov_numvfs}=="?*", '
                                      'RUN+="/usr/sbin/ip link set dev $name up"')
    assert env.fake.read(RULE1).count("\nACTION==") == 2
    assert not env(args, check_mode=True)["changed"] and not env(args)["changed"]
    # switching link_up off rewrites the file without the link line
    off = env({"pf": "enp1s0", "num_vfs": 4}, diff=True)
    assert off["changed"] and off["link_up_rule"] is None and "RUN+=" not in env.fake.read(RULE1)
    assert "RUN+=" in off["diff"]["before"]


def test_link_up_without_ip_fails_without_change(env):
    result = env({"pf": "enp1s0", "num_vfs": 4, "link_up": True})
    assert result["failed"] and "needs the ip command" in result["msg"], result
    assert not os.path.exists(env.fake.p(RULE1)) and reloads(env) == 0


def test_link_up_driver_match_warns(env):
    env.fake.add_program("sbin/ip")
    result = env({"pf": "enp1s0", "num_vfs": 2, "match": "driver", "link_up": True})
    assert not result.get("failed"), result
    assert 'ENV{ID_NET_DRIVER}=="igb", ATTR{device/sriov_numvfs}=="?*", RUN+="/sbin/ip link' in result["content"]
    assert any("brings up EVERY port driven by igb" in w for w in env.warnings), env.warnings


FOREIGN = 'ACTION=="add", SUBSYSTEM=="net", KERNEL=="eth*", NAME="lan0"\n'


@pytest.mark.parametrize("args", [
    {"pf": "enp1s0", "num_vfs": 3},
    {"pf": "enp1s0", "state": "absent"},
])
@pytest.mark.parametrize("check_mode", [True, False])
def test_explicit_path_to_a_foreign_file_is_refused(env, args, check_mode):
    path = "/etc/udev/rules.d/70-persistent-net.rules"
    env.fake.write(path, FOREIGN)
    result = env(dict(args, path=path), check_mode=check_mode)
    assert result["failed"] and "does not carry this collection's marker" in result["msg"]
    assert path in result["msg"]
    assert env.fake.read(path) == FOREIGN and reloads(env) == 0


def test_explicit_path_to_our_own_file_is_managed(env):
    path = "/etc/udev/rules.d/90-sriov-enp1s0.rules"
    assert env({"pf": "enp1s0", "num_vfs": 3, "path": path})["changed"]
    assert env({"pf": "enp1s0", "num_vfs": 4, "path": path})["changed"]
    assert env({"pf": "enp1s0", "state": "absent", "path": path})["changed"]
    assert not os.path.exists(env.fake.p(path))


def test_name_in_a_rule_that_sorts_before_net_setup_link_warns(env):
    env.fake.add_program("usr/sbin/ip")
    path = "/etc/udev/rules.d/70-sriov.rules"
    result = env({"pf": "enp1s0", "num_vfs": 3, "path": path, "link_up": True})
    assert result["changed"]
    assert any("sorts before 80-net-setup-link.rules" in w and "$name" in w for w in env.warnings)
    env.warnings[:] = []
    env({"pf": "enp1s0", "num_vfs": 3, "link_up": True})  # the default 82- name
    assert not any("80-net-setup-link" in w for w in env.warnings)
