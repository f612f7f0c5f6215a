# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one domain exception of the collection (module failures: _module.run_module)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class SriovError(Exception):
    """A failure the user can act on.

    ``msg`` is the sentence shown to the user: it names the offending value and says what would
    be valid. ``details`` are extra, JSON-serialisable keys returned with the failure (for
    example ``valid_pfs`` or ``users``).
    """

    def __init__(self, msg, **details):
        super(SriovError, self).__init__(msg)
        self.msg = msg
        self.details = details
