# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _running_guests as lg
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.tests.unit.fakeguests import Clock, FakeConn, FakeDomain


SYSTEM = "qemu:///system"


def guest(name, uri=SYSTEM):
    return {"uri": uri, "name": name, "uuid": "uuid-" + name}


def test_list_running_on_every_uri_skips_a_guest_undefined_meanwhile():
    gone = FakeDomain("gone")
    gone.undefined = True
    conns = {SYSTEM: FakeConn(FakeDomain("web"), FakeDomain("db"), FakeDomain("off", active=False), gone),
             "qemu:///session": FakeConn(FakeDomain("tmp", persistent=False))}
    running, transient = lg.list_running(conns)
    assert running == [guest("db"), guest("web"), guest("tmp", "qemu:///session")]
    assert transient == [guest("tmp", "qemu:///session")]


def test_shutdown_all_then_start_exactly_those():
    web, db, off = FakeDomain("web"), FakeDomain("db"), FakeDomain("off", active=False)
    conns = {SYSTEM: FakeConn(web, db, off)}
    clock = Clock()
    result = lg.shutdown_guests(conns, timeout=60, clock=clock, sleep=clock.sleep)
    assert result == {"stopped": [guest("db"), guest("web")], "destroyed": [], "changed": True}
    assert (web.active, db.active, web.calls) == (False, False, ["shutdown"])
    started = lg.start_guests(conns, result["stopped"])
    assert started == {"started": [guest("db"), guest("web")], "already_running": [], "failed": [],
                       "changed": True}
    assert off.calls == []  # a guest that was shut off stays shut off
    again = lg.start_guests(conns, result["stopped"])
    assert (again["changed"], again["already_running"]) == (False, [guest("db"), guest("web")])


def test_shutdown_check_mode_changes_nothing():
    web = FakeDomain("web")
    result = lg.shutdown_guests({SYSTEM: FakeConn(web)}, check_mode=True)
    assert (result["changed"], result["stopped"], web.calls, web.active) == (True, [guest("web")], [], True)


def test_shutdown_without_running_guests_is_a_no_op():
    assert lg.shutdown_guests({SYSTEM: FakeConn(FakeDomain("off", active=False))}) == {
        "stopped": [], "destroyed": [], "changed": False}


def test_a_guest_that_ignores_acpi_fails_after_the_timeout_and_keeps_running():
    web, mute = FakeDomain("web"), FakeDomain("guestVM", answers_acpi=False)
    clock = Clock()
    with pytest.raises(SriovError) as err:
        lg.shutdown_guests({SYSTEM: FakeConn(web, mute)}, timeout=30, clock=clock, sleep=clock.sleep)
    assert "did not shut down within 30 s: guestVM (qemu:///system)" in err.value.msg
    assert "nothing was destroyed" in err.value.msg
    assert err.value.details["stopped"] == [guest("web")]  # to be started again by the caller
    assert err.value.details["still_running"] == [guest("guestVM")]
    assert mute.active is True and "destroy" not in mute.calls
    assert 30 <= clock.now <= 32


def test_destroy_only_when_asked():
    mute = FakeDomain("guestVM", answers_acpi=False)
    clock = Clock()
    result = lg.shutdown_guests({SYSTEM: FakeConn(mute)}, timeout=10, on_timeout="destroy",
                                clock=clock, sleep=clock.sleep)
    assert result["stopped"] == result["destroyed"] == [guest("guestVM")]
    assert mute.calls == ["shutdown", "destroy"] and mute.active is False


def test_a_transient_guest_is_refused_before_anything_stops():
    web, tmp = FakeDomain("web"), FakeDomain("tmp", persistent=False)
    with pytest.raises(SriovError) as err:
        lg.shutdown_guests({SYSTEM: FakeConn(web, tmp)})
    assert "Guest tmp (qemu:///system) is transient" in err.value.msg
    assert "Nothing was shut down" in err.value.msg
    assert web.calls == [] and tmp.calls == []


def test_shutdown_of_named_guests_only():
    web, db = FakeDomain("web"), FakeDomain("db")
    result = lg.shutdown_guests({SYSTEM: FakeConn(web, db)}, guests=[{"uri": SYSTEM, "name": "web", "uuid": None}])
    assert result["stopped"] == [guest("web")] and db.active is True


def test_start_tries_every_guest_and_names_the_failures():
    a, b = FakeDomain("a", active=False, start_error="no more PCI slots"), FakeDomain("b", active=False)
    with pytest.raises(SriovError) as err:
        lg.start_guests({SYSTEM: FakeConn(a, b)}, [guest("a"), guest("b"), guest("gone")])
    assert err.value.msg == ("2 guest(s) did not start: starting a (qemu:///system) failed: no more PCI "
                             "slots; guest gone (qemu:///system) is no longer defined.")
    assert err.value.details["started"] == [guest("b")] and err.value.details["changed"] is True
    assert b.active is True


def test_start_check_mode():
    b = FakeDomain("b", active=False)
    result = lg.start_guests({SYSTEM: FakeConn(b)}, [guest("b")], check_mode=True)
    assert result["started"] == [guest("b")] and b.calls == []
