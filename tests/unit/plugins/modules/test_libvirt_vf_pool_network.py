# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module end to end on a fake sysfs tree and libvirt's test driver.

Each module run opens its connection by URI; to keep one libvirt state across runs (the
four-step proof), the tests hand every run the same test-driver connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

import pytest

from ansible_collections.virt.sriov.plugins.modules import libvirt_vf_pool_network as module

libvirt = pytest.importorskip("libvirt")


@pytest.fixture
def conn(tmp_path, monkeypatch):
    node = tmp_path / "node.xml"
    node.write_text("<node/>\n")
    connection = libvirt.open("test://%s" % node)
    uris = []

    @contextmanager
    def shared(uri="qemu:///system", read_only=False):
        uris.append(uri)
        yield connection

    monkeypatch.setattr(module, "open_connection", shared)
    connection.uris = uris
    yield connection
    connection.close()


@pytest.fixture
def lab_host(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", numvfs=4)
    fake.add_pf("0000:02:00.0", "enp2s0")
    return fake


def test_four_steps_with_diff(lab_host, conn, run_module):
    args = dict(name="passthrough", pf="enp1s0", autostart=True)
    first = run_module(module, args, check_mode=True, diff=True)
    assert first["changed"] is True and first["actions"] == ["define", "start", "autostart"]
    assert first["diff"][0]["after"]["active"] is True
    assert conn.listAllNetworks(0) == []
    second = run_module(module, args, diff=True)
    assert second["changed"] is True and second["actions"] == first["actions"]
    assert second["network"]["active"] and second["network"]["autostart"]
    third = run_module(module, args, check_mode=True, diff=True)
    assert third["changed"] is False
    fourth = run_module(module, args)
    assert fourth["changed"] is False and "diff" not in fourth
    assert conn.uris == ["qemu:///system"] * 4
    assert run_module.calls == []  # no command is ever run


def test_uri_is_passed(lab_host, conn, run_module):
    result = run_module(module, dict(name="p", pf="enp1s0", uri="test:///default", state="present"))
    assert result["changed"] and conn.uris == ["test:///default"]


@pytest.mark.parametrize("args, needle", [
    (dict(name="p"), "Exactly one of pf (the PF's interface name) or vfs"),
    (dict(name="p", pf="enp1s0", vfs=["01:10.0"]), "mutually exclusive: pf|vfs"),
    (dict(name="p", pf="enp1s0", driver="xen"), "value of driver must be one of: vfio, kvm"),
    (dict(name="p", pf="enp2s0"), "No VFs on PF enp2s0 (0000:02:00.0): create them first"),
    (dict(name="p/q", pf="enp1s0"), "Invalid network name 'p/q'"),
    (dict(name="p", vfs=["0000:01:00.0"]), "is a PF: a hostdev pool lists only VFs"),
])
def test_bad_input(lab_host, conn, run_module, args, needle):
    result = run_module(module, args)
    assert result["failed"] and needle in result["msg"]
    assert conn.listAllNetworks(0) == []


def test_absent_needs_no_pool(lab_host, conn, run_module):
    run_module(module, dict(name="p", pf="enp1s0"))
    result = run_module(module, dict(name="p", state="absent"))
    assert result["changed"] and result["actions"] == ["stop", "undefine"]
    assert run_module(module, dict(name="p", state="absent"))["changed"] is False


def test_unreachable_uri_fails_cleanly(lab_host, run_module, tmp_path):
    result = run_module(module, dict(name="p", pf="enp1s0", uri="test://%s/missing.xml" % tmp_path))
    assert result["failed"] and "Cannot connect to libvirt at URI" in result["msg"]


def test_networks_list_in_one_execution(lab_host, conn, run_module):
    args = dict(networks=[dict(name="a", pf="enp1s0", autostart=True), dict(name="b", state="absent")])
    check = run_module(module, args, check_mode=True, diff=True)
    assert check["changed"] and [n["name"] for n in check["networks"]] == ["a", "b"]
    assert check["networks"][0]["actions"] == ["define", "start", "autostart"]
    assert check["networks"][1]["actions"] == [] and check["boot_order"]["changed"]
    assert isinstance(check["diff"], list) and conn.listAllNetworks(0) == []
    applied = run_module(module, args)
    assert applied["changed"] and applied["networks"][0]["network"]["active"]
    assert lab_host.read("etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf").startswith("# Managed by")
    assert not run_module(module, args)["changed"]


def test_networks_default_autostart_from_the_top_level(lab_host, conn, run_module):
    result = run_module(module, dict(networks=[dict(name="a", pf="enp1s0")], autostart=True))
    assert result["networks"][0]["network"]["autostart"] is True


@pytest.mark.parametrize("args, needle", [
    (dict(name="p", networks=[dict(name="a", pf="enp1s0")]), "mutually exclusive: name|networks"),
    (dict(networks=[dict(name="a", pf="enp1s0", vfs=["01:10.0"])]), "mutually exclusive: pf|vfs"),
    (dict(networks=[dict(name="a")]), "state is active but any of the following are missing: pf, vfs"),
    (dict(pf="enp1s0"), "one of the following is required: name, networks"),
])
def test_list_form_argument_errors(lab_host, conn, run_module, args, needle):
    result = run_module(module, args)
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert conn.listAllNetworks(0) == []
