# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module runner: results, failures, libvirt requirement and the host lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _module
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError


class Done(Exception):
    pass


class FakeModule(object):
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        self.result = None

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **kwargs):
        self.result = kwargs
        raise Done()

    def fail_json(self, msg, **kwargs):
        self.result = dict(kwargs, msg=msg, failed=True)
        raise Done()


def run(work, **kwargs):
    module = kwargs.pop("module", None) or FakeModule()
    with pytest.raises(Done):
        _module.run_module(module, work, **kwargs)
    return module


def test_result_warnings_and_diff_only_with_diff():
    module = run(lambda m: {"changed": True, "warnings": ["careful"], "diff": {"before": "a", "after": "b"}})
    assert module.result == {"changed": True}
    assert module.warnings == ["careful"]
    module = run(lambda m: {"changed": True, "diff": {"before": "a", "after": "b"}}, module=FakeModule(diff=True))
    assert module.result["diff"] == {"before": "a", "after": "b"}


def test_sriov_error_becomes_message_and_details():
    def work(_m):
        raise SriovError("PF 'eth9' not found; valid: enp1s0", valid_pfs=["enp1s0"])

    module = run(work)
    assert module.result == {"msg": "PF 'eth9' not found; valid: enp1s0", "valid_pfs": ["enp1s0"], "failed": True}


def test_unexpected_error_one_line_and_traceback_in_exception():
    def work(_m):
        raise KeyError("first line\nsecond line")

    module = run(work)
    assert module.result["failed"] is True
    assert module.result["msg"].startswith("Unexpected error: KeyError: ")
    assert "\n" not in module.result["msg"]
    assert "Traceback" in module.result["exception"]


def test_lock_is_held_while_work_runs_and_not_in_check_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("VIRT_SRIOV_HOST_ROOT", str(tmp_path))
    lock = tmp_path / "run" / "virt-sriov.lock"

    def work(_m):
        return {"changed": False, "holder": lock.read_text()}

    module = run(work, lock_name="sriov_vfs")
    assert module.result["holder"].startswith("sriov_vfs (pid ")
    lock.unlink()
    run(lambda m: {"changed": False}, lock_name="sriov_vfs", module=FakeModule(check_mode=True))
    assert not lock.exists()
