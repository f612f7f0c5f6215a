# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a no-op run costs, pinned structurally (no timings): the layers a module loads, the
commands it runs, the child processes it starts and the libvirt connections it opens.

On a slow host (bench/ item 2: each module's no-op against ``ping``) every import, every
process start and every libvirt round trip shows; a later change must not quietly add one.
The guards stay: each no-op below still reads what it needs to refuse what it refused before.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

from ansible.module_utils import basic

from ansible_collections.virt.sriov.plugins.module_utils import _numvfs, _numvfs_read
from ansible_collections.virt.sriov.plugins.modules import sriov_udev_rule, sriov_vf_settings

PF1 = "0000:01:00.0"

PROBE = """
import json, sys
import ansible_collections.virt.sriov.plugins.modules.%s
print(json.dumps(sorted(sys.modules)))
"""

# Layers a module must not load when it is imported: they serve other calls (the write path of
# the VF count, the PF description and the libvirt usage scan of sriov_vfs/sriov_info, the
# libvirt bindings). Every run compiles the module_utils it imports from source (AnsiballZ
# ships no bytecode), so a layer loaded for nothing costs its whole size on every run.
NOT_AT_IMPORT = {
    "sriov_udev_rule": ["_numvfs", "_sriov_facts", "_vf_usage", "_iplink", "_libvirt", "xml.etree.ElementTree",
                        "libvirt"],
    "sriov_vf_settings": ["_numvfs", "_sriov_facts", "_vf_usage", "_libvirt", "xml.etree.ElementTree", "libvirt"],
    "sriov_vfs": ["_vf_usage", "_libvirt", "xml.etree.ElementTree", "libvirt"],
    # it connects to libvirt on every run; the guests' usage scan only when a guard asks
    "libvirt_vf_pool_network": ["_vf_usage"],
}


def _loaded(module):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", PROBE % module], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("module", sorted(NOT_AT_IMPORT))
def test_module_import_leaves_out_unused_layers(module):
    loaded = _loaded(module)
    found = [name for name in NOT_AT_IMPORT[module]
             if name in loaded or any(m.endswith("module_utils." + name) for m in loaded)]
    assert found == [], "%s loads %s at import" % (module, found)


@pytest.fixture
def no_interpreter_child(monkeypatch):
    """Fail the test when a run starts a Python child (run_child: the bounded sysfs writer)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a no-op started a Python child: %r" % (args[1:],))

    monkeypatch.setattr(_numvfs, "run_child", refuse)


def test_udev_rule_noop_runs_no_command_and_no_interpreter(fake, run_module, monkeypatch, no_interpreter_child):
    fake.add_pf(PF1, "enp1s0", totalvfs=7, mac="52:54:00:5a:00:01")
    fake.add_program("usr/bin/udevadm")
    fake.add_program("usr/sbin/ip")
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: None)

    def commands(argv):
        if argv[1:] == ["--version"]:
            return 0, "252\n", ""  # no `udevadm verify` before systemd 254
        if argv[1:] == ["control", "--reload"]:
            return 0, "", ""
        raise AssertionError(argv)

    args = {"pf": "enp1s0", "num_vfs": 4, "link_up": True}
    assert run_module(sriov_udev_rule, args, commands=commands)["changed"]
    before = len(run_module.calls)
    result = run_module(sriov_udev_rule, args, commands=commands)
    assert not result["changed"] and not result["verified"] and not result["reloaded"]
    assert run_module.calls[before:] == []  # no udevadm --version, verify or reload


def test_udev_rule_noop_still_refuses_a_stuck_pf(fake, run_module, monkeypatch):
    """The probe of sriov_numvfs stays on the no-op path (now a fork, not an interpreter)."""
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    monkeypatch.setattr(_numvfs_read, "read_bounded", lambda path, timeout: _numvfs_read.TIMED_OUT)
    result = run_module(sriov_udev_rule, {"pf": "enp1s0", "num_vfs": 4})
    assert result["failed"] and "did not answer" in result["msg"]


def test_read_bounded_forks_instead_of_starting_an_interpreter(tmp_path, no_interpreter_child):
    target = tmp_path / "sriov_numvfs"
    target.write_text("4\n")
    assert _numvfs_read.read_bounded(str(target), 10) == "4"


def test_vf_settings_noop_reads_ip_once_and_skips_libvirt(fake, run_module, monkeypatch, no_interpreter_child):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    fake.add_program("usr/sbin/ip")
    fake.add_program("usr/bin/udevadm")
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: None)
    loads = []
    monkeypatch.setattr("ansible_collections.virt.sriov.plugins.module_utils._vf_settings.load_usage",
                        lambda host, uri: loads.append(uri))
    commands = fake.ip_set_commands()
    args = {"pf": "enp1s0", "vf_defaults": {"trust": True}, "persist": True}
    assert run_module(sriov_vf_settings, args, commands=commands)["changed"]
    fake.ip_calls[:] = []
    result = run_module(sriov_vf_settings, args, commands=commands)
    assert not result["changed"] and not result["reloaded"]
    assert [c[1:3] for c in fake.ip_calls] == [["-j", "-d"]]  # one `ip -j -d link show`, no udevadm
    assert loads == []  # no libvirt scan: nothing a guest could see changes
