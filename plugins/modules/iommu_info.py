#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: iommu_info
short_description: Report whether the IOMMU of a hypervisor is enabled and, if not, how to enable it
version_added: 1.0.0
description:
  - Reports the CPU vendor and virtualization flag, the kind of IOMMU, the ACPI table through which the firmware
    exposes an IOMMU (C(DMAR) for Intel VT-d, C(IVRS) for AMD-Vi), the IOMMU units and groups the
    kernel created, whether interrupt remapping is visibly in use, and the IOMMU-related arguments
    of the running kernel's command line.
  - Decides RV(enabled) from sysfs alone, not from the kernel log - the IOMMU is enabled when
    C(/sys/class/iommu) has at least one unit and C(/sys/kernel/iommu_groups) at least one group.
  - When it is not enabled, RV(reason) says why and RV(remediation) says exactly what to do,
    which is either a firmware setting (no ACPI table) or a kernel argument (Intel needs
    C(intel_iommu=on); AMD-Vi is on by default and is only ever switched off by an argument).
  - The firmware table decides which IOMMU the host has (RV(iommu_kind)) and so which kernel
    arguments matter - C(DMAR) means Intel VT-d and C(intel_iommu), C(IVRS) means AMD-Vi and
    C(amd_iommu). The CPU vendor decides only when the firmware exposes no table, so a nested
    hypervisor on an AMD CPU with an emulated Intel IOMMU is handled as Intel VT-d.
  - Never changes the host. Use the C(virt.sriov.iommu) role to apply a kernel-argument remediation.
author:
  - Virt SR-IOV Maintainers (@virt-sriov)
options: {}
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.INFO_MODULE
  - virt.sriov.attributes.PLATFORM
notes:
  - The kernel command line reported is the one the running kernel booted with (C(/proc/cmdline)); a
    kernel argument added to the boot loader takes effect only after a reboot.
seealso:
  - module: virt.sriov.sriov_info
  - name: Kernel parameters documentation
    description: intel_iommu, amd_iommu and iommu arguments.
    link: https://docs.kernel.org/admin-guide/kernel-parameters.html
"""

EXAMPLES = r"""
- name: Read the IOMMU state
  virt.sriov.iommu_info:
  register: iommu

- name: Stop with the exact remediation when the IOMMU is off
  ansible.builtin.assert:
    that: iommu.enabled
    fail_msg: "{{ iommu.reason }} {{ iommu.remediation }}"
"""

RETURN = r"""
cpu_vendor:
  description: CPU vendor, from C(vendor_id) in C(/proc/cpuinfo).
  returned: always
  type: str
  choices: [intel, amd, unknown]
  sample: intel
cpu_vendor_id:
  description: The raw C(vendor_id) of the first CPU, or V(null) where the architecture has none.
  returned: always
  type: str
  sample: GenuineIntel
iommu_kind:
  description:
    - The IOMMU the platform has - V(intel) (Intel VT-d) when the firmware exposes a C(DMAR) table,
      V(amd) (AMD-Vi) for an C(IVRS) table.
    - Without a table (or with both) it follows RV(cpu_vendor); V(unknown) when neither tells.
  returned: always
  type: str
  choices: [intel, amd, unknown]
  sample: intel
  version_added: 1.1.0
virtualization_flag:
  description: CPU virtualization flag in C(/proc/cpuinfo) (C(vmx) for Intel VT-x, C(svm) for AMD-V), or V(null).
  returned: always
  type: str
  sample: vmx
firmware_table:
  description: ACPI table through which the firmware exposes an IOMMU, or V(null) when there is none.
  returned: always
  type: str
  choices: [DMAR, IVRS]
  sample: DMAR
iommu_units:
  description: Entries of C(/sys/class/iommu) (C(dmar0) on Intel, C(ivhd0) on AMD).
  returned: always
  type: list
  elements: str
  sample: [dmar0]
iommu_groups:
  description: Number of IOMMU groups in C(/sys/kernel/iommu_groups).
  returned: always
  type: int
  sample: 24
interrupt_remapping:
  description:
    - Whether interrupts are remapped by the IOMMU, as C(/proc/interrupts) shows it (C(IR-) interrupt chips).
    - V(null) when it cannot be told.
  returned: always
  type: bool
  sample: true
cmdline:
  description: The running kernel's command line (C(/proc/cmdline)).
  returned: always
  type: str
  sample: BOOT_IMAGE=/boot/vmlinuz root=UUID=... ro intel_iommu=on iommu=pt
cmdline_args:
  description:
    - IOMMU-related arguments on the running kernel's command line (C(intel_iommu), C(amd_iommu*), C(iommu),
      C(iommu.*), C(intremap), C(ivrs_*), C(vfio_iommu_type1.*)), name to value; V(null) value for a bare flag.
  returned: always
  type: dict
  sample: {intel_iommu: "on", iommu: pt}
required_kernel_args:
  description: Kernel arguments this IOMMU (RV(iommu_kind)) needs (V([]) for AMD-Vi, which is on by default).
  returned: always
  type: list
  elements: str
  sample: [intel_iommu=on]
blocking_kernel_args:
  description: Arguments on the command line that switch the IOMMU off (for example C(intel_iommu=off)).
  returned: always
  type: list
  elements: str
  sample: []
enabled:
  description: Whether the IOMMU is enabled (at least one IOMMU unit and one IOMMU group).
  returned: always
  type: bool
  sample: true
reason:
  description: Why the IOMMU is not enabled; V(null) when it is.
  returned: always
  type: str
  sample: "The firmware exposes the DMAR table but the kernel did not enable Intel VT-d: the kernel argument intel_iommu=on is not on the command line."
remediation:
  description: What to do to enable it; V(null) when it is enabled.
  returned: always
  type: str
  sample: "Add the kernel argument intel_iommu=on (optionally also iommu=pt) and reboot."
remediation_kind:
  description:
    - V(firmware) when a firmware (BIOS/UEFI) setting must change, V(kernel_args) when kernel arguments must change.
    - V(null) when the IOMMU is enabled or when the cause cannot be told from the host.
  returned: always
  type: str
  choices: [firmware, kernel_args]
  sample: kernel_args
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._iommu import gather_iommu_facts
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    run_module(module, lambda m: dict(gather_iommu_facts(Host(run_command=m.run_command)), changed=False))


if __name__ == "__main__":
    main()
