"""VF lifecycle (RHEL guide 17.2 steps 3 and 4) in the emulated hypervisor: the sriov_vfs role,
the sriov_vfs and sriov_udev_rule modules.

test_role_lifecycle_and_reboot, in order (each step costs seconds under TCG, so the checks are
batched into two playbooks and one reboot):
  1. clean host, role in check mode: changed, and the host still has 0 VFs and no rule file;
     The role's one sriov_vfs call predicts the VF addresses it would create (sriov_vfs_planned_vfs)
     and the real run creates exactly those;
  2. apply (PF1: 4, PF2: max = 7): changed, rules and libvirt drop-ins written; apply again: not
     changed; check mode: not changed;
  3. PF1 from 4 to 2 (nobody uses a VF): changed, 2 VFs;
  4. reboot: both PFs come back with 2 and 7 VFs and their links up, from the udev rules alone;
     PF2 (drivers_autoprobe: false) with autoprobe 0 and none of its VFs bound to a driver;
  5. bad input (unknown PF, VF as PF, above totalvfs, negative, non-integer, quotes, newline,
     path outside the rules directories): each fails with a clear message, nothing changes;
  6. role with state=absent: no VFs, no rule files.
test_vf_in_use_refused: a VF of PF1 attached to the running guestVM; a different count fails
  within seconds naming guestVM, the count is unchanged and the host answers.

Both tests leave the lab as they found it (finalizers): guest off, no VFs, no rule files.
Steps 1-3 and 5-6 are YAML task files of the integration target sriov_vfs_role
(tests/integration/targets/sriov_vfs_role/tasks/), run with the values below as variables.
"""
import time

import pytest

pytestmark = pytest.mark.lab

VIRSH = "virsh -c qemu:///system"
PF1_DEV = "/sys/class/net/enp1s0/device"
PF2_DEV = "/sys/class/net/enp2s0/device"
RULE1 = "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"
RULE2 = "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:02:00.0.rules"
STATE = (f"cat {PF1_DEV}/sriov_numvfs {PF2_DEV}/sriov_numvfs; "
         "ls /etc/udev/rules.d | grep -c '^82-virt-sriov-numvfs-' || true")
CLEANUP = (f"{VIRSH} destroy guestVM >/dev/null 2>&1; "
           f"echo 0 > {PF1_DEV}/sriov_numvfs; echo 0 > {PF2_DEV}/sriov_numvfs; "
           f"echo 1 > {PF2_DEV}/sriov_drivers_autoprobe; "
           "rm -f /etc/udev/rules.d/82-virt-sriov-numvfs-*.rules; udevadm control --reload; "
           "rm -f /etc/systemd/system/{libvirtd,virtqemud,virtnetworkd}.service.d/50-virt-sriov*.conf; "
           "systemctl daemon-reload")

# The scenario itself is YAML: tests/integration/targets/sriov_vfs_role/tasks/{apply,after_reboot}.yml
TARGET = "sriov_vfs_role"
PFS = [{"pf": "enp1s0", "num_vfs": 4}, {"pci_address": "0000:02:00.0", "num_vfs": "max", "drivers_autoprobe": False}]
PFS_2 = [{"pf": "enp1s0", "num_vfs": 2}, {"pci_address": "0000:02:00.0", "num_vfs": "max", "drivers_autoprobe": False}]
DROPIN = "/etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf"

BAD = [
    ("unknown PF", "sriov_vfs", {"pf": "nope0", "num_vfs": 2}, "'nope0' is not an SR-IOV capable PF"),
    ("VF given as PF", "sriov_vfs", {"pf": "enp1s0v0", "num_vfs": 2}, "is a virtual function of PF 0000:01:00.0"),
    ("above totalvfs", "sriov_vfs", {"pf": "enp1s0", "num_vfs": 8}, "at most 7"),
    ("negative", "sriov_vfs", {"pf": "enp1s0", "num_vfs": -1}, "cannot be negative"),
    ("non-integer", "sriov_vfs", {"pf": "enp1s0", "num_vfs": "2.5"}, "Invalid num_vfs '2.5'"),
    ("quotes in PF name", "sriov_udev_rule", {"pf": 'enp1s0", RUN+="/bin/sh', "num_vfs": 2},
     "Invalid network interface name"),
    ("newline in PF name", "sriov_udev_rule", {"pf": "enp1s0\nx", "num_vfs": 2}, "Invalid network interface name"),
    ("path outside the rules directories", "sriov_udev_rule",
     {"pf": "enp1s0", "num_vfs": 2, "path": "/etc/passwd"}, "outside the udev rules directories"),
]
AFTER_REBOOT_VARS = {
    "bad_vfs": [{"label": b[0], "args": b[2]} for b in BAD if b[1] == "sriov_vfs"],
    "bad_rule": [{"label": b[0], "args": b[2]} for b in BAD if b[1] == "sriov_udev_rule"],
    "state_cmd": STATE, "rule1": RULE1, "rule2": RULE2,
    "absent_pfs": [{"pf": "enp1s0", "state": "absent"}, {"pci_address": "0000:02:00.0", "num_vfs": 0}],
}


def check_apply(out):
    steps = out["steps"]
    assert steps["check1"]["changed"] + steps["check1"]["rules_changed"] == [True] * 4, steps
    assert steps["check1"]["dropins_changed"] and steps["apply1"]["dropins_changed"], steps
    assert not steps["apply2"]["dropins_changed"], steps
    assert out["after_check"] == ["0", "0", "0"], out
    assert steps["check1"]["planned"]["enp1s0"] == ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    assert len(steps["check1"]["planned"]["enp2s0"]) == 7, steps
    assert steps["apply1"]["changed"] + steps["apply1"]["rules_changed"] == [True] * 4, steps
    assert steps["apply1"]["planned"] == steps["check1"]["planned"], steps
    for key in ("apply2", "check2"):
        assert steps[key]["changed"] + steps[key]["rules_changed"] == [False] * 4, (key, steps)
    assert steps["change"]["changed"] + steps["change"]["rules_changed"] == [True, False, True, False], steps
    assert out["after_change"][:3] == ["2", "7", "2"], out
    assert ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="0", '
            'ATTR{device/sriov_numvfs}="2"') in out["after_change"], out
    assert "After=systemd-udev-settle.service" in out["after_change"], out


@pytest.fixture
def clean_lab(lab):
    lab.ssh(CLEANUP, timeout=120)
    yield lab
    lab.ssh(CLEANUP, timeout=120)


def test_role_lifecycle_and_reboot(clean_lab):
    lab = clean_lab
    assert lab.ssh(STATE, check=True).stdout.split() == ["0", "0", "0"]
    res = lab.run_target(TARGET, "apply", extra_vars={"pfs": PFS, "pfs_2": PFS_2, "state_cmd": STATE,
                                                      "rule1": RULE1, "dropin": DROPIN})
    check_apply(res.task("Results").result["msg"])

    before = lab.ssh("md5sum %s %s" % (RULE1, RULE2), check=True).stdout
    lab.reboot()
    out = lab.ssh(STATE + f"; ls {PF1_DEV}/ | grep -c virtfn; ls {PF2_DEV}/ | grep -c virtfn; "
                  f"cat {PF2_DEV}/sriov_drivers_autoprobe; ls -d {PF2_DEV}/virtfn*/driver 2>/dev/null | wc -l; "
                  f"ls -d {PF1_DEV}/virtfn*/driver | wc -l; "
                  "cat /sys/class/net/enp1s0/flags /sys/class/net/enp2s0/flags", check=True)
    assert out.stdout.split()[:5] == ["2", "7", "2", "2", "7"], out.stdout
    # PF2's rule set sriov_drivers_autoprobe=0 before the count (one rule line, assigned in
    # order): its 7 VFs came back without a driver; PF1's (autoprobe untouched) have igbvf
    assert out.stdout.split()[5:8] == ["0", "0", "2"], out.stdout
    # the rules' link line (the role's default link_up) brought both PFs up at boot (IFF_UP)
    assert all(int(flags, 16) & 1 for flags in out.stdout.split()[8:]), out.stdout

    res = lab.run_target(TARGET, "after_reboot", extra_vars=AFTER_REBOOT_VARS)
    out = res.task("Results").result["msg"]
    bad = {r["item"]["label"]: r for r in out["bad"]}
    for label, _module, _args, needle in BAD:
        result = bad[label]
        assert result["failed"] and not result["changed"], (label, result)
        assert needle in result["msg"], (label, result["msg"])
    after_bad = out["after_bad"]
    assert after_bad.split()[:3] == ["2", "7", "2"], after_bad
    assert before.strip() in after_bad, (before, after_bad)
    absent = out["steps"]["absent"]
    assert absent["changed"] + absent["rules_changed"] == [True] * 4, absent
    assert out["after_absent"] == ["0", "0", "0"], out


IFACE = """<interface type='hostdev' managed='yes'>
  <source><address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/></source>
  <mac address='52:54:00:6d:90:02'/>
</interface>"""

PLAY_IN_USE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: different count while guestVM holds VF 0
      virt.sriov.sriov_vfs:
        pf: enp1s0
        num_vfs: 2
      ignore_errors: true
    - name: host answers
      ansible.builtin.command: cat /sys/class/net/enp1s0/device/sriov_numvfs
      changed_when: false
"""


def test_vf_in_use_refused(clean_lab):
    lab = clean_lab
    # libvirt sets the VF's MAC through the PF: the PF must be up ("the PF is not online")
    lab.ssh(f"ip link set dev enp1s0 up && echo 4 > {PF1_DEV}/sriov_numvfs && udevadm settle && cat > /root/e2e-vfs-if.xml <<'EOF'\n"
            f"{IFACE}\nEOF\n{VIRSH} start guestVM && {VIRSH} attach-device guestVM /root/e2e-vfs-if.xml --live",
            check=True, timeout=300)
    try:
        start = time.monotonic()
        res = lab.run_playbook(PLAY_IN_USE)
        elapsed = time.monotonic() - start
        task = res.task("different count while guestVM holds VF 0")
        assert task.status == "ignored", task.result
        msg = task.result["msg"]
        assert "guestVM" in msg and "0000:01:10.0" in msg and "vfio-pci" in msg, msg
        assert task.result["vfs_in_use"][0]["pci_address"] == "0000:01:10.0"
        assert res.task("host answers").result["stdout"] == "4"
        # two tasks under TCG with a nested guest running: well below a minute each; a write
        # under the guest would have blocked for good
        assert elapsed < 180, elapsed
    finally:
        lab.ssh(f"{VIRSH} detach-device guestVM /root/e2e-vfs-if.xml --live; {VIRSH} destroy guestVM; "
                "rm -f /root/e2e-vfs-if.xml", timeout=180)
