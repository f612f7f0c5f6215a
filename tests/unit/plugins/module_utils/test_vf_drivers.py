# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._vf_drivers import (
    describe,
    normalize_driver,
    plan_changes,
    rule_lines,
    satisfied,
    validate_driver_line,
)


@pytest.mark.parametrize("driver, override, wanted, result", [
    ("vfio-pci", "vfio-pci", "vfio-pci", True),
    ("vfio-pci", None, "vfio-pci", False),  # bound by hand: the next probe would not keep it
    ("igbvf", "vfio-pci", "vfio-pci", False),
    (None, "none", "none", True),
    (None, None, "none", False),  # autoprobe or a probe would bind it
    ("igbvf", None, "host", True),
    ("igbvf", "vfio-pci", "host", False),
    ("vfio-pci", None, "host", False),
    ("pci-stub", None, "host", False),
    (None, None, "host", False),
])
def test_satisfied(driver, override, wanted, result):
    assert satisfied({"driver": driver, "driver_override": override}, wanted) is result


def test_describe_and_plan():
    assert describe({"driver": "igbvf", "driver_override": None}) == "igbvf"
    assert describe({"driver": None, "driver_override": "none"}) == "none"
    assert describe({"driver": "igbvf", "driver_override": "vfio-pci"}) == "igbvf (driver_override vfio-pci)"
    states = {0: {"driver": "igbvf", "driver_override": None}, 1: {"driver": "vfio-pci", "driver_override": "vfio-pci"}}
    changes = plan_changes({0: {"driver": "vfio-pci"}, 1: {"driver": "vfio-pci"}, 2: {"driver": "none"}, 3: {"trust": True}},
                           states)
    assert changes == [
        {"vf": 0, "setting": "driver", "before": {"driver": "igbvf"}, "after": {"driver": "vfio-pci"}},
        {"vf": 2, "setting": "driver", "before": {"driver": None}, "after": {"driver": "none"}},  # not created yet
    ]


@pytest.mark.parametrize("value", ["vfio", "igbvf", "", None, "VFIO-PCI", "vfio-pci\n"])
def test_invalid_driver_is_refused(value):
    with pytest.raises(SriovError, match="expected one of vfio-pci, host, none"):
        normalize_driver(value, "VF 0 of PF enp1s0")


def test_rule_lines_only_from_a_parsed_address():
    assert rule_lines("01:10.4", "host") == []
    for line in rule_lines("01:10.4", "vfio-pci") + rule_lines("0000:01:10.6", "none"):
        validate_driver_line(line)
    with pytest.raises(SriovError):
        rule_lines('0000:01:10.4", RUN+="/bin/sh', "vfio-pci")
    with pytest.raises(SriovError):
        validate_driver_line(rule_lines("0000:01:10.4", "none")[0].replace("0000:01:10.4", "0000:01:10.40"))
