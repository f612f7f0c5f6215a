"""Role virt.sriov.iommu on a host that runs a guest, and the IOMMU kind of an AMD CPU with VT-d.

One instance ``<prefix>iommu-guests`` (``--no-iommu-cmdline --cpu-vendor AuthenticAMD``, fresh
disk): the CPU says AuthenticAMD while the platform is QEMU's intel-iommu (DMAR table), the
pairing of nested hypervisors in AMD clouds. ``intel_iommu=off`` goes into /etc/default/grub
and the guest reboots once, so the IOMMU is off by a kernel argument. Then guestVM (a nested
domain without an OS, not autostarted) is started, and:

1. iommu_info names Intel VT-d from the DMAR table despite the AMD CPU, with
   ``remediation_kind: kernel_args`` and ``intel_iommu=off`` as the blocking argument.
   ``enable`` with ``iommu_reboot`` and the default ``iommu_running_guests: refuse`` fails
   naming guestVM; nothing changed (no task changed, /etc/default/grub and grub.d as before,
   same boot, guestVM running).
2. ``iommu_running_guests: shutdown`` with a 10 s timeout: guestVM has no OS, so it never
   answers the ACPI shutdown request - the role fails after the timeout naming it, does not
   destroy it and does not reboot (same boot, guestVM still running). This is the only
   outcome of the graceful path the lab can show; a guest that does shut down is covered by
   the unit tests of libvirt_guests.
3. ``iommu_running_guests: destroy``: guestVM is destroyed after the timeout, the host reboots
   with the IOMMU on (Intel VT-d, DMAR, groups), and guestVM - not autostarted - runs again
   because the role started it (``iommu_guests_restarted``).
Two boots plus one reboot by the role.
"""
import os

import pytest

pytestmark = pytest.mark.lab

_PREFIX = os.environ.get("VIRT_SRIOV_LAB_VARIANT_PREFIX", "")
NAME = _PREFIX + "iommu-guests"
OPTIONS = ("--no-iommu-cmdline", "--cpu-vendor", "AuthenticAMD")

DISABLE_BY_ARGUMENT = r"""
set -eu
sed -i 's/^GRUB_CMDLINE_LINUX="\(.*\)"$/GRUB_CMDLINE_LINUX="\1 intel_iommu=off"/' /etc/default/grub
grep -q '^GRUB_CMDLINE_LINUX=".*intel_iommu=off"$' /etc/default/grub
update-grub >/dev/null 2>&1
grep -q 'intel_iommu=off' /boot/grub/grub.cfg
"""

STATE = ("cat /proc/sys/kernel/random/boot_id; md5sum /etc/default/grub | cut -d' ' -f1; "
         "ls -A /etc/default/grub.d | tr '\\n' ' '; echo; virsh -q domstate guestVM; "
         "virsh -q dominfo guestVM | sed -n 's/^Autostart: *//p'")

ROLE_PLAY = """
- name: IOMMU role with a running guest
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the IOMMU state
      virt.sriov.iommu_info:
      register: t_info

    - name: Enable with reboot allowed
      block:
        - name: Enable the IOMMU
          ansible.builtin.include_role:
            name: virt.sriov.iommu
          vars:
            iommu_mode: enable
            iommu_reboot: true
      rescue:
        - name: Record the failure
          ansible.builtin.set_fact:
            t_msg: "{{ ansible_failed_result.msg }}"

    - name: List the running guests
      virt.sriov.libvirt_guests:
      register: t_guests

    - name: Results
      ansible.builtin.debug:
        msg:
          info: "{{ t_info }}"
          msg: "{{ t_msg | default('') }}"
          running: "{{ t_guests.running | map(attribute='name') | list }}"
          stopped: "{{ iommu_guests_stopped | default(none) }}"
          restarted: "{{ iommu_guests_restarted | default(none) }}"
          enabled: "{{ iommu_enabled | default(none) }}"
"""


def results(res):
    return res.task("Results").result["msg"]


def changed_tasks(res):
    return [(t.task.split(" : ", 1)[-1], t.action) for t in res.tasks if t.changed]


def state(lab):
    out = lab.ssh(STATE, check=True).stdout.splitlines()
    return {"boot_id": out[0], "grub": out[1], "dropins": out[2].split(), "guestVM": out[3].strip(),
            "autostart": out[4].strip()}


def test_iommu_role_running_guest(lab_factory):
    lab = lab_factory(NAME, *OPTIONS, fresh=True)
    lab.ssh(DISABLE_BY_ARGUMENT, check=True)
    lab.lab_py("reboot", "--timeout", os.environ.get("VIRT_SRIOV_LAB_TIMEOUT", "900"))
    lab.ssh("virsh start guestVM", check=True)
    # keepalives: see test_iommu.py (the reboot waits on a dead ControlMaster otherwise); a
    # reboot under TCG on a loaded machine takes minutes: the role waits as long as lab.py does
    base = {"ansible_ssh_extra_args": "-o ServerAliveInterval=5 -o ServerAliveCountMax=3",
            "iommu_reboot_timeout": int(os.environ.get("VIRT_SRIOV_LAB_TIMEOUT", "900"))}
    before = state(lab)
    assert before["guestVM"] == "running" and before["autostart"] == "disable", before
    assert "99-virt-sriov.cfg" not in before["dropins"], before  # Debian's init-select.cfg may be there

    # 1. the IOMMU kind from the DMAR table, and refuse (the default)
    res = lab.run_playbook(ROLE_PLAY, extra_vars=base)
    out = results(res)
    info = out["info"]
    assert (info["cpu_vendor"], info["cpu_vendor_id"]) == ("amd", "AuthenticAMD"), info
    assert (info["iommu_kind"], info["firmware_table"], info["enabled"]) == ("intel", "DMAR", False), info
    assert info["remediation_kind"] == "kernel_args", info
    assert info["blocking_kernel_args"] == ["intel_iommu=off"], info
    assert info["required_kernel_args"] == ["intel_iommu=on"], info
    assert "Intel VT-d is disabled on the kernel command line by intel_iommu=off" in info["reason"], info
    assert "AMD-Vi" not in info["reason"] + info["remediation"], info
    assert f"{NAME} must reboot to enable the IOMMU but runs 1 guest(s): guestVM (qemu:///system)" in out["msg"], out
    assert "Nothing was changed" in out["msg"] and "iommu_running_guests=shutdown" in out["msg"], out
    assert changed_tasks(res) == [], res
    assert out["running"] == ["guestVM"], out
    assert state(lab) == before

    # 2. shutdown: guestVM never answers ACPI -> fails after the timeout, no destroy, no reboot
    res = lab.run_playbook(ROLE_PLAY, extra_vars=dict(base, iommu_running_guests="shutdown",
                                                      iommu_guest_shutdown_timeout=10))
    out = results(res)
    assert out["msg"].startswith(f"{NAME} was not rebooted: 1 guest(s) did not shut down within 10 s: "
                                 "guestVM (qemu:///system)"), out
    assert "nothing was destroyed" in out["msg"], out
    assert "intel_iommu=on iommu=pt and no longer intel_iommu=off" in out["msg"], out
    assert out["running"] == ["guestVM"], out
    after = state(lab)
    assert (after["boot_id"], after["guestVM"]) == (before["boot_id"], "running"), after
    assert after["dropins"] == sorted(before["dropins"] + ["99-virt-sriov.cfg"]), after  # args for the next boot
    changed = [t for t, _a in changed_tasks(res)]
    assert "Set the IOMMU kernel arguments for the next boot" in changed, res
    assert "Reboot to activate the kernel arguments" not in changed, res

    # 3. destroy: after the timeout guestVM is powered off, the host reboots, guestVM runs again
    res = lab.run_playbook(ROLE_PLAY, extra_vars=dict(base, iommu_running_guests="destroy",
                                                      iommu_guest_shutdown_timeout=10))
    out = results(res)
    assert out["msg"] == "", out
    shutdown = [t for t in res.tasks if t.task.endswith("Shut down the running guests gracefully")][-1].result
    assert [g["name"] for g in shutdown["destroyed"]] == ["guestVM"], shutdown
    assert (out["stopped"], out["restarted"], out["running"]) == (["guestVM"], ["guestVM"], ["guestVM"]), out
    assert out["enabled"] is True, out
    final = state(lab)
    assert final["boot_id"] != before["boot_id"], final
    assert (final["guestVM"], final["autostart"]) == ("running", "disable"), final
    info = lab.run_playbook(ROLE_PLAY.replace("iommu_reboot: true", "iommu_reboot: false"))
    info = results(info)["info"]
    assert (info["enabled"], info["iommu_kind"], info["firmware_table"]) == (True, "intel", "DMAR"), info
    assert info["iommu_groups"] > 0 and info["cmdline_args"] == {"intel_iommu": "on", "iommu": "pt"}, info
