"""The VF count guard fails closed and lets idle pools through, in the emulated hypervisor.

test_scan_incomplete_refuses_then_converges: PF1 has 4 VFs; with libvirtd stopped (service and
  sockets), asking for 2 is refused naming libvirt as the reason and the count stays 4; with
  libvirtd started again the same task converges (changed, 2 VFs).
test_idle_pool_restarted_without_force: an active hostdev pool network on PF1 (4 VFs, no guest);
  the list form asks for 6 VFs without force: changed, the network is reported restarted, it is
  active again and its live XML lists the 6 new VFs; the same task again: not changed.

One playbook per test (a few module tasks each); both leave the lab as they found it.
"""
import re

import pytest

pytestmark = pytest.mark.lab

VIRSH = "virsh -c qemu:///system"
PF1_DEV = "/sys/class/net/enp1s0/device"
LIBVIRTD_UNITS = "libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket"
POOL_XML = """<network>
  <name>e2e-idle-pool</name>
  <forward mode='hostdev' managed='yes'><pf dev='enp1s0'/></forward>
</network>"""
START_LIBVIRTD = "systemctl start libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd.service"
CLEANUP = (f"{START_LIBVIRTD}; {VIRSH} net-destroy e2e-idle-pool >/dev/null 2>&1; "
           f"{VIRSH} net-undefine e2e-idle-pool >/dev/null 2>&1; echo 0 > {PF1_DEV}/sriov_numvfs; "
           "rm -f /root/e2e-idle-pool.xml")

PLAY_SCAN = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: stop libvirtd and its sockets
      ansible.builtin.command: systemctl stop {LIBVIRTD_UNITS}
      changed_when: true
    - name: fewer VFs while libvirtd is down
      virt.sriov.sriov_vfs:
        pf: enp1s0
        num_vfs: 2
      ignore_errors: true
    - name: start libvirtd
      ansible.builtin.command: {START_LIBVIRTD}
      changed_when: true
    - name: the same task with libvirtd up
      virt.sriov.sriov_vfs:
        pf: enp1s0
        num_vfs: 2
"""

PLAY_POOL = """
- hosts: all
  gather_facts: false
  tasks:
    - name: grow the PF under an idle pool
      virt.sriov.sriov_vfs:
        pfs:
          - pf: enp1s0
            num_vfs: 6
            persist: false
    - name: the same again
      virt.sriov.sriov_vfs:
        pfs:
          - pf: enp1s0
            num_vfs: 6
            persist: false
"""


@pytest.fixture
def clean_lab(lab):
    lab.ssh(CLEANUP, timeout=120)
    yield lab
    lab.ssh(CLEANUP, timeout=120)


def test_scan_incomplete_refuses_then_converges(clean_lab):
    lab = clean_lab
    lab.ssh(f"echo 4 > {PF1_DEV}/sriov_numvfs && udevadm settle", check=True, timeout=120)
    res = lab.run_playbook(PLAY_SCAN)
    refused = res.task("fewer VFs while libvirtd is down")
    assert refused.status == "ignored", refused.result
    msg = refused.result["msg"]
    assert "could not be checked: libvirt is unreachable" in msg and "force=true" in msg, msg
    assert refused.result["scan_error"].startswith("libvirt is unreachable"), refused.result
    converged = res.task("the same task with libvirtd up")
    assert converged.changed and converged.result["numvfs_before"] == 4, converged.result
    assert converged.result["numvfs_after"] == 2, converged.result
    assert lab.ssh(f"cat {PF1_DEV}/sriov_numvfs", check=True).stdout.strip() == "2"


def test_idle_pool_restarted_without_force(clean_lab):
    lab = clean_lab
    lab.ssh(f"ip link set dev enp1s0 up && echo 4 > {PF1_DEV}/sriov_numvfs && udevadm settle && "
            f"cat > /root/e2e-idle-pool.xml <<'EOF'\n{POOL_XML}\nEOF\n"
            f"{VIRSH} net-define /root/e2e-idle-pool.xml && {VIRSH} net-start e2e-idle-pool",
            check=True, timeout=180)
    before = lab.ssh(f"{VIRSH} net-dumpxml e2e-idle-pool", check=True).stdout
    assert len(re.findall(r"<address type='pci'", before)) == 4, before
    res = lab.run_playbook(PLAY_POOL)
    grow = res.task("grow the PF under an idle pool").result
    assert grow["changed"] and grow["restarted_networks"] == ["e2e-idle-pool"], grow
    pf = grow["pfs"][0]
    assert pf["numvfs_before"] == 4 and pf["numvfs_after"] == 6 and pf["vfs_in_use"] == [], pf
    assert len(pf["vf_addresses"]) == 6, pf
    again = res.task("the same again").result
    assert not again["changed"] and again["restarted_networks"] == [], again
    out = lab.ssh(f"{VIRSH} net-info e2e-idle-pool; {VIRSH} net-dumpxml e2e-idle-pool", check=True).stdout
    assert re.search(r"Active:\s+yes", out), out
    listed = re.findall(r"<address type='pci' domain='0x(\w+)' bus='0x(\w+)' slot='0x(\w+)' function='0x(\w+)'", out)
    assert ["%s:%s:%s.%s" % (d, b, s, f[-1]) for d, b, s, f in listed] == pf["vf_addresses"], out
