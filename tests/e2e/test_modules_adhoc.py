"""Single modules on the lab through pytest-ansible (fixture ``lab_module`` in conftest.py).

Each check is one module call in the pytest process, compared with what the host shows over SSH:
  - sriov_info: both igb PFs (8086:10c9) with 7 VFs at most, their VF count as in sysfs, and no
    PF for the virtio management NIC;
  - iommu_info: Intel VT-d on from the DMAR table, IOMMU groups present;
  - kernel_cmdline with the arguments the lab boots with: nothing to change.
"""
import pytest

pytestmark = pytest.mark.lab


def test_sriov_info(lab, lab_module):
    info = lab_module("virt.sriov.sriov_info")
    assert not info.get("failed"), info
    pfs = {pf["netdev"]: pf for pf in info["pfs"]}
    assert sorted(pfs) == ["enp1s0", "enp2s0"], info["pfs"]
    counts = lab.ssh("cat /sys/class/net/enp1s0/device/sriov_numvfs "
                     "/sys/class/net/enp2s0/device/sriov_numvfs", check=True).stdout.split()
    for netdev, count in zip(("enp1s0", "enp2s0"), counts):
        pf = pfs[netdev]
        assert (pf["driver"], pf["vendor_id"], pf["device_id"], pf["totalvfs"]) == \
            ("igb", "0x8086", "0x10c9", 7), pf
        assert pf["numvfs"] == int(count) and len(pf["vfs"]) == int(count), pf


def test_iommu_info(lab_module):
    info = lab_module("virt.sriov.iommu_info")
    assert (info["enabled"], info["iommu_kind"], info["firmware_table"]) == (True, "intel", "DMAR"), info
    assert info["iommu_groups"] > 0, info


def test_kernel_cmdline_nothing_to_do(lab_module):
    result = lab_module("virt.sriov.kernel_cmdline", present=["intel_iommu=on", "iommu=pt"])
    assert not result.get("failed") and result["changed"] is False, result
    assert result["added"] == [] and result["removed"] == [], result
