# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Loading a module that may run without libvirt does not load the libvirt layer.

Every run pays for what its module imports; the libvirt bindings are large. The modules below
import ``_libvirt`` (and with it libvirt-python) only inside the functions that connect, so a
run that never asks libvirt (a no-op of sriov_udev_rule, sriov_vf_settings without a MAC or
VLAN change, sriov_info with libvirt=no) does not load it. Each check runs in a fresh
interpreter: this process has imported everything already.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import ansible_collections.virt.sriov.plugins.modules.%s
print(json.dumps(sorted(m for m in sys.modules
                        if m == "libvirt" or m.endswith("module_utils._libvirt"))))
"""

LAZY = ["sriov_vfs", "sriov_udev_rule", "sriov_vf_settings", "sriov_info", "iommu_info",
        "kernel_cmdline", "libvirt_guests"]


@pytest.mark.parametrize("module", LAZY)
def test_module_loads_without_the_libvirt_layer(module):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, "-c", PROBE % module], env=env, check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == [], "%s loads %s at import" % (module, out)
