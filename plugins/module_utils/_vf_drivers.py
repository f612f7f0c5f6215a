# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The driver of a VF: ``vfio-pci`` bound ahead of time, the host's VF driver, or none.

State of a VF, from sysfs: the bound driver (the ``driver`` link) and ``driver_override``.

- ``vfio-pci``: ``driver_override`` is ``vfio-pci`` and vfio-pci is bound.
- ``none``: ``driver_override`` is ``none`` (a name no driver has, so nothing binds) and no
  driver is bound.
- ``host``: no ``driver_override`` and a driver other than vfio-pci/pci-stub is bound (the one
  the kernel picks for the VF's IDs, ``igbvf`` for an Intel 82576 VF).

Live changes are sysfs writes from a child process with a deadline (``_numvfs.run_child``:
unbinding a VF that a guest holds through vfio-pci can block in the kernel): write
``driver_override``, unbind the current driver, ask the bus to probe the VF
(``/sys/bus/pci/drivers_probe``), then wait, bounded, until the VF is where it should be.

Persistence: lines on the VF's own PCI events, in the PF's settings rule file. The kernel binds
a VF while it is being created (``sriov_drivers_autoprobe``), before udev handles its ``add``
event, and a driver reload brings ``igbvf`` along; so the rule sets ``driver_override`` on
``add`` and, on ``add`` and on every ``bind``, moves the VF away from any other driver while its
``driver_override`` still says so (measured on Debian 12, systemd 252: after a boot and after
``modprobe -r igb && modprobe igb`` the VF ends on vfio-pci; a ``driver_override`` cleared by
someone else, such as libvirt giving a VF back, is left alone, so the rule never fights)::

    ACTION=="add", SUBSYSTEM=="pci", KERNEL=="0000:01:10.4", ATTR{driver_override}="vfio-pci", \
IMPORT{builtin}="kmod load vfio-pci"
    ACTION=="add|bind", SUBSYSTEM=="pci", KERNEL=="0000:01:10.4", ATTR{driver_override}=="vfio-pci", \
TEST=="driver", TEST!="/sys/bus/pci/drivers/vfio-pci/$kernel", ATTR{driver/unbind}="$kernel"
    ACTION=="add|bind", SUBSYSTEM=="pci", KERNEL=="0000:01:10.4", ATTR{driver_override}=="vfio-pci", \
TEST!="driver", ATTR{[subsystem/pci]drivers_probe}="$kernel"
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import find_binary
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import PCI_DEVICES

VFIO = "vfio-pci"
HOST = "host"
NONE = "none"
DRIVER_CHOICES = (VFIO, HOST, NONE)
# Drivers that hand a device to a guest, never a host driver.
PASSTHROUGH_DRIVERS = ("vfio-pci", "pci-stub")
# What driver_override holds for each choice (None: cleared).
OVERRIDES = {VFIO: VFIO, HOST: None, NONE: NONE}
PCI_DRIVERS = "/sys/bus/pci/drivers"
DRIVERS_PROBE = "/sys/bus/pci/drivers_probe"

WRITE_TIMEOUT = 30  # seconds per sysfs write (unbind may block while a device is in use)
BIND_TIMEOUT = 15  # seconds to wait for the VF to reach its driver
POLL_INTERVAL = 0.2

_MODALIAS_RE = re.compile(r"^pci:[A-Za-z0-9*]{1,128}$")


# ------------------------------------------------------------------------------------ validation
def normalize_driver(value, where):
    if value not in DRIVER_CHOICES:
        raise SriovError("Invalid driver %r for %s: expected one of %s (vfio-pci: bound ahead of "
                         "time for DPDK or managed='no' guests; host: the VF driver of the PF's "
                         "driver, such as igbvf; none: no driver)."
                         % (value, where, ", ".join(DRIVER_CHOICES)))
    return value


# ------------------------------------------------------------------------------------------ state
def read_state(host, address):
    """{driver, driver_override} of a VF from sysfs (None where unset)."""
    name = str(address)
    override = host.read(PCI_DEVICES, name, "driver_override")
    if override in ("", "(null)"):
        override = None
    return {"driver": host.link_name(PCI_DEVICES, name, "driver"), "driver_override": override}


def satisfied(state, wanted):
    """Whether a VF in ``state`` is where ``wanted`` (vfio-pci, host, none) puts it."""
    driver, override = state.get("driver"), state.get("driver_override")
    if wanted == VFIO:
        return driver == VFIO and override == VFIO
    if wanted == NONE:
        return driver is None and override == NONE
    return driver is not None and driver not in PASSTHROUGH_DRIVERS and override is None


def describe(state):
    """How a VF's driver reads in a diff: the bound driver (or none), and an override that
    says otherwise."""
    driver = state.get("driver") or "none"
    override = state.get("driver_override")
    if override and override != state.get("driver") and not (override == NONE and driver == "none"):
        return "%s (driver_override %s)" % (driver, override)
    return driver


def plan_changes(desired, states):
    """Driver changes {vf, setting: driver, before, after, pci_address} for the VFs whose
    driver differs from the one wanted (``states``: VF index -> read_state, when it exists)."""
    changes = []
    for index in sorted(desired):
        wanted = desired[index].get("driver")
        if wanted is None:
            continue
        state = states.get(index)
        if state is not None and satisfied(state, wanted):
            continue
        changes.append({
            "vf": index,
            "setting": "driver",
            "before": {"driver": describe(state) if state is not None else None},
            "after": {"driver": wanted},
        })
    return changes


def check_changes(host, plan):
    """Refuse, before anything changes, driver changes the host cannot make (a SriovError)."""
    facts = plan["facts"]
    for change in plan["driver_changes"]:
        index, wanted = change["vf"], change["after"]["driver"]
        address = plan["vf_addresses"].get(index)
        if address is None:
            continue  # check mode: the VF does not exist yet
        if wanted == VFIO and host.link_name(PCI_DEVICES, str(address), "iommu_group") is None:
            raise SriovError(
                "Cannot bind VF %d (%s) of PF %s to vfio-pci: it has no IOMMU group, so the IOMMU "
                "is off (enable it: the virt.sriov.iommu role, then reboot) or the host has none."
                % (index, address, plan["label"]), vf=index)
        if wanted == HOST and facts.get("drivers_autoprobe") is False:
            raise SriovError(
                "Cannot give VF %d (%s) of PF %s its host driver: sriov_drivers_autoprobe of the PF "
                "is 0, so the kernel binds no driver to its VFs. Set drivers_autoprobe to true "
                "(virt.sriov.sriov_vfs) or choose driver vfio-pci or none." % (index, address, plan["label"]),
                vf=index)


# ----------------------------------------------------------------------------------------- apply
class DriverApplier(object):
    """Move VFs between drivers with bounded sysfs writes; remembers what it changed so that
    ``rollback`` can put it back."""

    def __init__(self, host, writer, clock=time.monotonic, sleep=time.sleep,
                 write_timeout=WRITE_TIMEOUT, bind_timeout=BIND_TIMEOUT):
        self.host = host
        self.writer = writer
        self.clock = clock
        self.sleep = sleep
        self.write_timeout = write_timeout
        self.bind_timeout = bind_timeout
        self.journal = []  # (label, address, state before)

    # -- steps ----------------------------------------------------------------------------------
    def _write(self, path, value, what):
        result = self.writer(self.host.path(path), value, self.write_timeout)
        if result.timed_out:
            raise SriovError("Writing %s (%s) did not complete within %d s: the kernel is still busy "
                             "with the device (is it in use?)." % (path, what, self.write_timeout))
        if not result.ok:
            raise SriovError("Writing %r to %s (%s) failed: %s%s."
                             % (value.strip() or "an empty value", path, what,
                                "[errno %s] " % result.errno if result.errno else "",
                                result.message or "no reason given"))

    def _modprobe(self, argv_tail, what):
        modprobe = find_binary(self.host, ["modprobe"])
        if modprobe is None:
            raise SriovError("modprobe was not found on the host: cannot load %s." % what)
        self.host.run([modprobe] + list(argv_tail))

    def _wait(self, address, wanted):
        end = self.clock() + self.bind_timeout
        while True:
            state = read_state(self.host, address)
            if satisfied(state, wanted) or self.clock() >= end:
                return state
            self.sleep(POLL_INTERVAL)

    def move(self, address, wanted):
        """Put one VF on ``wanted`` (vfio-pci, host, none). Returns the state it ended in;
        raises SriovError when it did not get there."""
        name = str(parse_pci_address(address))
        state = read_state(self.host, name)
        if wanted == VFIO and not self.host.exists(PCI_DRIVERS, VFIO):
            self._modprobe(["vfio-pci"], "the vfio-pci driver")
            if not self.host.exists(PCI_DRIVERS, VFIO):
                raise SriovError("modprobe vfio-pci did not register the vfio-pci driver (no %s/%s)."
                                 % (PCI_DRIVERS, VFIO))
        override = OVERRIDES[wanted]
        if state["driver_override"] != override:
            # an empty line clears driver_override (the kernel strips the newline)
            self._write("%s/%s/driver_override" % (PCI_DEVICES, name), override or "\n",
                        "driver_override of VF %s" % name)
        bound = state["driver"]
        if bound is not None and not (wanted == VFIO and bound == VFIO) and not (
                wanted == HOST and bound not in PASSTHROUGH_DRIVERS):
            self._write("%s/%s/driver/unbind" % (PCI_DEVICES, name), name,
                        "unbind VF %s from %s" % (name, bound))
        if wanted != NONE and not satisfied(read_state(self.host, name), wanted):
            self._write(DRIVERS_PROBE, name, "probe a driver for VF %s" % name)
        final = self._wait(name, wanted)
        if not satisfied(final, wanted) and wanted == HOST and final["driver"] is None:
            # the VF driver module may not be loaded: load what the VF's IDs ask for, then probe
            alias = self.host.read(PCI_DEVICES, name, "modalias")
            if alias and _MODALIAS_RE.match(alias):
                self._modprobe(["-q", alias], "the driver of VF %s" % name)
                if read_state(self.host, name)["driver"] is None:
                    self._write(DRIVERS_PROBE, name, "probe a driver for VF %s" % name)
                final = self._wait(name, wanted)
        if not satisfied(final, wanted):
            raise SriovError("VF %s did not reach driver %s within %d s: it is on %s now."
                             % (name, wanted, self.bind_timeout, describe(final)))
        return final

    def restore(self, address, before):
        """Put a VF back to a state read earlier (its driver_override and driver)."""
        name = str(address)
        now = read_state(self.host, name)
        if now["driver_override"] != before["driver_override"]:
            self._write("%s/%s/driver_override" % (PCI_DEVICES, name), before["driver_override"] or "\n",
                        "driver_override of VF %s" % name)
        if now["driver"] is not None and now["driver"] != before["driver"]:
            self._write("%s/%s/driver/unbind" % (PCI_DEVICES, name), name, "unbind VF %s" % name)
        if before["driver"] is not None and read_state(self.host, name)["driver"] is None:
            self._write(DRIVERS_PROBE, name, "probe a driver for VF %s" % name)
        end = self.clock() + self.bind_timeout
        while read_state(self.host, name)["driver"] != before["driver"] and self.clock() < end:
            self.sleep(POLL_INTERVAL)
        return read_state(self.host, name)["driver"] == before["driver"]

    # -- plans ----------------------------------------------------------------------------------
    def apply(self, plans):
        """Apply every plan's driver changes; on the first failure put back what was moved (newest
        first) and raise with both parts of the story."""
        for plan in plans:
            for change in plan["driver_changes"]:
                address = plan["vf_addresses"][change["vf"]]
                label = "%s VF %d driver" % (plan["label"], change["vf"])
                before = read_state(self.host, address)
                try:
                    self.move(address, change["after"]["driver"])
                except SriovError as exc:
                    self.journal.append((label, address, before))  # may be half-moved: restore it too
                    raise SriovError(
                        "Could not move VF %d (%s) of PF %s to driver %s: %s"
                        % (change["vf"], address, plan["label"], change["after"]["driver"], exc.msg.rstrip(".")),
                        vf=change["vf"], setting="driver")
                self.journal.append((label, address, before))

    def rollback(self):
        """Undo the journal, newest first. Returns (undone, not undone) labels."""
        undone, not_undone = [], []
        for label, address, before in reversed(self.journal):
            try:
                ok = self.restore(address, before)
            except SriovError:
                ok = False
            (undone if ok else not_undone).append(label)
        self.journal = []
        return undone, not_undone


# ------------------------------------------------------------------------------------------ rule
def rule_lines(vf_address, wanted):
    """The udev rule lines that keep a VF on ``wanted`` across reboots and driver reloads.

    ``host`` needs none (the kernel binds the VF driver by itself; sriov_drivers_autoprobe).
    Built only from a parsed PCI address and fixed text.
    """
    address = str(parse_pci_address(vf_address))
    head = 'SUBSYSTEM=="pci", KERNEL=="%s", ' % address
    if wanted == VFIO:
        return [
            'ACTION=="add", %sATTR{driver_override}="vfio-pci", IMPORT{builtin}="kmod load vfio-pci"' % head,
            'ACTION=="add|bind", %sATTR{driver_override}=="vfio-pci", TEST=="driver", '
            'TEST!="/sys/bus/pci/drivers/vfio-pci/$kernel", ATTR{driver/unbind}="$kernel"' % head,
            'ACTION=="add|bind", %sATTR{driver_override}=="vfio-pci", TEST!="driver", '
            'ATTR{[subsystem/pci]drivers_probe}="$kernel"' % head,
        ]
    if wanted == NONE:
        return [
            'ACTION=="add", %sATTR{driver_override}="none"' % head,
            'ACTION=="add|bind", %sATTR{driver_override}=="none", TEST=="driver", '
            'ATTR{driver/unbind}="$kernel"' % head,
        ]
    if wanted == HOST:
        return []
    raise SriovError("Unknown VF driver %r." % (wanted,))


_KERNEL_RE = re.compile(r'^ACTION=="add(?:\|bind)?", SUBSYSTEM=="pci", KERNEL=="([0-9a-f:.]{7,16})", ')


def is_driver_line(line):
    return 'SUBSYSTEM=="pci"' in line


def validate_driver_line(line):
    """A driver line must be exactly one that rule_lines() renders for its VF address."""
    found = _KERNEL_RE.match(line)
    if found:
        try:
            address = parse_pci_address(found.group(1))
        except SriovError:
            address = None
        if address is not None and str(address) == found.group(1) and (
                line in rule_lines(address, VFIO) or line in rule_lines(address, NONE)):
            return
    raise SriovError("Invalid VF driver rule line: expected one of the lines this module writes "
                     "for a VF's PCI address (driver_override, unbind, drivers_probe), not %r." % line)


__all__ = [
    "DRIVER_CHOICES",
    "DriverApplier",
    "check_changes",
    "describe",
    "is_driver_line",
    "normalize_driver",
    "plan_changes",
    "read_state",
    "rule_lines",
    "satisfied",
    "validate_driver_line",
]
