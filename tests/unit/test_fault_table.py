# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""docs/docsite/rst/troubleshooting.rst's fault table is the one scripts/fault-table.py makes from the tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_fault_table_is_current():
    script = os.path.join(REPO, "scripts", "fault-table.py")
    proc = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
