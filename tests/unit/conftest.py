# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures shared by every unit test.

``fake``: a FakeHost (realistic sysfs tree) in tmp_path.
``run_module(module, args, check_mode=False, diff=False, commands=None)``: run a module's main()
against the fake tree and return its result dict (``failed`` is set on fail_json). The module
must create its host as ``Host(run_command=module.run_command)`` with ``Host`` imported into
the module's namespace: the fixture swaps that name for a Host rooted at the fake tree whose
commands are answered by ``commands`` (a callable argv -> (rc, out, err)) and recorded in
``run_module.calls``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18
    patch_module_args = None


class _ModuleDone(Exception):
    def __init__(self, result):
        super(_ModuleDone, self).__init__(result)
        self.result = result


# The collection is imported inside the fixtures, not at the top: pytest loads this conftest
# before pytest-ansible has put the collection on sys.path.


@pytest.fixture
def fake(tmp_path):
    from ansible_collections.virt.sriov.tests.unit.fakehost import FakeHost

    return FakeHost(tmp_path / "root")


class _Runner(object):
    def __init__(self, monkeypatch, fake_host):
        self._monkeypatch = monkeypatch
        self._fake = fake_host
        self.calls = []

    def __call__(self, module, args, check_mode=False, diff=False, commands=None):
        args = dict(args)
        if check_mode:
            args["_ansible_check_mode"] = True
        if diff:
            args["_ansible_diff"] = True
        from ansible_collections.virt.sriov.plugins.module_utils._host import Host

        root = self._fake.root
        calls = self.calls

        def run_command(argv, **kwargs):
            calls.append(list(argv))
            if commands is None:
                raise AssertionError("unexpected command %r" % (argv,))
            return commands(list(argv))

        def host_factory(root_ignored="/", run_command_ignored=None):
            return Host(root=root, run_command=run_command)

        def exit_json(self_, **kwargs):
            kwargs.setdefault("changed", False)
            raise _ModuleDone(kwargs)

        def fail_json(self_, msg, **kwargs):
            kwargs["failed"] = True
            kwargs["msg"] = msg
            raise _ModuleDone(kwargs)

        self._monkeypatch.setattr(module, "Host", lambda *a, **k: host_factory())
        # the host-wide lock of mutating modules lives in the fake tree too
        self._monkeypatch.setenv("VIRT_SRIOV_HOST_ROOT", str(root))
        self._monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
        self._monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
        try:
            if patch_module_args is not None:
                with patch_module_args(args):
                    module.main()
            else:
                self._monkeypatch.setattr(basic, "_ANSIBLE_ARGS",
                                          to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
                self._monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
                module.main()
        except _ModuleDone as done:
            return done.result
        raise AssertionError("module returned without exit_json or fail_json")


@pytest.fixture
def run_module(monkeypatch, fake):
    return _Runner(monkeypatch, fake)
