# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.module_utils import basic

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
from ansible_collections.virt.sriov.plugins.modules import sriov_info


@pytest.fixture
def warnings(monkeypatch):
    """The sentences the module passed to AnsibleModule.warn()."""
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning, **kw: seen.append(warning))
    return seen


@pytest.fixture
def host_tree(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=7)
    fake.add_pf("0000:02:00.0", "enp2s0", card="igb", totalvfs=7, numvfs=0)
    fake.add_pf("0000:03:00.0", "enp3s0f0np0", card="mlx5_core", totalvfs=8, numvfs=2)
    fake.add_nic("0000:05:00.0", "eno1")
    fake.bind_vfio("0000:01:10.2")
    fake.set_vf_admin("0000:01:00.0", 1, mac="52:54:00:6d:90:02", vlan=42)
    return fake


def test_all_pfs_read_only_one_ip_call_per_pf_with_vfs(host_tree, run_module, warnings):
    result = run_module(sriov_info, {"libvirt": "no"}, commands=host_tree.ip_commands())
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert [pf["pci_address"] for pf in result["pfs"]] == ["0000:01:00.0", "0000:02:00.0", "0000:03:00.0"]
    assert sorted(run_module.calls) == [
        ["ip", "-j", "-d", "link", "show", "dev", "enp1s0"],
        ["ip", "-j", "-d", "link", "show", "dev", "enp3s0f0np0"],
    ]
    enp1s0 = result["pfs_by_name"]["enp1s0"]
    assert (enp1s0["totalvfs"], enp1s0["numvfs"], len(enp1s0["vfs"])) == (7, 7, 7)
    vf1 = enp1s0["vfs"][1]
    assert (vf1["driver"], vf1["netdev"], vf1["mac"], vf1["vlan"]) == ("vfio-pci", None, "52:54:00:6d:90:02", 42)
    assert vf1["used_by"] is None
    assert result["pfs_by_name"]["enp2s0"]["vfs"] == []
    assert result["pfs_by_name"]["enp3s0f0np0"]["tested_driver"] is False
    assert result["libvirt_connected"] is False
    assert result["missing_vf_users"] is None  # libvirt not asked
    assert all(pf["udev_rule"] is None and pf["other_owners"] == [] for pf in result["pfs"])
    assert warnings == []


def test_check_mode_is_the_same(host_tree, run_module):
    result = run_module(sriov_info, {"pf": "enp1s0", "libvirt": "no"}, check_mode=True,
                        commands=host_tree.ip_commands())
    assert result["changed"] is False
    assert len(result["pfs"]) == 1 and len(result["pfs"][0]["vfs"]) == 7


@pytest.mark.parametrize("args, message", [
    ({"pf": "enp7s0"}, "Network interface 'enp7s0' is not an SR-IOV capable PF on this host. SR-IOV capable PFs: "
                       "enp1s0 (0000:01:00.0), enp2s0 (0000:02:00.0), enp3s0f0np0 (0000:03:00.0)."),
    ({"pci_address": "0000:01:10.4"}, "PCI device 0000:01:10.4 is a virtual function of PF 0000:01:00.0, not a PF."),
    ({"pf": "eno1"}, "Network interface 'eno1' (0000:05:00.0) has no SR-IOV capability"),
    ({"pci_address": "01:10"}, "Invalid PCI address '01:10': expected '0000:03:10.2' (domain:bus:slot.function)"),
    ({"pci_address": "0000:09:00.0"}, "PCI address '0000:09:00.0' is not an SR-IOV capable PF on this host."),
    ({"pf": "enp1s0", "pci_address": "0000:01:00.0"}, "parameters are mutually exclusive: pf|pci_address"),
])
def test_bad_input_fails_with_a_useful_message(host_tree, run_module, args, message):
    result = run_module(sriov_info, args, commands=host_tree.ip_commands())
    assert result["failed"] is True
    assert message in result["msg"]
    assert run_module.calls == []


def test_bad_selection_lists_valid_pfs(host_tree, run_module):
    result = run_module(sriov_info, {"pf": "enp7s0"})
    assert result["valid_pfs"] == ["enp1s0 (0000:01:00.0)", "enp2s0 (0000:02:00.0)", "enp3s0f0np0 (0000:03:00.0)"]


def test_no_libvirt_python_warns(host_tree, run_module, monkeypatch, warnings):
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", False)
    result = run_module(sriov_info, {"pci_address": "01:00.0"}, commands=host_tree.ip_commands())
    assert result.get("failed") is not True, result
    assert result["libvirt_connected"] is False
    assert len(warnings) == 1 and "libvirt-python" in warnings[0]
    assert all(vf["used_by"] is None and vf["networks"] is None for vf in result["pfs"][0]["vfs"])


def test_unreachable_uri_warns_instead_of_failing(host_tree, run_module, tmp_path, warnings):
    pytest.importorskip("libvirt")
    uri = "test://%s/nothing-here.xml" % tmp_path
    result = run_module(sriov_info, {"pf": "enp1s0", "uri": uri}, commands=host_tree.ip_commands())
    assert result.get("failed") is not True, result
    assert len(warnings) == 1 and warnings[0].startswith("Cannot connect to libvirt at URI %r" % uri)


def test_unreachable_uri_fails_with_libvirt_yes(host_tree, run_module, tmp_path):
    pytest.importorskip("libvirt")
    result = run_module(sriov_info, {"pf": "enp1s0", "uri": "test://%s/x.xml" % tmp_path, "libvirt": "yes"},
                        commands=host_tree.ip_commands())
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot connect to libvirt at URI")


def test_libvirt_usage_through_the_test_driver(host_tree, run_module, tmp_path, warnings):
    pytest.importorskip("libvirt")
    node = tmp_path / "node.xml"
    node.write_text("""<node>
  <domain type='test'><name>guestVM</name><memory>131072</memory><os><type>hvm</type></os><devices>
    <hostdev mode='subsystem' type='pci' managed='yes'><source>
      <address domain='0x0000' bus='0x01' slot='0x10' function='0x2'/></source></hostdev>
  </devices></domain>
  <network><name>passthrough</name><forward mode='hostdev' managed='yes'><pf dev='enp1s0'/></forward></network>
  <network><name>default</name><forward mode='nat'/><bridge name='virbr0'/><ip address='192.0.2.1' netmask='255.255.255.0'/></network>
</node>""")
    result = run_module(sriov_info, {"pf": "enp1s0", "uri": "test://" + str(node)}, commands=host_tree.ip_commands())
    assert result.get("failed") is not True, result
    assert result["libvirt_connected"] is True
    assert warnings == []
    vfs = result["pfs"][0]["vfs"]
    assert {u["domain"] for u in vfs[1]["used_by"]} == {"guestVM"}
    assert all(vf["networks"] == ["passthrough"] for vf in vfs)
    assert all(vf["used_by"] == [] for vf in vfs if vf["index"] != 1)
    assert {(u["cpus"], u["memory_nodes"]) for u in vfs[1]["used_by"]} == {(None, None)}  # pinned nowhere
    assert result["missing_vf_users"] == []
