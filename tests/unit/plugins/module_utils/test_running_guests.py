# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _running_guests as lg
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import Clock, FakeConn, guest


SYSTEM = "qemu:///system"


def entry(name, uri=SYSTEM):
    """A guest as the module reports it."""
    return {"uri": uri, "name": name, "uuid": "uuid-" + name}


def test_list_running_on_every_uri_skips_a_guest_undefined_meanwhile():
    gone = guest("gone")
    gone.undefined = True
    conns = {SYSTEM: FakeConn([guest("web"), guest("db"), guest("off", running=False), gone]),
             "qemu:///session": FakeConn([guest("tmp", persistent=False)])}
    running, transient = lg.list_running(conns)
    assert running == [entry("db"), entry("web"), entry("tmp", "qemu:///session")]
    assert transient == [entry("tmp", "qemu:///session")]


def test_shutdown_all_then_start_exactly_those():
    web, db, off = guest("web"), guest("db"), guest("off", running=False)
    conns = {SYSTEM: FakeConn([web, db, off])}
    clock = Clock()
    result = lg.shutdown_guests(conns, timeout=60, clock=clock, sleep=clock.sleep)
    assert result == {"stopped": [entry("db"), entry("web")], "destroyed": [], "changed": True}
    assert (web.active, db.active, web.actions) == (False, False, ["shutdown"])
    started = lg.start_guests(conns, result["stopped"])
    assert started == {"started": [entry("db"), entry("web")], "already_running": [], "failed": [],
                       "changed": True}
    assert off.actions == []  # a guest that was shut off stays shut off
    again = lg.start_guests(conns, result["stopped"])
    assert (again["changed"], again["already_running"]) == (False, [entry("db"), entry("web")])


def test_shutdown_check_mode_changes_nothing():
    web = guest("web")
    result = lg.shutdown_guests({SYSTEM: FakeConn([web])}, check_mode=True)
    assert (result["changed"], result["stopped"], web.actions, web.active) == (True, [entry("web")], [], True)


def test_shutdown_without_running_guests_is_a_no_op():
    assert lg.shutdown_guests({SYSTEM: FakeConn([guest("off", running=False)])}) == {
        "stopped": [], "destroyed": [], "changed": False}


def test_a_guest_that_ignores_acpi_fails_after_the_timeout_and_keeps_running():
    web, mute = guest("web"), guest("guestVM", shuts_down=False)
    clock = Clock()
    with pytest.raises(SriovError) as err:
        lg.shutdown_guests({SYSTEM: FakeConn([web, mute])}, timeout=30, clock=clock, sleep=clock.sleep)
    assert "did not shut down within 30 s: guestVM (qemu:///system)" in err.value.msg
    assert "nothing was destroyed" in err.value.msg
    assert err.value.details["stopped"] == [entry("web")]  # to be started again by the caller
    assert err.value.details["still_running"] == [entry("guestVM")]
    assert mute.active is True and "destroy" not in mute.actions
    assert 30 <= clock.now <= 32


def test_destroy_only_when_asked():
    mute = guest("guestVM", shuts_down=False)
    clock = Clock()
    result = lg.shutdown_guests({SYSTEM: FakeConn([mute])}, timeout=10, on_timeout="destroy",
                                clock=clock, sleep=clock.sleep)
    assert result["stopped"] == result["destroyed"] == [entry("guestVM")]
    assert mute.actions == ["shutdown", "destroy"] and mute.active is False


def test_a_transient_guest_is_refused_before_anything_stops():
    web, tmp = guest("web"), guest("tmp", persistent=False)
    with pytest.raises(SriovError) as err:
        lg.shutdown_guests({SYSTEM: FakeConn([web, tmp])})
    assert "Guest tmp (qemu:///system) is transient" in err.value.msg
    assert "Nothing was shut down" in err.value.msg
    assert web.actions == [] and tmp.actions == []


def test_shutdown_of_named_guests_only():
    web, db = guest("web"), guest("db")
    result = lg.shutdown_guests({SYSTEM: FakeConn([web, db])}, guests=[{"uri": SYSTEM, "name": "web", "uuid": None}])
    assert result["stopped"] == [entry("web")] and db.active is True


def test_start_tries_every_guest_and_names_the_failures():
    a, b = guest("a", running=False, start_error="no more PCI slots"), guest("b", running=False)
    with pytest.raises(SriovError) as err:
        lg.start_guests({SYSTEM: FakeConn([a, b])}, [entry("a"), entry("b"), entry("gone")])
    assert err.value.msg == ("2 guest(s) did not start: starting a (qemu:///system) failed: no more PCI "
                             "slots; guest gone (qemu:///system) is no longer defined.")
    assert err.value.details["started"] == [entry("b")] and err.value.details["changed"] is True
    assert b.active is True


def test_start_check_mode():
    b = guest("b", running=False)
    result = lg.start_guests({SYSTEM: FakeConn([b])}, [entry("b")], check_mode=True)
    assert result["started"] == [entry("b")] and b.actions == []
