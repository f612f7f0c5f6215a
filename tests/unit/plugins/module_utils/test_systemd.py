# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt's daemons ordered after udev: plan, apply, second plan empty, legacy drop-ins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils import _systemd
from ansible_collections.virt.sriov.plugins.module_utils._host import Host


def test_plan_apply_then_nothing_to_do(tmp_path):
    calls = []
    host = Host(root=str(tmp_path), run_command=lambda argv, **kw: (calls.append(argv), (0, "", ""))[1])
    legacy = _systemd.dropin_path("libvirtd.service", "50-virt-sriov-vfs.conf")
    host.write_atomic(legacy, "old\n")
    changes = _systemd.plan_boot_order(host)
    assert sorted(p for p, _o, _n in changes) == sorted(
        [_systemd.dropin_path(u) for u in _systemd.LIBVIRT_DAEMONS] + [legacy])
    assert _systemd.apply_boot_order(host, changes) == ["systemctl was not found: the drop-ins for "
                                                        "libvirt's daemons take effect at the next boot."]
    assert host.read_text(legacy) is None
    assert "After=systemd-udev-settle.service" in host.read_text(_systemd.dropin_path("virtqemud.service"))
    assert _systemd.plan_boot_order(host) == []
    removal = _systemd.plan_boot_order(host, present=False)
    assert len(removal) == 3 and all(new is None for _p, _o, new in removal)
    assert "# /etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf" in _systemd.boot_order_diff(removal)["before"]
    assert calls == []


def test_daemon_reload_when_systemctl_exists(tmp_path):
    import os

    calls = []
    host = Host(root=str(tmp_path), run_command=lambda argv, **kw: (calls.append(argv), (0, "", ""))[1])
    os.makedirs(host.path("/usr/bin"))
    with open(host.path("/usr/bin/systemctl"), "w") as handle:
        handle.write("")
    os.chmod(host.path("/usr/bin/systemctl"), 0o755)
    assert _systemd.apply_boot_order(host, _systemd.plan_boot_order(host)) == []
    assert calls == [["/usr/bin/systemctl", "daemon-reload"]]
