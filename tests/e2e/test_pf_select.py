"""PFs chosen by hardware, and the management-NIC guard, in the emulated hypervisor.

test_select_by_hardware_and_default_route_guard, one playbook:
  1. sriov_vfs with ``select: {device_id: "10c9", driver: igb}`` and 2 VFs, in check mode,
     chooses enp1s0 and enp2s0 (the two igb PFs) and not the virtio management NIC;
  2. with an address and a default route on enp2s0 (metric 4000, behind the management
     route), a real run on enp2s0 fails naming the default route, and its sriov_numvfs is
     what it was;
  3. the same entry with ``allow_management: true`` creates the 2 VFs.
The finalizer removes the route and the address and gives both PFs back their VF count and
enp2s0 its link state.
"""
import pytest

pytestmark = pytest.mark.lab

PF1_NUMVFS = "/sys/class/net/enp1s0/device/sriov_numvfs"
PF2_NUMVFS = "/sys/class/net/enp2s0/device/sriov_numvfs"
ROUTE = "default via 192.0.2.1 dev enp2s0 metric 4000"
ADDRESS = "192.0.2.2/24"
CLEANUP = (f"ip route del {ROUTE} 2>/dev/null; ip addr del {ADDRESS} dev enp2s0 2>/dev/null; "
           f"echo 0 > {PF1_NUMVFS}; echo 0 > {PF2_NUMVFS}; udevadm settle")

PLAY = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: select the igb PFs (check mode)
      virt.sriov.sriov_vfs:
        pfs:
          - select:
              device_id: "10c9"
              driver: igb
            num_vfs: 2
            persist: false
      check_mode: true
      register: selected

    - name: a default route on enp2s0
      ansible.builtin.command:
        argv: "{{{{ item }}}}"
      loop:
        - [ip, addr, add, {ADDRESS}, dev, enp2s0]
        - [ip, link, set, enp2s0, up]
        - [ip, route, add, {ROUTE.replace(" ", ", ")}]
      changed_when: true

    - name: VFs on the PF of the default route
      virt.sriov.sriov_vfs:
        pfs:
          - pf: enp2s0
            num_vfs: 2
            persist: false
      register: refused
      ignore_errors: true

    - name: read sriov_numvfs after the refusal
      ansible.builtin.command: cat {PF2_NUMVFS}
      register: numvfs_after_refusal
      changed_when: false

    - name: the same with allow_management
      virt.sriov.sriov_vfs:
        pfs:
          - pf: enp2s0
            num_vfs: 2
            persist: false
            allow_management: true
      register: allowed

    - name: read sriov_numvfs at the end
      ansible.builtin.command: cat {PF2_NUMVFS}
      register: numvfs_end
      changed_when: false
"""


@pytest.fixture
def clean_lab(lab):
    before = lab.ssh(f"cat {PF1_NUMVFS} {PF2_NUMVFS} /sys/class/net/enp2s0/flags", check=True).stdout.split()
    lab.ssh(CLEANUP, timeout=120)
    yield lab
    lab.ssh(CLEANUP, timeout=120)
    for path, count in ((PF1_NUMVFS, before[0]), (PF2_NUMVFS, before[1])):
        if count != "0":
            lab.ssh(f"echo {count} > {path}; udevadm settle", timeout=120)
    lab.ssh(f"ip link set enp2s0 {'up' if int(before[2], 16) & 1 else 'down'}")
    assert ROUTE.split(" metric", maxsplit=1)[0] not in lab.ssh("ip route show default").stdout


def test_select_by_hardware_and_default_route_guard(clean_lab):
    lab = clean_lab
    res = lab.run_playbook(PLAY)

    selected = res.task("select the igb PFs (check mode)").result
    assert selected["changed"], selected
    assert [(p["pf"]["netdev"], p["pf"]["pci_address"]) for p in selected["pfs"]] == [
        ("enp1s0", "0000:01:00.0"), ("enp2s0", "0000:02:00.0")], selected["pfs"]
    assert all(p["select"] == {"device_id": "10c9", "driver": "igb"} and p["entry"] == 0 for p in selected["pfs"])
    assert [p["numvfs_after"] for p in selected["pfs"]] == [2, 2]

    refused = res.task("VFs on the PF of the default route")
    assert refused.status == "ignored", refused.result  # a failure, ignored by the play
    msg = refused.result["msg"]
    assert "pfs[0] (pf enp2s0) would change PF enp2s0 (0000:02:00.0)" in msg, msg
    assert "a default route (default via 192.0.2.1 dev enp2s0)" in msg, msg
    assert "Nothing was changed" in msg, msg
    assert res.task("read sriov_numvfs after the refusal").result["stdout"].strip() == "0"

    allowed = res.task("the same with allow_management").result
    assert allowed["changed"] and allowed["pfs"][0]["numvfs_after"] == 2, allowed
    assert res.task("read sriov_numvfs at the end").result["stdout"].strip() == "2"
