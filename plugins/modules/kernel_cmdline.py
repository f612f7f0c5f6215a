#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kernel_cmdline
short_description: Manage persistent kernel command line arguments
version_added: 1.0.0
author: Virt SR-IOV Maintainers (@virt-sriov)
description:
  - Makes kernel arguments such as C(intel_iommu=on) and C(iommu=pt) present in, or absent from,
    the kernel command line of the next boot, and tells whether a reboot is needed for the running
    kernel to have them.
  - Three back ends, chosen from what the host has unless O(backend) says otherwise. C(rpm_ostree)
    when C(/run/ostree-booted) exists (C(rpm-ostree kargs)); C(grubby) when C(grubby) is installed
    (RHEL, CentOS, Fedora; every boot entry is changed with C(--update-kernel=ALL)); C(grub_dropin)
    when C(/etc/default/grub) and C(update-grub) or C(grub-mkconfig) exist (Debian, Ubuntu).
  - The C(grub_dropin) back end owns one file, C(/etc/default/grub.d/99-virt-sriov.cfg), which
    appends its arguments to C(GRUB_CMDLINE_LINUX) (drop-ins are read after C(/etc/default/grub)).
    It computes the resulting arguments from C(/etc/default/grub) and every
    C(/etc/default/grub.d/*.cfg) with a conservative reader of the C(GRUB_CMDLINE_LINUX) and
    C(GRUB_CMDLINE_LINUX_DEFAULT) assignments (no shell runs; an assignment it cannot read is an
    error naming the file and line). An argument to remove (from O(absent), or another value of a
    name in O(present)) that is set in C(/etc/default/grub) or another drop-in is removed from the
    value of the line that sets it, token by token; nothing else in that file changes. It runs
    C(update-grub) (or C(grub-mkconfig -o /boot/grub/grub.cfg)) only when it changed a file or
    C(/boot/grub/grub.cfg) does not carry the requested arguments in its first C(linux) line.
  - A name in O(present) replaces other values of the same name (C(intel_iommu=on) replaces
    C(intel_iommu=off)); list a name several times to keep several values.
  - The module never reboots. RV(reboot_required) compares the requested arguments with
    C(/proc/cmdline).
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the persistent arguments before and after and, for the C(grub_dropin) back end, every file it changes.
  idempotent:
    support: full
  platform:
    support: full
    platforms: posix
options:
  present:
    description:
      - Kernel arguments that must be on the command line of the next boot, as C(name) or
        C(name=value).
      - A name is made of letters, digits, C(_), C(.) and C(-); a value must not contain
        whitespace, quotes, C($), backtick, C(;) or backslash.
      - Other values of the same name are removed.
    type: list
    elements: str
    default: []
  absent:
    description:
      - Kernel arguments that must not be on the command line of the next boot.
      - A bare C(name) removes the argument whatever its value; C(name=value) removes only that
        exact argument.
      - A name cannot be both in O(present) and in O(absent).
    type: list
    elements: str
    default: []
  backend:
    description:
      - How the persistent arguments are stored.
      - V(auto) chooses V(rpm_ostree) on ostree hosts, else V(grubby) when installed, else
        V(grub_dropin) when C(/etc/default/grub) and C(update-grub) or C(grub-mkconfig) exist.
    type: str
    choices: [auto, grubby, grub_dropin, rpm_ostree]
    default: auto
notes:
  - At least one of O(present) and O(absent) must be non-empty.
  - On C(grubby) hosts the returned RV(args_before) and RV(args_after) are those of the default
    boot entry; the module changes every entry and reports C(changed) when any entry needed it.
  - For C(rpm_ostree) the change applies to a new deployment that becomes active at the next boot.
seealso:
  - module: virt.sriov.iommu_info
"""

EXAMPLES = r"""
- name: Enable the Intel IOMMU in passthrough mode at the next boot
  virt.sriov.kernel_cmdline:
    present:
      - intel_iommu=on
      - iommu=pt
  register: kargs

- name: Reboot when the running kernel lacks them
  ansible.builtin.reboot:
  when: kargs.reboot_required

- name: Remove passthrough mode, whatever its value, with an explicit back end
  virt.sriov.kernel_cmdline:
    absent:
      - iommu
    backend: grub_dropin
"""

RETURN = r"""
backend:
  description: The back end used.
  returned: success
  type: str
  sample: grub_dropin
args_before:
  description: Persistent kernel arguments of the next boot before the change (default boot entry for C(grubby)).
  returned: success
  type: list
  elements: str
  sample: [console=ttyS0,115200n8, net.ifnames=1]
args_after:
  description:
    - Persistent kernel arguments of the next boot after the change, as read back from the back end.
    - In check mode, the prediction.
  returned: success
  type: list
  elements: str
  sample: [console=ttyS0,115200n8, net.ifnames=1, intel_iommu=on, iommu=pt]
added:
  description: Arguments in RV(args_after) that were not in RV(args_before).
  returned: success
  type: list
  elements: str
  sample: [intel_iommu=on, iommu=pt]
removed:
  description: Arguments in RV(args_before) that are not in RV(args_after).
  returned: success
  type: list
  elements: str
  sample: []
running_args:
  description: Arguments of the running kernel (C(/proc/cmdline)).
  returned: success
  type: list
  elements: str
  sample: [BOOT_IMAGE=/boot/vmlinuz-6.1.0-40-amd64, root=UUID=0d4f..., ro, console=ttyS0,115200n8]
reboot_required:
  description:
    - True when the running kernel does not have the requested state yet (an argument of O(present)
      missing from C(/proc/cmdline), see RV(pending_args), or one to remove found there, see
      RV(pending_removals)), so a reboot is needed.
    - Also true on a run that changed nothing, as long as the host has not been rebooted.
  returned: success
  type: bool
  sample: true
pending_args:
  description: Arguments of O(present) that the running kernel does not have yet.
  returned: success
  type: list
  elements: str
  sample: [intel_iommu=on, iommu=pt]
pending_removals:
  description:
    - Arguments of the running kernel that the requested state removes (matches of O(absent), and other
      values of names in O(present)); they are gone after the next boot.
  returned: success
  type: list
  elements: str
  sample: [intel_iommu=off]
commands:
  description: The commands the run executed (in check mode, would execute), as argument lists.
  returned: success
  type: list
  elements: list
  sample: [[/usr/sbin/update-grub]]
dropin_path:
  description: The drop-in file the C(grub_dropin) back end owns.
  returned: when O(backend) is or resolves to V(grub_dropin)
  type: str
  sample: /etc/default/grub.d/99-virt-sriov.cfg
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._kernel_args import manage_kernel_args


def main():
    module = AnsibleModule(
        argument_spec=dict(
            present=dict(type="list", elements="str", default=[]),
            absent=dict(type="list", elements="str", default=[]),
            backend=dict(type="str", default="auto", choices=["auto", "grubby", "grub_dropin", "rpm_ostree"]),
        ),
        supports_check_mode=True,
    )
    run_module(module, _converge, lock_name="kernel_cmdline")


def _converge(module):
    return manage_kernel_args(
        Host(run_command=module.run_command),
        present=module.params["present"],
        absent=module.params["absent"],
        backend=module.params["backend"],
        check_mode=module.check_mode,
        want_diff=module._diff,
    )


if __name__ == "__main__":
    main()
