# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""MAC addresses of guest interfaces: validation and the stable derived MAC.

Derived MAC scheme (documented in the libvirt_hostdev_interface module):

    digest = sha256("virt.sriov:" + domain UUID (lower case) + ":" + identity)
    MAC    = 02:d0:d1:d2:d3:d4   (d0..d4 = the first five bytes of the digest)

``02`` as first octet marks a locally administered unicast address (bit 0x02 set, multicast
bit 0x01 clear) that is recognisably "derived by virt.sriov" and never clashes with the
``52:54:00`` addresses libvirt invents. ``identity`` is the VF's PCI address (``0000:01:10.2``)
for the pci_address and pf+vf forms - so both forms give the same MAC for the same VF - and
``network:<name>:<index>`` for an interface on a hostdev pool network. The same domain and the
same VF always give the same MAC, on every run and every host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(?:\1[0-9a-fA-F]{2}){4}$")
_BARE_RE = re.compile(r"^[0-9a-fA-F]{12}$")

DERIVED_PREFIX = "02"


def normalize_mac(value):
    """Return ``value`` as a lower-case, colon-separated unicast MAC, or raise SriovError.

    Accepts ``52:54:00:6D:90:02``, ``52-54-00-6d-90-02`` and ``5254006d9002``.
    """
    text = value.strip() if isinstance(value, str) else None
    if text and _MAC_RE.match(text):
        octets = re.split(r"[:-]", text)
    elif text and _BARE_RE.match(text):
        octets = [text[i:i + 2] for i in range(0, 12, 2)]
    else:
        raise SriovError(
            "Invalid MAC address %r: expected six hexadecimal octets such as '52:54:00:6d:90:02'." % (value,)
        )
    octets = [o.lower() for o in octets]
    first = int(octets[0], 16)
    if first & 0x01:
        raise SriovError(
            "Invalid MAC address %r: it is a multicast or broadcast address (the least significant bit "
            "of the first octet is set); a guest interface needs a unicast address such as "
            "'52:54:00:6d:90:02' or '02:00:00:00:00:01'." % (value,)
        )
    if all(o == "00" for o in octets):
        raise SriovError("Invalid MAC address %r: the all-zero address cannot be assigned to an interface." % (value,))
    return ":".join(octets)


def derive_mac(domain_uuid, identity):
    """The stable MAC of ``identity`` (a VF PCI address or ``network:<name>:<index>``) in a domain."""
    seed = "virt.sriov:%s:%s" % (str(domain_uuid).strip().lower(), identity)
    digest = bytearray(hashlib.sha256(seed.encode("utf-8")).digest())
    return ":".join([DERIVED_PREFIX] + ["%02x" % b for b in digest[:5]])
