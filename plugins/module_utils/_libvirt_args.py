# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared libvirt ``uri`` option, importable without libvirt-python.

A module builds its argument spec from here at start; it imports ``_libvirt`` (and with it the
libvirt bindings) only when a run actually connects.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DEFAULT_URI = "qemu:///system"

# Mirrored by plugins/doc_fragments/libvirt.py.
LIBVIRT_COMMON_ARGSPEC = dict(
    uri=dict(type="str", default=DEFAULT_URI),
)
