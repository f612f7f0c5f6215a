# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How a module hands the result of its module_utils call back to Ansible."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def exit_with_result(module, result):
    """``exit_json`` with a result dict from module_utils.

    Its ``warnings`` (a list of sentences) become module warnings; its ``diff`` is returned only
    when the user asked for ``--diff``.
    """
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    diff = result.pop("diff", None)
    if module._diff and diff is not None:
        result["diff"] = diff
    module.exit_json(**result)
