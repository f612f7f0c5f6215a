# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PCI addresses in every spelling the users and libvirt use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

VALID_FORMS = (
    "'0000:03:10.2' (domain:bus:slot.function), '03:10.2' (domain 0000 assumed) "
    "or a libvirt node device name 'pci_0000_03_10_2'"
)

_SYSFS_RE = re.compile(r"^(?:([0-9a-fA-F]{4}):)?([0-9a-fA-F]{2}):([0-9a-fA-F]{2})\.([0-7])\Z")
_NODEDEV_RE = re.compile(r"^pci_([0-9a-fA-F]{4})_([0-9a-fA-F]{2})_([0-9a-fA-F]{2})_([0-7])\Z")

_LIMITS = (("domain", 0xFFFF), ("bus", 0xFF), ("slot", 0x1F), ("function", 0x7))


class PciAddress(object):
    """A PCI address as four integers; ``str()`` gives the sysfs form ``0000:03:10.2``.

    A small value class rather than a tuple, so it is safe in ``%`` formatting and still
    hashable and sortable.
    """

    __slots__ = ("domain", "bus", "slot", "function")

    def __init__(self, domain, bus, slot, function):
        self.domain = domain
        self.bus = bus
        self.slot = slot
        self.function = function

    def _key(self):
        return (self.domain, self.bus, self.slot, self.function)

    def __eq__(self, other):
        return isinstance(other, PciAddress) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __lt__(self, other):
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "PciAddress(%r)" % str(self)

    def __str__(self):
        return "%04x:%02x:%02x.%x" % self._key()

    @property
    def sysfs_name(self):
        """The name under /sys/bus/pci/devices, e.g. ``0000:03:10.2``."""
        return str(self)

    @property
    def nodedev_name(self):
        """The libvirt node device name, e.g. ``pci_0000_03_10_2``."""
        return "pci_%04x_%02x_%02x_%x" % self._key()

    def libvirt_attrs(self):
        """Attributes of a libvirt ``<address type='pci'>`` element, in libvirt's hex form."""
        return {
            "type": "pci",
            "domain": "0x%04x" % self.domain,
            "bus": "0x%02x" % self.bus,
            "slot": "0x%02x" % self.slot,
            "function": "0x%x" % self.function,
        }


def _check_ranges(values, original):
    for (name, limit), value in zip(_LIMITS, values):
        if value < 0 or value > limit:
            raise SriovError(
                "Invalid PCI address %r: %s %d is out of range 0-%d (0x%x)."
                % (original, name, value, limit, limit),
                valid_forms=VALID_FORMS,
            )
    return PciAddress(*values)


def parse_pci_address(value):
    """Parse ``0000:03:10.2``, ``03:10.2`` or ``pci_0000_03_10_2`` into a PciAddress.

    Raise SriovError naming the value and the valid forms otherwise.
    """
    if isinstance(value, PciAddress):
        return value
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        match = _SYSFS_RE.match(text) or _NODEDEV_RE.match(text)
        if match:
            domain = match.group(1)
            parts = [int(domain, 16) if domain else 0] + [int(g, 16) for g in match.groups()[1:]]
            return _check_ranges(parts, value)
    raise SriovError(
        "Invalid PCI address %r: expected %s." % (value, VALID_FORMS), valid_forms=VALID_FORMS
    )


def _part_to_int(name, value):
    """One part of libvirt's domain/bus/slot/function form: an int, '0x..' hex or decimal text."""
    if isinstance(value, bool):
        raise SriovError("Invalid PCI %s %r: expected a number." % (name, value))
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            if text.startswith("0x"):
                return int(text[2:], 16)
            return int(text, 10)
        except ValueError:
            pass
    raise SriovError(
        "Invalid PCI %s %r: expected a number in hex ('0x10') or decimal ('16')." % (name, value)
    )


def pci_address_from_parts(domain, bus, slot, function):
    """Build a PciAddress from the guide's domain/bus/slot/function form (hex '0x..' or decimal)."""
    values = [
        _part_to_int(name, value)
        for name, value in zip(("domain", "bus", "slot", "function"), (domain, bus, slot, function))
    ]
    return _check_ranges(values, "domain=%s bus=%s slot=%s function=%s" % (domain, bus, slot, function))
