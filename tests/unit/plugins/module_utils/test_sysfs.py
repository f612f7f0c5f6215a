# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _sysfs
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeHost


@pytest.fixture
def fake(tmp_path):
    fake = FakeHost(tmp_path)
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7)
    fake.add_pf("0000:02:00.0", "enp2s0", card="ixgbe", totalvfs=63)
    fake.add_pf("0000:03:00.0", "enp3s0f0np0", card="mlx5_core", totalvfs=8)
    fake.add_nic("0000:04:00.0", "eno1")
    return fake


def test_list_sriov_pfs_ignores_plain_nics_and_vfs(fake):
    fake.set_numvfs("0000:01:00.0", 4)
    assert [str(a) for a in _sysfs.list_sriov_pfs(fake.host())] == [
        "0000:01:00.0", "0000:02:00.0", "0000:03:00.0"]


def test_igb_vfs_follow_virtfn_links(fake):
    fake.set_numvfs("0000:01:00.0", 4)
    host = fake.host()
    vfs = _sysfs.read_vfs(host, "0000:01:00.0")
    assert [vf["pci_address"] for vf in vfs] == ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    assert [vf["index"] for vf in vfs] == [0, 1, 2, 3]
    assert vfs[1]["nodedev_name"] == "pci_0000_01_10_2"
    assert vfs[1]["driver"] == "igbvf"
    assert vfs[1]["netdev"] == "enp1s0v1"
    assert isinstance(vfs[1]["iommu_group"], int)
    assert len({vf["iommu_group"] for vf in vfs}) == 4


def test_vf_bound_to_vfio_has_no_netdev(fake):
    fake.set_numvfs("0000:01:00.0", 2)
    fake.bind_vfio("0000:01:10.2")
    vfs = _sysfs.read_vfs(fake.host(), "0000:01:00.0")
    assert vfs[1]["driver"] == "vfio-pci"
    assert vfs[1]["netdev"] is None


def test_read_pf(fake):
    pf = _sysfs.read_pf(fake.host(), "0000:01:00.0")
    assert pf["netdev"] == "enp1s0"
    assert pf["driver"] == "igb"
    assert pf["totalvfs"] == 7
    assert pf["numvfs"] == 0
    assert pf["drivers_autoprobe"] is True
    assert pf["tested_driver"] is True
    assert pf["link_state"] == "up"
    assert _sysfs.read_pf(fake.host(), "0000:03:00.0")["tested_driver"] is False


@pytest.mark.parametrize("kwargs, expected", [
    ({"pf": "enp1s0"}, "0000:01:00.0"),
    ({"pci_address": "01:00.0"}, "0000:01:00.0"),
    ({"pci_address": "pci_0000_02_00_0"}, "0000:02:00.0"),
])
def test_resolve_pf(fake, kwargs, expected):
    assert str(_sysfs.resolve_pf(fake.host(), **kwargs)) == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"pf": "nosuch0"}, "'nosuch0' is not an SR-IOV capable PF on this host. SR-IOV capable PFs: enp1s0 (0000:01:00.0)"),
    ({"pf": "eno1"}, "has no SR-IOV capability"),
    ({"pci_address": "0000:01:10.2"}, "is a virtual function of PF 0000:01:00.0"),
    ({"pci_address": "0000:09:00.0"}, "PCI address '0000:09:00.0' is not an SR-IOV capable PF"),
    ({"pci_address": "01:00"}, "Invalid PCI address '01:00'"),
    ({"pf": "en\np1s0"}, "Invalid network interface name"),
    ({"pf": "a'b"}, "Invalid network interface name"),
    ({"pf": "enp1s0\n"}, "Invalid network interface name"),
    ({"pf": ".."}, "Invalid network interface name"),
])
def test_resolve_pf_errors(fake, kwargs, message):
    fake.set_numvfs("0000:01:00.0", 2)
    with pytest.raises(SriovError) as exc:
        _sysfs.resolve_pf(fake.host(), **kwargs)
    assert message in exc.value.msg


def test_pci_names_from_database(fake):
    fake.write("usr/share/misc/pci.ids",
               "# comment\n8086  Intel Corporation\n\t10c9  82576 Gigabit Network Connection\n"
               "\t\t8086 a03c  subsys\n15b3  Mellanox\n")
    names = _sysfs.PciNames(fake.host())
    assert names.lookup("0x8086", "0x10c9") == ("Intel Corporation", "82576 Gigabit Network Connection")
    assert names.lookup("0x15b3", "0x1017") == ("Mellanox", None)
    assert _sysfs.PciNames(FakeHost(fake.p("empty")).host()).lookup("0x8086", "0x10c9") == (None, None)


def test_host_file_helpers(tmp_path):
    import os
    import stat

    from ansible_collections.virt.sriov.plugins.module_utils._host import Host

    host = Host(root=str(tmp_path))
    assert host.read_text("/etc/x/y.conf") is None
    host.write_atomic("/etc/x/y.conf", "a\n")
    assert host.read_text("/etc/x/y.conf") == "a\n"
    assert stat.S_IMODE(os.stat(host.path("/etc/x/y.conf")).st_mode) == 0o644
    os.chmod(host.path("/etc/x/y.conf"), 0o600)
    host.write_atomic("/etc/x/y.conf", "b\n")  # keeps the mode of the file it replaces
    assert stat.S_IMODE(os.stat(host.path("/etc/x/y.conf")).st_mode) == 0o600
    assert os.listdir(host.path("/etc/x")) == ["y.conf"]
    assert host.remove("/etc/x/y.conf") is True
    assert host.remove("/etc/x/y.conf") is False
