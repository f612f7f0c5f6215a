# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The host-wide lock: exclusive, bounded wait, names its holder, released on exit."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._lock import LOCK_PATH, host_lock
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import Clock


def test_second_holder_waits_bounded_and_names_the_first(tmp_path):
    host = Host(root=str(tmp_path))
    clock = Clock()
    with host_lock(host, "sriov_vfs"):
        with pytest.raises(SriovError) as info:
            with host_lock(host, "libvirt_vf_pool_network", timeout=5, clock=clock, sleep=clock.sleep):
                pass  # pragma: no cover
    assert "sriov_vfs (pid %d)" % os.getpid() in info.value.msg
    assert "within 5 s" in info.value.msg
    assert clock.now >= 5


def test_released_after_the_block(tmp_path):
    host = Host(root=str(tmp_path))
    with host_lock(host, "a"):
        pass
    fd = os.open(host.path(LOCK_PATH), os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again: does not raise
    finally:
        os.close(fd)
