# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt, _sriov_facts, _sysfs
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import VfUsage
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import FakeConn, FakeLibvirtError, Vanishing

PF_KEYS = {"pci_address", "netdevs", "netdev", "driver", "vendor_id", "device_id", "vendor_name",
           "device_name", "totalvfs", "numvfs", "drivers_autoprobe", "link_state", "mac",
           "tested_driver", "vfs"}
VF_KEYS = {"index", "pci_address", "nodedev_name", "driver", "netdev", "iommu_group", "mac", "vlan",
           "qos", "spoofchk", "trust", "link_state", "used_by", "networks"}

# An excerpt of pci.ids in its real layout (vendor, tab device, two tabs subsystem).
PCI_IDS = """# List of PCI ID's
8086  Intel Corporation
\t10c9  82576 Gigabit Network Connection
\t\t8086 a03c  Ethernet Server Adapter I350-T4
\t10ca  82576 Virtual Function
\t10fb  82599ES 10-Gigabit SFI/SFP+ Network Connection
15b3  Mellanox Technologies
\t1017  MT27800 Family [ConnectX-5]
C 02  Network controller
"""


class Recorder(object):
    """A run_command that answers ``ip`` from the fake tree and records every call."""

    def __init__(self, fake, **kwargs):
        self.calls = []
        self._answer = fake.ip_commands(**kwargs)

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        return self._answer(argv)


@pytest.fixture
def lab_like(fake):
    """Two igb 82576 PFs with 7 VFs each, as in the lab, plus a plain NIC."""
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=7)
    fake.add_pf("0000:02:00.0", "enp2s0", card="igb", totalvfs=7, numvfs=7)
    fake.add_nic("0000:05:00.0", "eno1")
    fake.write("usr/share/misc/pci.ids", PCI_IDS)
    return fake


def test_igb_82576_with_7_vfs(lab_like):
    lab_like.set_vf_admin("0000:01:00.0", 1, mac="52:54:00:6d:90:02", vlan=42)
    run = Recorder(lab_like)
    warnings = []
    pf = _sriov_facts.describe_pf(lab_like.host(run_command=run), "0000:01:00.0", warnings=warnings)
    assert warnings == []
    assert run.calls == [["ip", "-j", "-d", "link", "show", "dev", "enp1s0"]]  # one per PF
    assert PF_KEYS <= set(pf)
    assert (pf["driver"], pf["vendor_id"], pf["device_id"]) == ("igb", "0x8086", "0x10c9")
    assert (pf["vendor_name"], pf["device_name"]) == ("Intel Corporation", "82576 Gigabit Network Connection")
    assert (pf["totalvfs"], pf["numvfs"], pf["tested_driver"]) == (7, 7, True)
    assert len(pf["vfs"]) == 7
    for vf in pf["vfs"]:
        assert set(vf) >= VF_KEYS
        assert vf["driver"] == "igbvf"
        assert isinstance(vf["iommu_group"], int)
        assert vf["used_by"] is None and vf["networks"] is None
    assert len({vf["iommu_group"] for vf in pf["vfs"]}) == 7
    vf1 = pf["vfs"][1]
    assert (vf1["index"], vf1["pci_address"], vf1["nodedev_name"]) == (1, "0000:01:10.2", "pci_0000_01_10_2")
    assert (vf1["mac"], vf1["vlan"], vf1["spoofchk"], vf1["trust"], vf1["link_state"]) == (
        "52:54:00:6d:90:02", 42, True, False, "auto")
    assert pf["vfs"][0]["vlan"] == 0


def test_ixgbe_82599_old_iproute2(fake):
    fake.add_pf("0000:03:00.0", "ens1f0", card="ixgbe", totalvfs=63, numvfs=4)
    fake.set_vf_admin("0000:03:00.0", 3, vlan=100, mac="52:54:00:00:00:33")
    host = fake.host(run_command=Recorder(fake, legacy=True))
    pf = _sriov_facts.describe_pf(host, "0000:03:00.0")
    assert (pf["driver"], pf["device_id"], pf["totalvfs"], pf["tested_driver"]) == ("ixgbe", "0x10fb", 63, True)
    assert [vf["driver"] for vf in pf["vfs"]] == ["ixgbevf"] * 4
    assert (pf["vfs"][3]["mac"], pf["vfs"][3]["vlan"]) == ("52:54:00:00:00:33", 100)
    assert pf["vendor_name"] is None  # no PCI ID database on this host


def test_mlx5_vf_netdevs_share_the_pf_driver(fake):
    fake.add_pf("0000:04:00.0", "enp4s0f0np0", card="mlx5_core", totalvfs=8, numvfs=2)
    pf = _sriov_facts.describe_pf(fake.host(run_command=Recorder(fake)), "0000:04:00.0")
    assert pf["driver"] == "mlx5_core"
    assert pf["tested_driver"] is False
    assert [vf["driver"] for vf in pf["vfs"]] == ["mlx5_core", "mlx5_core"]
    assert [vf["netdev"] for vf in pf["vfs"]] == ["enp4s0f0np0v0", "enp4s0f0np0v1"]


def test_vf_bound_to_vfio_has_no_netdev_but_keeps_settings(lab_like):
    lab_like.bind_vfio("0000:01:10.2")
    lab_like.set_vf_admin("0000:01:00.0", 1, mac="52:54:00:6d:90:02", vlan=42)
    pf = _sriov_facts.describe_pf(lab_like.host(run_command=Recorder(lab_like)), "0000:01:00.0")
    vf1 = pf["vfs"][1]
    assert (vf1["driver"], vf1["netdev"]) == ("vfio-pci", None)
    assert (vf1["mac"], vf1["vlan"]) == ("52:54:00:6d:90:02", 42)


def test_pf_with_sriov_but_no_vfs_runs_no_command(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=0)
    run = Recorder(fake)
    pf = _sriov_facts.describe_pf(fake.host(run_command=run), "0000:01:00.0")
    assert (pf["totalvfs"], pf["numvfs"], pf["vfs"]) == (7, 0, [])
    assert run.calls == []


def test_pf_without_netdev_warns_and_keeps_sysfs_facts(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=2)
    fake.remove_netdevs("0000:01:00.0")
    run = Recorder(fake)
    warnings = []
    pf = _sriov_facts.describe_pf(fake.host(run_command=run), "0000:01:00.0", warnings=warnings)
    assert run.calls == []
    assert pf["netdev"] is None and pf["link_state"] is None
    assert [vf["mac"] for vf in pf["vfs"]] == [None, None]
    assert warnings == ["PF 0000:01:00.0 has no network interface (driver igb): the VF settings it "
                        "reports (MAC, VLAN, spoof check, trust, link state) are unknown."]


def test_ip_failure_is_a_warning(lab_like):
    warnings = []
    host = lab_like.host(run_command=Recorder(lab_like, failing=("enp1s0",)))
    pfs = _sriov_facts.describe_all(host, ["0000:01:00.0", "0000:02:00.0"], warnings=warnings)
    assert [vf["mac"] for vf in pfs[0]["vfs"]] == [None] * 7
    assert all(vf["mac"] is not None for vf in pfs[1]["vfs"])
    assert len(warnings) == 1 and "Could not read the VF settings of enp1s0" in warnings[0]


def test_vf_settings_can_be_skipped(lab_like):
    run = Recorder(lab_like)
    pf = _sriov_facts.describe_pf(lab_like.host(run_command=run), "0000:01:00.0", vf_settings=False)
    assert run.calls == []
    assert pf["vfs"][0]["spoofchk"] is None


def test_usage_fills_used_by_and_networks(lab_like):
    usage = VfUsage()
    usage.networks["passthrough"] = {"name": "passthrough", "addresses": ["0000:01:10.0", "0000:01:10.2"],
                                     "active": True}
    user = {"domain": "guestVM", "uuid": "u", "running": True, "config": "live", "via": "network:passthrough"}
    usage.add_user("0000:01:10.2", user)
    pf = _sriov_facts.describe_pf(lab_like.host(run_command=Recorder(lab_like)), "0000:01:00.0", usage=usage)
    assert pf["vfs"][1]["used_by"] == [user]
    assert pf["vfs"][1]["networks"] == ["passthrough"]
    assert pf["vfs"][0]["used_by"] == [] and pf["vfs"][0]["networks"] == ["passthrough"]
    assert pf["vfs"][2]["networks"] == []


@pytest.mark.parametrize("kwargs, expected", [
    ({}, ["0000:01:00.0", "0000:02:00.0"]),
    ({"pf": "enp2s0"}, ["0000:02:00.0"]),
    ({"pci_address": "pci_0000_01_00_0"}, ["0000:01:00.0"]),
])
def test_select_pfs(lab_like, kwargs, expected):
    assert [str(a) for a in _sriov_facts.select_pfs(lab_like.host(), **kwargs)] == expected


@pytest.mark.parametrize("kwargs, message", [
    ({"pf": "enp9s0"}, "Network interface 'enp9s0' is not an SR-IOV capable PF on this host. "
                       "SR-IOV capable PFs: enp1s0 (0000:01:00.0), enp2s0 (0000:02:00.0)."),
    ({"pci_address": "0000:01:10.2"}, "PCI device 0000:01:10.2 is a virtual function of PF 0000:01:00.0, not a PF."),
    ({"pf": "enp1s0v3"}, "is a virtual function of PF 0000:01:00.0"),
    ({"pf": "eno1"}, "has no SR-IOV capability (no sriov_totalvfs). SR-IOV capable PFs: enp1s0"),
    ({"pci_address": "1:0.0"}, "Invalid PCI address '1:0.0': expected '0000:03:10.2'"),
])
def test_bad_selection(lab_like, kwargs, message):
    with pytest.raises(SriovError) as info:
        _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), libvirt="no", **kwargs)
    assert message in info.value.msg


def test_gather_without_libvirt_python(lab_like, monkeypatch):
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", False)
    result = _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)))
    assert result["libvirt_connected"] is False
    assert [pf["pci_address"] for pf in result["pfs"]] == ["0000:01:00.0", "0000:02:00.0"]
    assert sorted(result["pfs_by_name"]) == ["enp1s0", "enp2s0"]
    assert result["pfs_by_name"]["enp2s0"] is result["pfs"][1]
    assert result["tested_drivers"] == ["igb", "ixgbe"]
    assert len(result["warnings"]) == 1
    assert "libvirt-python" in result["warnings"][0] and "null" in result["warnings"][0]
    with pytest.raises(SriovError):
        _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), libvirt="yes")


def test_libvirt_no_never_connects(lab_like, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("must not connect")

    monkeypatch.setattr(_libvirt, "open_connection", boom)
    result = _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), libvirt="no")
    assert result["warnings"] == [] and result["libvirt_connected"] is False


def test_invalid_libvirt_mode(lab_like):
    with pytest.raises(SriovError, match="Invalid libvirt mode 'maybe'"):
        _sriov_facts.load_vf_usage(lab_like.host(), "qemu:///system", mode="maybe")


NODE_XML = """<node>
  <domain type='test'>
    <name>guestVM</name><memory>131072</memory><os><type>hvm</type></os>
    <devices>
      <interface type='hostdev' managed='yes'>
        <mac address='52:54:00:6d:90:02'/>
        <source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x2'/></source>
      </interface>
    </devices>
  </domain>
  <network>
    <name>passthrough</name>
    <forward mode='hostdev' managed='yes'><pf dev='enp2s0'/></forward>
  </network>
</node>
"""


@pytest.fixture
def node_uri(tmp_path):
    pytest.importorskip("libvirt")
    path = tmp_path / "node.xml"
    path.write_text(NODE_XML)
    return "test://" + str(path)


def test_gather_with_libvirt_test_driver(lab_like, node_uri):
    result = _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), uri=node_uri)
    assert result["warnings"] == []
    assert result["libvirt_connected"] is True
    enp1s0, enp2s0 = result["pfs"]
    users = enp1s0["vfs"][1]["used_by"]
    assert [(u["domain"], u["running"], u["config"], u["via"]) for u in users] == [
        ("guestVM", True, "live", "hostdev"), ("guestVM", True, "persistent", "hostdev")]
    assert enp1s0["vfs"][0]["used_by"] == [] and enp1s0["vfs"][0]["networks"] == []
    assert all(vf["networks"] == ["passthrough"] for vf in enp2s0["vfs"])


def test_unreachable_uri_is_a_warning(lab_like, tmp_path):
    pytest.importorskip("libvirt")
    uri = "test://%s/missing.xml" % tmp_path
    result = _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), uri=uri)
    assert result["libvirt_connected"] is False
    assert len(result["warnings"]) == 1
    assert result["warnings"][0].startswith("Cannot connect to libvirt at URI %r" % uri)
    assert result["warnings"][0].endswith("the used_by and networks fields of every VF are null.")
    assert all(vf["used_by"] is None for pf in result["pfs"] for vf in pf["vfs"])
    with pytest.raises(SriovError, match="Cannot connect to libvirt"):
        _sriov_facts.gather_sriov_info(lab_like.host(run_command=Recorder(lab_like)), uri=uri, libvirt="yes")


def _block_numvfs(fake, address):
    """Make a PF's sriov_numvfs a FIFO without a writer: opening it blocks, as a read of the
    real attribute blocks while a write of it is stuck in the kernel. Returns a release()."""
    path = fake.host().path("/sys/bus/pci/devices", address, "sriov_numvfs")
    os.remove(path)
    os.mkfifo(path)

    def release():  # let the abandoned reader end: a writer that goes away at once
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
    return release


def test_a_pf_whose_numvfs_blocks_is_reported_null_the_others_still_are(lab_like, monkeypatch):
    monkeypatch.setattr(_sysfs, "NUMVFS_READ_TIMEOUT", 1)
    release = _block_numvfs(lab_like, "0000:01:00.0")
    try:
        started = time.monotonic()
        result = _sriov_facts.gather_sriov_info(lab_like.host(Recorder(lab_like)), libvirt="no")
        elapsed = time.monotonic() - started
    finally:
        release()
    assert elapsed < 5, elapsed  # bounded: one deadline for every PF
    by_address = dict((pf["pci_address"], pf) for pf in result["pfs"])
    assert by_address["0000:01:00.0"]["numvfs"] is None
    assert len(by_address["0000:01:00.0"]["vfs"]) == 7  # the virtfn links still answer
    assert by_address["0000:02:00.0"]["numvfs"] == 7
    assert result["warnings"] == [
        "Reading sriov_numvfs of PF 0000:01:00.0 did not answer within 1 s: a change of its VF count "
        "is stuck in the kernel (most likely a guest still holds one of its VFs through vfio-pci); "
        "its numvfs is reported as null."]


def test_bounded_reads_of_missing_and_present_files(tmp_path):
    (tmp_path / "a").write_text("4\n")
    assert _sysfs.read_bounded_many([str(tmp_path / "a"), str(tmp_path / "missing")], 5) == ["4", None]
    assert _sysfs.read_bounded_many([], 5) == []


def test_bounded_reads_go_on_after_files_that_block(tmp_path):
    paths = [str(tmp_path / name) for name in ("a", "stuck1", "b", "stuck2", "c")]
    for path in paths:
        if "stuck" in path:
            os.mkfifo(path)
        else:
            with open(path, "w") as handle:
                handle.write(os.path.basename(path))
    try:
        found = _sysfs.read_bounded_many(paths, 0.5)
    finally:
        for path in paths[1], paths[3]:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    assert found == ["a", _sysfs.TIMED_OUT, "b", _sysfs.TIMED_OUT, "c"]


def test_objects_undefined_during_the_scan_are_skipped(lab_like):
    from ansible_collections.virt.sriov.plugins.module_utils import _vf_usage

    conn = FakeConn(domains=[Vanishing("gone", FakeLibvirtError("not found", _vf_usage.VIR_ERR_NO_DOMAIN))],
                    networks=[Vanishing("gone", FakeLibvirtError("not found", _vf_usage.VIR_ERR_NO_NETWORK))])
    usage = _vf_usage.collect_vf_usage(conn, lab_like.host())
    assert usage.networks == {} and usage.users_of("0000:01:10.0") == []


def test_other_libvirt_errors_during_the_scan_still_fail(lab_like):
    from ansible_collections.virt.sriov.plugins.module_utils import _vf_usage

    error = FakeLibvirtError("internal error", 1)
    with pytest.raises(FakeLibvirtError):
        _vf_usage.collect_vf_usage(FakeConn(domains=[Vanishing("broken", error)]), lab_like.host())


# ``ip -s -j -d link show dev enp1s0`` on the lab (igb 82576, iproute2 6.1, kernel 6.1) with two
# VFs, trimmed to the keys that matter: each vfinfo entry carries "stats" with rx/tx objects; the
# tx object's keys are "tx_bytes"/"tx_packets" (measured), the rx object's "bytes"/"packets".
IP_STATS_JSON = """[{"ifindex":3,"ifname":"enp1s0","operstate":"UP","address":"52:54:00:5a:00:01",
"vfinfo_list":[
 {"vf":0,"link_type":"ether","address":"00:00:00:00:00:00","broadcast":"ff:ff:ff:ff:ff:ff",
  "spoofchk":true,"link_state":"auto","trust":false,
  "stats":{"rx":{"bytes":0,"packets":0,"multicast":0,"broadcast":0,"dropped":0},
           "tx":{"tx_bytes":0,"tx_packets":0,"dropped":0}}},
 {"vf":1,"link_type":"ether","address":"52:54:00:6d:90:02","broadcast":"ff:ff:ff:ff:ff:ff",
  "vlan_list":[{"vlan":42}],"spoofchk":true,"link_state":"auto","trust":false,
  "stats":{"rx":{"bytes":15360,"packets":120,"multicast":3,"broadcast":1,"dropped":7},
           "tx":{"tx_bytes":10240,"tx_packets":80,"dropped":0}}}]}]"""


def test_numa_node_and_local_cpus_of_each_pf(lab_like):
    lab_like.set_numa("0000:02:00.0", 1, "16-31,48-63")
    result = _sriov_facts.gather_sriov_info(lab_like.host(Recorder(lab_like)), libvirt="no")
    by_address = dict((pf["pci_address"], pf) for pf in result["pfs"])
    assert (by_address["0000:02:00.0"]["numa_node"], by_address["0000:02:00.0"]["local_cpulist"]) == (
        1, "16-31,48-63")
    # numa_node -1 (no NUMA topology: the lab, most VMs) is null
    assert (by_address["0000:01:00.0"]["numa_node"], by_address["0000:01:00.0"]["local_cpulist"]) == (None, "0-1")


def test_vf_stats_from_the_same_single_ip_call(fake):
    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=2)
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return 0, IP_STATS_JSON, ""

    result = _sriov_facts.gather_sriov_info(fake.host(run), libvirt="no", stats=True)
    assert calls == [["ip", "-j", "-s", "-d", "link", "show", "dev", "enp1s0"]]
    vf0, vf1 = result["pfs"][0]["vfs"]
    assert vf1["stats"] == {"rx_packets": 120, "rx_bytes": 15360, "rx_dropped": 7,
                            "tx_packets": 80, "tx_bytes": 10240, "tx_dropped": 0}
    assert vf0["stats"]["rx_packets"] == 0 and vf1["vlan"] == 42


def test_vf_stats_absent_or_partial():
    from ansible_collections.virt.sriov.plugins.module_utils import _iplink

    assert _iplink.parse_vf_stats({"vf": 0}) is None
    old_kernel = {"vf": 0, "stats": {"rx": {"bytes": 1, "packets": 2}, "tx": {"bytes": 3, "packets": 4}}}
    assert _iplink.parse_vf_stats(old_kernel) == {"rx_packets": 2, "rx_bytes": 1, "rx_dropped": None,
                                                  "tx_packets": 4, "tx_bytes": 3, "tx_dropped": None}


def test_no_stats_key_unless_asked(lab_like):
    result = _sriov_facts.gather_sriov_info(lab_like.host(Recorder(lab_like)), libvirt="no")
    assert "stats" not in result["pfs"][0]["vfs"][0]
