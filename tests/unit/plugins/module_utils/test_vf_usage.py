# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _vf_usage
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeHost
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import (
    FakeConn,
    FakeDomain,
    FakeLibvirtError,
    FakeNetwork,
    Vanishing,
)

POOL_XML = """<network connections='1'><name>passthrough</name><uuid>x</uuid>
<forward mode='hostdev' managed='yes' connections='1'><pf dev='enp1s0'/>
<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x2'/></forward></network>"""

NAT_XML = "<network><name>default</name><forward mode='nat'/><bridge name='virbr0'/></network>"

GUEST_LIVE = """<domain type='qemu'><name>guestVM</name><devices>
<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/>
<source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x2'/></source></interface>
<hostdev mode='subsystem' type='pci' managed='yes'><source>
<address domain='0' bus='1' slot='16' function='4'/></source></hostdev>
</devices></domain>"""

GUEST_CONFIG = """<domain type='qemu'><name>guestVM</name><devices>
<interface type='network'><source network='passthrough'/></interface>
</devices></domain>"""


def test_domain_references_all_forms():
    refs = _vf_usage.parse_domain_vf_references(GUEST_LIVE)
    assert refs == [("pci", "0000:01:10.2"), ("pci", "0000:01:10.4")]
    assert _vf_usage.parse_domain_vf_references(GUEST_CONFIG) == [("network", "passthrough")]


def test_non_hostdev_network_is_ignored():
    assert _vf_usage.parse_hostdev_network(NAT_XML) is None


def test_collect_usage(tmp_path):
    fake = FakeHost(tmp_path)
    fake.add_pf("0000:01:00.0", "enp1s0", numvfs=4)
    conn = FakeConn(networks=[FakeNetwork(POOL_XML), FakeNetwork(NAT_XML)],
                    domains=[FakeDomain(GUEST_CONFIG, live_xml=GUEST_LIVE)])
    usage = _vf_usage.collect_vf_usage(conn, fake.host())
    net = usage.networks["passthrough"]
    assert net["addresses"] == ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    assert net["connections"] == 1
    assert usage.networks_of("0000:01:10.6") == ["passthrough"]
    users = usage.users_of("0000:01:10.2")
    assert [(u["domain"], u["config"], u["via"]) for u in users] == [("guestVM", "live", "network:passthrough")]
    assert usage.network_users("passthrough")[0]["config"] == "persistent"
    assert usage.holders("0000:01:10.2") == [
        "domain guestVM (running, via network:passthrough)", "active hostdev network passthrough"]
    assert usage.holders("0000:01:10.6") == ["active hostdev network passthrough"]


def test_objects_that_vanish_mid_scan_are_skipped(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", numvfs=4)
    conn = FakeConn(
        networks=[Vanishing("gone-net", FakeLibvirtError("Network not found: no network with matching name")),
                  FakeNetwork(POOL_XML)],
        domains=[Vanishing("migrated", FakeLibvirtError("whatever the text", code=_vf_usage.VIR_ERR_NO_DOMAIN)),
                 FakeDomain(GUEST_CONFIG, live_xml=GUEST_LIVE)])
    usage = _vf_usage.collect_vf_usage(conn, fake.host())
    assert list(usage.networks) == ["passthrough"]
    assert usage.users_of("0000:01:10.4")[0]["domain"] == "guestVM"


@pytest.mark.parametrize("error", [
    FakeLibvirtError("internal error: client socket is closed", code=1),
    # the code decides: a message that looks like "not found" with another code is a real error
    FakeLibvirtError("Domain not found", code=38),
    OSError("connection reset"),
])
def test_other_errors_make_the_scan_fail(fake, error):
    conn = FakeConn(domains=[FakeDomain(GUEST_LIVE), Vanishing("broken", error)])
    with pytest.raises(type(error)):
        _vf_usage.collect_vf_usage(conn, fake.host())


@pytest.mark.parametrize("error, expected", [
    (FakeLibvirtError("x", code=42), True),
    (FakeLibvirtError("x", code=43), True),
    (FakeLibvirtError("Network not found: x", code=None), True),
    (FakeLibvirtError("Domain not found: no domain with matching uuid"), True),
    (FakeLibvirtError("Domain not found", code=1), False),
    (ValueError("bad"), False),
])
def test_vanished(error, expected):
    assert _vf_usage.vanished(error) is expected
