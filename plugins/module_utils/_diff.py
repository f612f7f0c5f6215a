# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Before/after bookkeeping that drives ``changed`` and ``--diff`` from one place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ChangeTracker(object):
    """Record named values before and after; ``changed`` is true when any of them differs.

    ``diff()`` returns Ansible's ``{'before': ..., 'after': ...}`` with only the keys given,
    or a list of such dicts (``before_header``/``after_header``) for file contents.
    """

    def __init__(self):
        self._before = {}
        self._after = {}
        self._files = []

    def add(self, name, before, after):
        self._before[name] = before
        self._after[name] = after

    def add_file(self, path, before, after):
        """Text content of a file before and after (None when it does not exist)."""
        self._files.append((path, before, after))

    @property
    def changed(self):
        return self._before != self._after or any(b != a for _p, b, a in self._files)

    def diff(self):
        result = []
        if self._before or self._after:
            result.append({"before": dict(self._before), "after": dict(self._after)})
        for path, before, after in self._files:
            result.append({
                "before_header": path if before is not None else "%s (absent)" % path,
                "after_header": path if after is not None else "%s (absent)" % path,
                "before": before if before is not None else "",
                "after": after if after is not None else "",
            })
        if len(result) == 1:
            return result[0]
        return result
