# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label, validate_vlan


@pytest.mark.parametrize("pf, label", [
    ({"pci_address": "0000:01:00.0", "netdev": "enp1s0"}, "enp1s0 (0000:01:00.0)"),
    ({"pci_address": "0000:01:00.0", "netdev": None}, "0000:01:00.0"),
    ({"pci_address": "0000:01:00.0"}, "0000:01:00.0"),
    ({"pci_address": parse_pci_address("0000:01:00.0"), "netdev": "enp1s0"}, "enp1s0 (0000:01:00.0)"),
])
def test_pf_label(pf, label):
    assert pf_label(pf) == label


@pytest.mark.parametrize("value", [None, 0, 100, 4095])
def test_validate_vlan_accepts(value):
    assert validate_vlan(value) == value


@pytest.mark.parametrize("value", [-1, 4096, True, "100", 1.5])
def test_validate_vlan_refuses_naming_the_value(value):
    with pytest.raises(SriovError) as err:
        validate_vlan(value, option="interfaces[0].vlan")
    assert "interfaces[0].vlan %r" % (value,) in err.value.msg
    assert "0 to 4095" in err.value.msg
