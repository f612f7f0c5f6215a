# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
from ansible_collections.virt.sriov.plugins.modules import libvirt_guests
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import FakeConn, guest


@pytest.fixture
def conns(monkeypatch):
    """qemu:///system with guestVM running and idle shut off; every URI opened is recorded."""
    table = {"qemu:///system": FakeConn([guest("guestVM"), guest("idle", running=False)])}
    opened = []

    @contextmanager
    def open_connection(uri="qemu:///system", read_only=False):
        opened.append(uri)
        yield table[uri]

    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", True)
    monkeypatch.setattr(_libvirt, "open_connection", open_connection)
    monkeypatch.setattr(libvirt_guests, "Host", None, raising=False)  # for the run_module fixture
    table["opened"] = opened
    return table


def test_listed_is_read_only(conns, run_module):
    result = run_module(libvirt_guests, {})
    assert result["changed"] is False
    assert [g["name"] for g in result["running"]] == ["guestVM"]
    assert conns["qemu:///system"].domains[0].actions == []


def test_shutdown_check_mode_then_real(conns, run_module):
    check = run_module(libvirt_guests, {"state": "shutdown"}, check_mode=True)
    assert (check["changed"], [g["name"] for g in check["stopped"]]) == (True, ["guestVM"])
    real = run_module(libvirt_guests, {"state": "shutdown", "timeout": 5})
    assert (real["changed"], real["stopped"], real["destroyed"]) == (True, check["stopped"], [])
    again = run_module(libvirt_guests, {"state": "shutdown"})
    assert (again["changed"], again["stopped"]) == (False, [])
    back = run_module(libvirt_guests, {"state": "started", "guests": real["stopped"]})
    assert (back["changed"], [g["name"] for g in back["started"]]) == (True, ["guestVM"])
    assert conns["qemu:///system"].domains[1].actions == []  # idle was not running: not started


def test_started_needs_guests(conns, run_module):
    result = run_module(libvirt_guests, {"state": "started"})
    assert result["failed"] is True and "guests" in result["msg"]


def test_timeout_failure_names_the_guest(conns, run_module):
    conns["qemu:///system"].domains[0].shuts_down = False
    result = run_module(libvirt_guests, {"state": "shutdown", "timeout": 0})
    assert result["failed"] is True
    assert "did not shut down within 0 s: guestVM (qemu:///system)" in result["msg"]
    assert [g["name"] for g in result["still_running"]] == ["guestVM"]


def test_negative_timeout_is_refused(conns, run_module):
    result = run_module(libvirt_guests, {"state": "shutdown", "timeout": -1})
    assert result["failed"] is True and result["msg"].startswith("Invalid timeout -1")
