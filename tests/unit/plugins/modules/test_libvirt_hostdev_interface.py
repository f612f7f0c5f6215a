# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module's main(): argument handling, check mode, diff, failures without traceback."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

import pytest

from ansible_collections.virt.sriov.plugins.modules import libvirt_hostdev_interface as module
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import FakeConn, FakeDomain, guest_xml, set_pf_up

PF = "0000:01:00.0"
VF1 = "0000:01:10.2"


@pytest.fixture
def conn(fake, monkeypatch):
    fake.add_pf(PF, "enp1s0", numvfs=4)
    set_pf_up(fake, True)
    connection = FakeConn([FakeDomain(guest_xml(), fake=fake)])
    opened = []

    @contextmanager
    def fake_open(uri="qemu:///system", read_only=False):
        opened.append(uri)
        yield connection

    monkeypatch.setattr(module, "open_connection", fake_open)
    connection.opened = opened
    return connection


def test_attach_check_then_apply_then_idempotent(run_module, conn):
    args = {"domain": "guestVM", "pci_address": VF1, "mac": "52:54:00:6d:90:02", "vlan": 42}
    check = run_module(module, args, check_mode=True, diff=True)
    assert check["changed"] and not check.get("failed")
    assert conn.domains[0].calls == []
    assert "diff" in check and "<vlan>" in check["diff"]["after"]
    applied = run_module(module, args, diff=True)
    assert applied["changed"] and applied["interface"]["vlan"] == 42
    again = run_module(module, args, check_mode=True)
    assert not again["changed"] and "diff" not in again
    final = run_module(module, args)
    assert not final["changed"]
    assert conn.opened == ["qemu:///system"] * 4


def test_vlan_with_virtualport_fails_before_libvirt(run_module, conn):
    result = run_module(module, {"domain": "guestVM", "pci_address": VF1, "vlan": 42,
                                 "virtualport": {"profileid": "finance"}})
    assert result["failed"] and "libvirt refuses" in result["msg"]
    assert conn.opened == []


@pytest.mark.parametrize("args, words", [
    ({"domain": "guestVM"}, "one of the following is required"),
    ({"domain": "guestVM", "pci_address": VF1, "network": "p"}, "mutually exclusive"),
    ({"domain": "guestVM", "pf": "enp1s0"}, "parameters are required together"),
    ({"domain": "guestVM", "pci_address": VF1, "scope": "both"}, "value of scope must be one of"),
])
def test_argument_errors(run_module, conn, args, words):
    result = run_module(module, args)
    assert result["failed"] and words in result["msg"]
    assert conn.opened == []


def test_conflict_is_a_clean_failure(run_module, conn, fake):
    other = FakeDomain(guest_xml("otherVM", "11111111-2222-3333-4444-555555555555"), active=False, fake=fake)
    conn.domains.append(other)
    assert run_module(module, {"domain": "otherVM", "pci_address": VF1})["changed"]
    result = run_module(module, {"domain": "guestVM", "pci_address": VF1})
    assert result["failed"] and "already used by domain otherVM" in result["msg"]
    assert result["users"][0]["domain"] == "otherVM"
    assert "Traceback" not in result["msg"]


def test_unexpected_error_has_no_traceback(run_module, conn, monkeypatch):
    def boom(*_a, **_k):
        raise RuntimeError("surprise")

    monkeypatch.setattr(module, "ensure_interface", boom)
    result = run_module(module, {"domain": "guestVM", "pci_address": VF1})
    assert result["failed"] and result["msg"] == "Unexpected error: RuntimeError: surprise"


def test_domains_in_one_execution(run_module, conn, fake):
    conn.domains.append(FakeDomain(guest_xml("otherVM", "11111111-2222-3333-4444-555555555555"),
                                   active=False, fake=fake))
    args = {"domain": "guestVM", "interfaces": [{"pci_address": VF1, "vlan": 42}],
            "domains": [{"domain": "otherVM", "interfaces": [{"pf": "enp1s0", "vf": 2}]}]}
    check = run_module(module, args, check_mode=True, diff=True)
    assert check["changed"] and [i["domain"] for i in check["interfaces"]] == ["guestVM", "otherVM"]
    assert isinstance(check["diff"], list) and len(check["diff"]) == 2
    assert run_module(module, args)["changed"]
    again = run_module(module, args)
    assert not again["changed"] and again["restarted"] == []
    assert conn.opened == ["qemu:///system"] * 3


@pytest.mark.parametrize("args, words", [
    ({"interfaces": [{"pci_address": VF1}]}, "missing parameter(s) required by 'interfaces': domain"),
    ({"domain": "guestVM", "interfaces": [{"pci_address": VF1, "network": "p"}]}, "mutually exclusive"),
    ({"domain": "guestVM", "interfaces": [{"vlan": 4}]}, "one of the following is required"),
    ({"domains": [{"domain": "guestVM", "interfaces": []}], "domain": "guestVM",
      "interfaces": [{"pci_address": VF1}]}, "listed more than once"),
])
def test_list_form_argument_errors(run_module, conn, args, words):
    result = run_module(module, args)
    assert result["failed"] and words in result["msg"], result["msg"]
    assert conn.domains[0].calls == []
