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


# --- persistence, pinning and definitions on VFs that no longer exist (gather_sriov_info) ------

PINNED_GUEST = """<domain type='kvm'><name>pinned</name><uuid>uuid-pinned</uuid>
<vcpu placement='static' cpuset='0-7'>3</vcpu>
<cputune><vcpupin vcpu='0' cpuset='0-1'/><vcpupin vcpu='1' cpuset='2'/></cputune>
<numatune><memory mode='strict' nodeset='0'/></numatune>
<devices><hostdev mode='subsystem' type='pci' managed='yes'><source>
<address domain='0x0000' bus='0x02' slot='0x10' function='0x0'/></source></hostdev></devices></domain>"""

GHOST_GUEST = """<domain type='kvm'><name>ghost</name><uuid>uuid-ghost</uuid><vcpu>1</vcpu>
<devices><interface type='hostdev' managed='yes'><source>
<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x4'/></source></interface>
<hostdev mode='subsystem' type='pci' managed='yes'><source>
<address domain='0x0000' bus='0x81' slot='0x00' function='0x0'/></source></hostdev></devices></domain>"""

STALE_POOL = """<network connections='0'><name>stale</name><forward mode='hostdev' managed='yes'>
<pf dev='enp1s0'/><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>
<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x6'/></forward></network>"""

GONE_POOL = """<network><name>gone</name><forward mode='hostdev' managed='yes'><pf dev='enp9s0'/></forward></network>"""


class _Obj(object):
    """A libvirt domain or network of the fake connection below."""

    def __init__(self, name, xml, active):
        self._name, self._xml, self._active = name, xml, active

    def name(self):
        return self._name

    def UUIDString(self):
        return "uuid-" + self._name

    def isActive(self):
        return self._active

    def isPersistent(self):
        return True

    def autostart(self):
        return False

    def XMLDesc(self, flags):
        return self._xml


class _Conn(object):
    def __init__(self, networks, domains):
        self._networks, self._domains = networks, domains

    def listAllNetworks(self, flags):
        return self._networks

    def listAllDomains(self, flags):
        return self._domains


@pytest.fixture
def fleet_host(fake, monkeypatch):
    """enp1s0 with 2 VFs and the collection's rule for 4, enp2s0 (NUMA node 1) with 3 VFs, a
    NetworkManager profile and a driver-wide udev rule that also set counts, a guest pinned to
    node 0 on a VF of enp2s0, and definitions that name VFs that do not exist."""
    from contextlib import contextmanager

    from ansible_collections.virt.sriov.plugins.module_utils import _udev

    fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=2)
    fake.add_pf("0000:02:00.0", "enp2s0", card="igb", totalvfs=7, numvfs=3, mac="52:54:00:aa:00:02")
    fake.set_numa("0000:01:00.0", 0, "0-7")
    fake.set_numa("0000:02:00.0", 1, "8-15")
    fake.write("etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules",
               _udev.render_rule("0000:01:00.0", 4, ip_path="/usr/sbin/ip"))
    fake.write("etc/udev/rules.d/70-local.rules",
               'ACTION=="add", SUBSYSTEM=="net", ENV{ID_NET_DRIVER}=="igb", ATTR{device/sriov_numvfs}="2"\n')
    fake.write("etc/NetworkManager/system-connections/enp2s0.nmconnection",
               "[connection]\nid=enp2s0\ninterface-name=enp2s0\n[sriov]\ntotal-vfs=3\n")
    conn = _Conn([_Obj("stale", STALE_POOL, True), _Obj("gone", GONE_POOL, False)],
                 [_Obj("pinned", PINNED_GUEST, True), _Obj("ghost", GHOST_GUEST, False)])

    @contextmanager
    def open_connection(uri, read_only=False):
        yield conn

    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", True)
    monkeypatch.setattr(_libvirt, "open_connection", open_connection)
    return fake


def test_gather_reports_persistence_pinning_and_missing_vfs(fleet_host):
    run = Recorder(fleet_host)
    result = _sriov_facts.gather_sriov_info(fleet_host.host(run_command=run), libvirt="yes")
    enp1s0, enp2s0 = result["pfs"]
    # one ip call per PF with VFs, nothing else run: the rule files are read, not verified
    assert sorted(c[-1] for c in run.calls) == ["enp1s0", "enp2s0"]
    assert enp1s0["udev_rule"] == {"path": "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules",
                                   "match": "pci_address", "num_vfs": 4, "link_up": True,
                                   "drivers_autoprobe": None}
    assert enp1s0["other_owners"] == [
        "udev rule /etc/udev/rules.d/70-local.rules:1 also sets sriov_numvfs for this PF"]
    assert enp2s0["udev_rule"] is None
    assert enp2s0["other_owners"] == [
        "udev rule /etc/udev/rules.d/70-local.rules:1 also sets sriov_numvfs for this PF",
        "NetworkManager connection /etc/NetworkManager/system-connections/enp2s0.nmconnection sets "
        "sriov.total-vfs=3 (NetworkManager resets the count when the connection goes down)"]
    # the pinned guest: vCPU 0 -> 0-1, vCPU 1 -> 2, vCPU 2 -> <vcpu cpuset> 0-7; memory on node 0
    (user,) = [u for u in enp2s0["vfs"][0]["used_by"] if u["config"] == "live"]
    assert (user["domain"], user["cpus"], user["memory_nodes"]) == ("pinned", "0-7", "0")
    assert (enp2s0["numa_node"], enp2s0["local_cpulist"]) == (1, "8-15")
    # VF 2 of enp1s0 (01:10.4) and VF 3 (01:10.6) no longer exist; the missing GPU is no VF
    assert result["missing_vf_users"] == [
        {"kind": "domain", "name": "ghost", "pci_address": "0000:01:10.4", "pf": "0000:01:00.0",
         "config": "persistent", "active": False},
        {"kind": "network", "name": "gone", "config": "persistent", "active": False,
         "pci_address": None, "pf": "enp9s0"},
        {"kind": "network", "name": "stale", "config": "live", "active": True,
         "pci_address": "0000:01:10.6", "pf": "0000:01:00.0"},
    ]


def test_driver_rule_is_the_pf_s_own_and_missing_is_null_without_libvirt(fleet_host):
    from ansible_collections.virt.sriov.plugins.module_utils import _udev

    fleet_host.write("run/udev/rules.d/82-virt-sriov-numvfs-igb.rules",
                     _udev.render_rule("0000:02:00.0", 5, match="driver", driver="igb", drivers_autoprobe=False))
    result = _sriov_facts.gather_sriov_info(fleet_host.host(run_command=Recorder(fleet_host)), libvirt="no")
    assert result["missing_vf_users"] is None
    enp1s0, enp2s0 = result["pfs"]
    assert enp1s0["udev_rule"]["path"].endswith("0000:01:00.0.rules")  # its own file first
    assert enp2s0["udev_rule"] == {"path": "/run/udev/rules.d/82-virt-sriov-numvfs-igb.rules", "match": "driver",
                                   "num_vfs": 5, "link_up": False, "drivers_autoprobe": False}
    assert any("82-virt-sriov-numvfs-igb.rules" in o for o in enp1s0["other_owners"])
    assert all(vf["used_by"] is None for vf in enp2s0["vfs"])


@pytest.mark.parametrize("xml, expected", [
    ("<domain><vcpu>2</vcpu></domain>", {"cpus": None, "memory_nodes": None}),
    ("<domain><vcpu cpuset='1-4,^3'>2</vcpu></domain>", {"cpus": "1-2,4", "memory_nodes": None}),
    ("<domain><vcpu>2</vcpu><cputune><vcpupin vcpu='1' cpuset='9'/></cputune>"
     "<numatune><memnode cellid='0' nodeset='1'/><memnode cellid='1' nodeset='2-3'/></numatune></domain>",
     {"cpus": "9", "memory_nodes": "1-3"}),
    ("<domain><vcpu>1</vcpu><cputune><vcpupin vcpu='0' cpuset='x'/></cputune>"
     "<numatune><memory mode='strict' placement='auto'/></numatune></domain>", {"cpus": None, "memory_nodes": None}),
])
def test_domain_placement(xml, expected):
    from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import parse_domain_placement

    assert parse_domain_placement(xml) == expected
