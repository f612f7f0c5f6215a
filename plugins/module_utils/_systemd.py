# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Boot ordering of libvirt's daemons after udev, as systemd drop-ins.

libvirt autostarts guests and hostdev pool networks as soon as its daemon runs. The
collection's udev rules create the VFs (and bring PFs up) when a PF's interface appears at boot;
a daemon that starts earlier finds no VFs ("No usable Vf's present") or a PF that is down ("the
PF is not online"). One drop-in per daemon orders it after ``systemd-udev-settle.service``,
which ends when udev has handled every device event of the boot. A drop-in for a unit that is
not installed is inert, so the monolithic daemon (Debian, Ubuntu) and the modular ones (RHEL,
Fedora) all get it.

Plan (``plan_boot_order``), then apply (``apply_boot_order``): the modules that persist VFs or
pool networks call both in the same execution, so no ``file``/``copy`` task is needed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils._host import find_binary

LIBVIRT_DAEMONS = ("libvirtd.service", "virtqemud.service", "virtnetworkd.service")
DROPIN_NAME = "50-virt-sriov.conf"
# Drop-ins written by the roles of collection 1.0 (file + copy tasks); replaced by DROPIN_NAME.
LEGACY_DROPINS = ("50-virt-sriov-vfs.conf", "50-virt-sriov-vf-pool.conf")
DROPIN_TEXT = (
    "# Managed by the virt.sriov collection: do not edit.\n"
    "# The collection's udev rules create the VFs and bring the PFs up when a PF appears at\n"
    "# boot; libvirt autostarts guests and hostdev pool networks as soon as it runs. Start it\n"
    "# only after udev has handled every device event of the boot.\n"
    "[Unit]\n"
    "Wants=systemd-udev-settle.service\n"
    "After=systemd-udev-settle.service\n"
)


def dropin_path(unit, name=DROPIN_NAME):
    return "/etc/systemd/system/%s.d/%s" % (unit, name)


def plan_boot_order(host, present=True):
    """File changes that make the drop-ins exist (``present``) or not: list of
    (path, old_text_or_None, new_text_or_None), only the files that differ."""
    changes = []
    for unit in LIBVIRT_DAEMONS:
        path = dropin_path(unit)
        old = host.read_text(path)
        new = DROPIN_TEXT if present else None
        if old != new:
            changes.append((path, old, new))
        for legacy in LEGACY_DROPINS:
            legacy_path = dropin_path(unit, legacy)
            old = host.read_text(legacy_path)
            if old is not None:
                changes.append((legacy_path, old, None))
    return changes


def apply_boot_order(host, changes):
    """Write/remove the planned files and make systemd read them (``daemon-reload``).

    Returns a list of warnings (empty when systemd was reloaded)."""
    if not changes:
        return []
    for path, _old, new in changes:
        if new is None:
            host.remove(path)
        else:
            host.write_atomic(path, new, mode=0o644)
    systemctl = find_binary(host, ["systemctl"])
    if systemctl is None:
        return ["systemctl was not found: the drop-ins for libvirt's daemons take effect at the next boot."]
    host.run([systemctl, "daemon-reload"])
    return []


def boot_order_diff(changes):
    """``before``/``after`` texts for --diff, one section per file."""
    before = []
    after = []
    for path, old, new in changes:
        before.append("# %s\n%s" % (path, old or ""))
        after.append("# %s\n%s" % (path, new or ""))
    return {"before": "".join(before), "after": "".join(after)}
