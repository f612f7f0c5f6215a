# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt-python as an optional dependency, the shared ``uri`` option and the connection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback
from contextlib import contextmanager

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

try:
    import libvirt
except ImportError:
    libvirt = None
    HAS_LIBVIRT = False
    LIBVIRT_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_LIBVIRT = True
    LIBVIRT_IMPORT_ERROR = None

# Defined without libvirt so that modules can build their argument spec without importing it.
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_args import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_URI,
    LIBVIRT_COMMON_ARGSPEC,
)

# libvirt messages the users meet, and what they mean for an SR-IOV operator.
_KNOWN_ERRORS = (
    ("No usable Vf's present", "The PF has no VFs libvirt can use: create the VFs first "
     "(virt.sriov.sriov_vfs), then start or restart the network."),
    # bridge_driver.c, when a pool network has no free device left to hand out.
    ("requires exclusive access to interfaces", "Every VF of this pool network is already in "
     "use by a guest: create more VFs on the PF (virt.sriov.sriov_vfs, then restart the network "
     "while no guest uses it) or release a VF."),
    ("No more available PCI slots", "The guest has no free PCIe slot for hotplug: add spare "
     "pcie-root-port controllers to its definition (one per device to hotplug)."),
    ("domain is not running", "The domain is not running: only its persistent configuration "
     "can be changed."),
    ("is in use by", "The device is already used by another domain."),
    ("because the PF is not online", "The PF's link is down: bring it up (ip link set PF up, "
     "and at boot sriov_udev_rule link_up=true or the host's network configuration) before "
     "starting guests on its VFs."),
)


def require_libvirt(module):
    """Fail the module with Ansible's standard message when libvirt-python is missing."""
    if not HAS_LIBVIRT:
        module.fail_json(msg=missing_required_lib("libvirt-python"), exception=LIBVIRT_IMPORT_ERROR)


def explain_libvirt_error(exc, action=None):
    """Return a SriovError carrying libvirt's message and, where known, what it means."""
    text = exc.get_error_message() if hasattr(exc, "get_error_message") else str(exc)
    text = text or str(exc)
    hint = None
    for needle, meaning in _KNOWN_ERRORS:
        if needle in text:
            hint = meaning
            break
    prefix = "%s failed: " % action if action else ""
    msg = prefix + (text if hint is None else "%s (libvirt: %s)" % (hint, text))
    return SriovError(msg, libvirt_error=text)


def _ignore_libvirt_error(_ctx, _err):
    """libvirt prints every error to stderr by default; errors reach us as exceptions anyway."""


@contextmanager
def open_connection(uri=DEFAULT_URI, read_only=False):
    """Yield an open libvirt connection; raise SriovError when the URI does not answer."""
    if not HAS_LIBVIRT:
        raise SriovError(
            "The libvirt Python bindings (libvirt-python, Debian/Ubuntu package python3-libvirt) "
            "are not installed on the host.",
        )
    libvirt.registerErrorHandler(_ignore_libvirt_error, None)
    try:
        conn = libvirt.openReadOnly(uri) if read_only else libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise SriovError(
            "Cannot connect to libvirt at URI %r: %s" % (uri, exc.get_error_message() or exc),
            uri=uri,
        )
    if conn is None:
        raise SriovError("Cannot connect to libvirt at URI %r." % (uri,), uri=uri)
    try:
        yield conn
    finally:
        try:
            conn.close()
        except libvirt.libvirtError:
            pass
