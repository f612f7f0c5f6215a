"""Role virt.sriov.iommu and module kernel_cmdline in the emulated hypervisor.

test_iommu_role_enable: its own instance ``<prefix>iommu`` (``--no-iommu-cmdline``, fresh disk). The
Debian 6.1 kernel of the lab turns VT-d on by default (CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y),
so a lab booted merely without ``intel_iommu=on`` has a working IOMMU. To get a kernel whose
IOMMU is off because of its command line, the test puts ``intel_iommu=off`` into
/etc/default/grub and reboots once. Then ONE playbook: ``check`` fails naming the kernel
argument; ``enable`` without ``iommu_reboot`` fails with "Reboot required" after writing the
drop-in and removing ``intel_iommu=off`` from /etc/default/grub; ``enable`` with
``iommu_reboot`` reboots and verifies; kernel_cmdline in check mode and for real changes
nothing; ``enable`` again changes nothing; ``check`` passes. Three boots in all.

test_iommu_role_firmware: the ``--iommu none`` variant ``<prefix>lab-noiommu``, shared by name and
options with test_inventory.py (lab_factory reuses it). It changes nothing on that instance.

``<prefix>`` is ``VIRT_SRIOV_LAB_VARIANT_PREFIX`` (empty by default), as in test_iommu_guests.py.

No AMD test: the ``--iommu amd`` lab does not reach SSH under TCG (amd-iommu loses the guest's
IO-APIC interrupts, tests/lab/README.md "Failure modes"; seen here too: 30 s per console line,
no SSH after 900 s). The AMD decision is covered by iommu_info's unit tests only.
"""
import os

import pytest

pytestmark = pytest.mark.lab

IOMMU_ARGS = ["intel_iommu=on", "iommu=pt"]
DROPIN = "/etc/default/grub.d/99-virt-sriov.cfg"

_PREFIX = os.environ.get("VIRT_SRIOV_LAB_VARIANT_PREFIX", "")
ENABLE = (_PREFIX + "iommu", "--no-iommu-cmdline")
# Same names and options as test_inventory.py, so that one pytest run boots each variant once.
NOIOMMU = (_PREFIX + "lab-noiommu", "--iommu", "none")

DISABLE_BY_ARGUMENT = r"""
set -eu
sed -i 's/^GRUB_CMDLINE_LINUX="\(.*\)"$/GRUB_CMDLINE_LINUX="\1 intel_iommu=off"/' /etc/default/grub
grep -q '^GRUB_CMDLINE_LINUX=".*intel_iommu=off"$' /etc/default/grub
update-grub >/dev/null 2>&1
grep -q 'intel_iommu=off' /boot/grub/grub.cfg
"""

ENABLE_PLAY = """
- name: IOMMU off by a kernel argument - check, enable, reboot, idempotence
  hosts: all
  gather_facts: false
  tasks:
    - name: Role check on a host whose IOMMU is off
      block:
        - name: Check the IOMMU (fails)
          ansible.builtin.include_role:
            name: virt.sriov.iommu
      rescue:
        - name: Record the failure of check
          ansible.builtin.set_fact:
            t_check_msg: "{{ ansible_failed_result.msg }}"

    - name: Role enable without reboot
      block:
        - name: Enable without reboot (fails)
          ansible.builtin.include_role:
            name: virt.sriov.iommu
          vars:
            iommu_mode: enable
      rescue:
        - name: Record the failure of enable without reboot
          ansible.builtin.set_fact:
            t_noreboot_msg: "{{ ansible_failed_result.msg }}"

    - name: Enable with reboot
      ansible.builtin.include_role:
        name: virt.sriov.iommu
      vars:
        iommu_mode: enable
        iommu_reboot: true

    - name: Read the IOMMU state
      virt.sriov.iommu_info:
      register: t_info

    - name: kernel_cmdline check mode
      virt.sriov.kernel_cmdline:
        present: [intel_iommu=on, iommu=pt]
      check_mode: true
      register: t_kargs_check

    - name: kernel_cmdline
      virt.sriov.kernel_cmdline:
        present: [intel_iommu=on, iommu=pt]
      register: t_kargs

    - name: Enable again
      ansible.builtin.include_role:
        name: virt.sriov.iommu
      vars:
        iommu_mode: enable
        iommu_reboot: true

    - name: Check again
      ansible.builtin.include_role:
        name: virt.sriov.iommu

    - name: Read the GRUB files
      ansible.builtin.slurp:
        src: "{{ item }}"
      loop: [/etc/default/grub, /etc/default/grub.d/99-virt-sriov.cfg]
      register: t_files

    - name: Results
      ansible.builtin.debug:
        msg:
          check_msg: "{{ t_check_msg | default('') }}"
          noreboot_msg: "{{ t_noreboot_msg | default('') }}"
          info: "{{ t_info }}"
          kargs_check: "{{ t_kargs_check }}"
          kargs: "{{ t_kargs }}"
          files: "{{ t_files.results | map(attribute='content') | map('b64decode') | list }}"
          facts: "{{ {'enabled': iommu_enabled, 'reboot_required': iommu_reboot_required, 'pending': iommu_pending_args} }}"
"""

VARIANT_PLAY = """
- name: IOMMU role on a lab variant
  hosts: all
  gather_facts: false
  tasks:
    - name: Role check
      block:
        - name: Check the IOMMU
          ansible.builtin.include_role:
            name: virt.sriov.iommu
      rescue:
        - name: Record the failure of check
          ansible.builtin.set_fact:
            t_check_msg: "{{ ansible_failed_result.msg }}"

    - name: Role enable with reboot allowed
      block:
        - name: Enable the IOMMU
          ansible.builtin.include_role:
            name: virt.sriov.iommu
          vars:
            iommu_mode: enable
            iommu_reboot: true
      rescue:
        - name: Record the failure of enable
          ansible.builtin.set_fact:
            t_enable_msg: "{{ ansible_failed_result.msg }}"

    - name: Results
      ansible.builtin.debug:
        msg:
          check_msg: "{{ t_check_msg | default('') }}"
          enable_msg: "{{ t_enable_msg | default('') }}"
          facts: "{{ {'enabled': iommu_enabled | default(none), 'reboot_required': iommu_reboot_required | default(none)} }}"
"""


def results(res):
    return res.task("Results").result["msg"]


def short(name):
    """Task name without the role prefix the callback records ("virt.sriov.iommu : ...")."""
    return name.split(" : ", 1)[-1]


def changed_tasks(res):
    return [(short(t.task), t.action) for t in res.tasks if t.changed]


def test_iommu_role_enable(lab_factory):
    lab = lab_factory(*ENABLE, fresh=True)
    lab.ssh(DISABLE_BY_ARGUMENT, check=True)
    lab.reboot()
    # The lab forwards SSH through QEMU's user network, which keeps the host side of a TCP
    # connection open across a guest reboot: without keepalives ansible.builtin.reboot waits on
    # the dead ControlMaster for ever (seen: "Timed out waiting for last boot time check").
    keepalive = {"ansible_ssh_extra_args": "-o ServerAliveInterval=5 -o ServerAliveCountMax=3"}
    check_enable_play(lab.run_playbook(ENABLE_PLAY, extra_vars=keepalive, diff=True), ENABLE[0])


def check_enable_play(res, host):
    out = results(res)

    # check: fails, names the kernel argument to add and the one that disables the IOMMU
    assert f"The IOMMU of {host} is not enabled" in out["check_msg"], out
    assert "intel_iommu=off" in out["check_msg"] and "intel_iommu=on" in out["check_msg"], out
    assert "Remediation (kernel_args)" in out["check_msg"], out

    # enable without reboot: arguments written, host stopped with a clear message
    assert out["noreboot_msg"].startswith(f"Reboot required on {host}: the IOMMU is not enabled"), out
    assert "intel_iommu=on iommu=pt and no longer intel_iommu=off" in out["noreboot_msg"], out
    assert "iommu_reboot=true" in out["noreboot_msg"], out

    # exactly two changes in the whole play: the kernel arguments once, the reboot once
    assert changed_tasks(res) == [("Set the IOMMU kernel arguments for the next boot", "virt.sriov.kernel_cmdline"),
                                  ("Reboot to activate the kernel arguments", "ansible.builtin.reboot")], res

    info = out["info"]
    assert info["enabled"] is True and info["iommu_groups"] > 0, info
    assert info["iommu_units"] == ["dmar0"] and info["firmware_table"] == "DMAR", info
    assert info["cmdline_args"] == {"intel_iommu": "on", "iommu": "pt"}, info

    for key in ("kargs_check", "kargs"):
        kargs = out[key]
        assert kargs["changed"] is False and kargs["reboot_required"] is False, kargs
        assert kargs["backend"] == "grub_dropin", kargs
        assert kargs["args_after"][-2:] == IOMMU_ARGS and "intel_iommu=off" not in kargs["args_after"], kargs

    main, dropin = out["files"]
    assert 'GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 net.ifnames=1"\n' in main, main
    assert dropin.endswith('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n'), dropin
    assert out["facts"] == {"enabled": True, "reboot_required": False, "pending": []}, out
    assert "+GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt\"" in res.stdout  # --diff


def test_iommu_role_firmware(lab_factory):
    lab = lab_factory(*NOIOMMU)
    res = lab.run_playbook(VARIANT_PLAY)
    out = results(res)
    assert "Remediation (firmware): Enable Intel VT-d" in out["check_msg"], out
    assert "no ACPI DMAR table" in out["check_msg"], out
    assert "kernel arguments cannot enable it; nothing was changed" in out["enable_msg"], out
    assert "Remediation (firmware)" in out["enable_msg"], out
    assert changed_tasks(res) == [], res
