# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils import _udev, _vf_count_owners
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import read_pf

PF1 = "0000:01:00.0"


def test_other_owners(fake):
    fake.add_pf(PF1, "enp1s0", mac="52:54:00:aa:00:01")
    fake.add_pf("0000:02:00.0", "enp2s0", mac="52:54:00:aa:00:02")
    own = _udev.default_rule_path(PF1)
    other = _udev.default_rule_path("0000:02:00.0")
    fake.write(own, _udev.render_rule(PF1, 4))
    fake.write(other, _udev.render_rule("0000:02:00.0", 4))  # names another PF: not an owner
    fake.write("etc/udev/rules.d/70-guide.rules",
               'ACTION=="add", SUBSYSTEM=="net", ENV{ID_NET_DRIVER}=="igb", ATTR{device/sriov_numvfs}="2"\n')
    fake.write("etc/udev/rules.d/71-other-driver.rules",
               'ACTION=="add", SUBSYSTEM=="net", ENV{ID_NET_DRIVER}=="ixgbe", ATTR{device/sriov_numvfs}="2"\n')
    fake.write("etc/NetworkManager/system-connections/p1.nmconnection",
               "[connection]\nid=p1\ninterface-name=enp1s0\n\n[sriov]\ntotal-vfs=8\n")
    fake.write("etc/NetworkManager/system-connections/p2.nmconnection",
               "[connection]\nid=p2\ninterface-name=enp2s0\n\n[sriov]\ntotal-vfs=8\n")
    fake.write("etc/systemd/network/10-sriov.link",
               "[Match]\nPath=pci-0000:01:00.0\n\n[SR-IOV]\n\n[Link]\nSR-IOVVirtualFunctions=8\n")
    fake.write("etc/systemd/network/11-other.link",
               "[Match]\nMACAddress=52:54:00:aa:00:02\n\n[Link]\nSR-IOVVirtualFunctions=8\n")
    fake.write("etc/modprobe.d/igb.conf", "options igb max_vfs=7\n")
    fake.write("sys/module/igb/parameters/max_vfs", "0\n")
    host = fake.host()
    found = _vf_count_owners.find_other_owners(host, read_pf(host, PF1), own)
    text = "\n".join(found)
    assert "70-guide.rules:1" in text
    assert "71-other-driver" not in text and other not in text and own not in text
    assert "p1.nmconnection" in text and "p2.nmconnection" not in text
    assert "10-sriov.link" in text and "11-other.link" not in text
    assert "igb.conf:1 sets max_vfs" in text
    assert "module parameter" not in text
    assert len(found) == 4


def test_unreadable_files_are_skipped(fake):
    fake.add_pf(PF1, "enp1s0")
    fake.write("etc/udev/rules.d/70-binary.rules", "")
    with open(fake.p("etc/udev/rules.d/70-binary.rules"), "wb") as handle:
        handle.write(b"\xff\xfe ATTR{device/sriov_numvfs}=\"2\"")
    host = fake.host()
    assert _vf_count_owners.find_other_owners(host, read_pf(host, PF1), _udev.default_rule_path(PF1)) == []
