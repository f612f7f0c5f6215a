# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AnsibleModule boundary: one way for every module to run its work and report it.

A module builds its ``AnsibleModule`` and calls ``run_module(module, work)``. ``work`` receives
the module and returns a result dict. ``run_module`` turns that dict into ``exit_json`` (warnings
become module warnings; ``diff`` is returned only with ``--diff``) and any exception into
``fail_json``: a SriovError becomes its message plus its details; anything else a one-line
message with the traceback in ``exception`` (shown at -vvv), never a raw traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._lock import host_lock


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


def fail_from_exception(module, exc, **extra):
    """``fail_json`` for an exception: the only place where exceptions become failures."""
    result = dict(extra)
    if isinstance(exc, SriovError):
        result.update(exc.details)
        module.fail_json(msg=exc.msg, **result)
    first_line = (str(exc).strip().splitlines() or [""])[0]
    module.fail_json(
        msg="Unexpected error: %s: %s" % (type(exc).__name__, first_line),
        exception=traceback.format_exc(),
        **result
    )


def run_module(module, work, needs_libvirt=False, lock_name=None):
    """Run ``work(module)`` and exit the module with its result or its failure.

    ``needs_libvirt``: fail with Ansible's standard "missing library" message first when the
    libvirt bindings are not importable (the libvirt layer is imported only then).
    ``lock_name``: a module that changes the host holds the host-wide lock (_lock.host_lock)
    under this name while ``work`` runs (not in check mode, which changes nothing).
    """
    if needs_libvirt:
        from ansible_collections.virt.sriov.plugins.module_utils._libvirt import require_libvirt

        require_libvirt(module)
    try:
        if lock_name and not module.check_mode:
            with host_lock(Host(), lock_name):
                result = work(module)
        else:
            result = work(module)
    except Exception as exc:  # pylint: disable=broad-except
        fail_from_exception(module, exc)
    exit_with_result(module, result)
