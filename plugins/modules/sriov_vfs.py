#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_vfs
short_description: Set the number of SR-IOV virtual functions of a physical function
version_added: 1.0.0
author: Virt SR-IOV Maintainers (@virt-sriov)
description:
  - Sets C(sriov_numvfs) of one SR-IOV physical function (PF), step 3 of the RHEL Virtualization
    Deployment Guide, section 17.2, safely and idempotently.
  - The same count is a no-op. A different count is written as C(0) first and then the new
    count (the kernel refuses to change one non-zero count into another). The module then waits,
    bounded by O(timeout), for every VF and, with C(sriov_drivers_autoprobe) on, every VF's host
    network interface, and reads the count back. A driver that enables fewer VFs than asked
    makes the module fail.
  - Before any change that removes existing VFs, the module looks for VFs in use (bound to
    C(vfio-pci) or C(pci-stub), used by a libvirt domain in its live or persistent definition,
    directly or through a hostdev network, or part of an active hostdev network) and refuses,
    naming each VF and its user, unless O(force=true).
  - The guard fails closed. When the libvirt scan cannot complete (libvirt-python missing,
    libvirtd unreachable, any libvirt error other than a domain or network that disappeared
    during the scan), a change that removes or renumbers VFs is refused, naming the reason,
    unless O(force=true). Creating VFs on a PF that has none is not affected.
  - Each write runs in a separate process with a deadline of its own (O(timeout)). A write that
    does not return in time is reported as stuck, naming which write stalled (C(0) or the new
    count) and what the PF's C(sriov_numvfs) reads now; only a stuck write of C(0) with VFs bound
    to C(vfio-pci) is blamed on a guest. A helper process that does not even start in time is
    killed before the module reports that nothing was written.
  - Kernel errors are explained, for example C(ERANGE) (above C(sriov_totalvfs)), C(ENOENT) (no
    driver or no SR-IOV support), C(ENOMEM) (suggests C(pci=realloc)).
  - To make the count survive a reboot, use M(virt.sriov.sriov_udev_rule) or the
    C(virt.sriov.sriov_vfs) role.
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
attributes:
  check_mode:
    support: full
    details:
      - Predicts the change, including the refusal when VFs are in use. RV(pf) then describes
        the current state and RV(numvfs_after) the predicted count.
  diff_mode:
    support: full
    details:
      - Shows C(numvfs) (and C(drivers_autoprobe), the PF link when they change) before and after.
  idempotent:
    support: full
options:
  pf:
    description:
      - Network interface name of the PF, for example V(enp1s0).
      - Exactly one of O(pf) and O(pci_address) is required.
    type: str
  pci_address:
    description:
      - PCI address of the PF, as V(0000:01:00.0), V(01:00.0) or V(pci_0000_01_00_0).
      - Exactly one of O(pf) and O(pci_address) is required.
    type: str
  num_vfs:
    description:
      - Number of VFs wanted, an integer from V(0) to the PF's C(sriov_totalvfs), or V(max) for
        C(sriov_totalvfs).
      - Required with O(state=present). Ignored (and must be omitted or V(0)) with
        O(state=absent).
    type: raw
  state:
    description:
      - V(present) sets O(num_vfs) VFs; V(absent) removes every VF (0 VFs).
    type: str
    choices: [present, absent]
    default: present
  drivers_autoprobe:
    description:
      - Set C(sriov_drivers_autoprobe) of the PF, that is whether new VFs are bound to their
        host driver (and get a host network interface). It affects VFs created afterwards only;
        changing it alone does not recreate existing VFs.
      - Omitted means leave it as it is.
    type: bool
  link_up:
    description:
      - Bring the PF's link administratively up when VFs are wanted. Several drivers (for
        example bnxt, ixgbevf VFs) need the PF up for their VFs to work, and libvirt refuses to
        start a guest with a VF of a PF that is down.
      - This changes the running system only. Keep the PF up across reboots with
        M(virt.sriov.sriov_udev_rule) and its O(virt.sriov.sriov_udev_rule#module:link_up) option
        (the C(virt.sriov.sriov_vfs) role does both) or with the host's own network configuration;
        otherwise guests that autostart with a VF fail at boot with libvirt's C(the PF is not
        online).
    type: bool
    default: true
  force:
    description:
      - Change the count even when VFs that it removes are in use, or when the libvirt scan for
        their users could not complete (then only VFs bound to C(vfio-pci) or C(pci-stub) are
        looked for). A removal under a running guest can block in the kernel until the guest
        releases the device; the module then reports a stuck write after O(timeout).
    type: bool
    default: false
  timeout:
    description:
      - Seconds allowed for each step of a change, each with a deadline of its own - the write of
        C(0), the write of the new count, and the wait for udev and the VFs.
    type: int
    default: 60
seealso:
  - module: virt.sriov.sriov_udev_rule
  - name: RHEL Virtualization Deployment Guide, 17.2 PCI Device Assignment with SR-IOV Devices
    description: The procedure these modules automate.
    link: https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/7/html/virtualization_deployment_and_administration_guide/
notes:
  - VFs are listed through the PF's C(virtfnN) links; a VF's host interface exists only while a
    host network driver is bound to it.
  - Without libvirt-python, or when libvirt cannot be reached, VF users in libvirt cannot be
    seen; a change that removes VFs is then refused unless O(force=true).
"""

EXAMPLES = r"""
- name: Create 4 VFs on enp1s0
  virt.sriov.sriov_vfs:
    pf: enp1s0
    num_vfs: 4

- name: Create as many VFs as the device supports, without binding host drivers to them
  virt.sriov.sriov_vfs:
    pci_address: "0000:02:00.0"
    num_vfs: max
    drivers_autoprobe: false

- name: Remove every VF of enp1s0 (refused while a guest uses one)
  virt.sriov.sriov_vfs:
    pf: enp1s0
    state: absent
"""

RETURN = r"""
pf:
  description:
    - The PF after the change (in check mode, as it is now), in the same shape as the PFs of
      M(virt.sriov.sriov_info).
  returned: success
  type: dict
  contains:
    pci_address:
      description: PCI address of the PF.
      type: str
      sample: "0000:01:00.0"
    netdev:
      description: Network interface of the PF.
      type: str
      sample: enp1s0
    driver:
      description: Driver bound to the PF.
      type: str
      sample: igb
    totalvfs:
      description: Maximum number of VFs (C(sriov_totalvfs)).
      type: int
      sample: 7
    numvfs:
      description: Number of VFs now (C(sriov_numvfs)).
      type: int
      sample: 4
    drivers_autoprobe:
      description: Value of C(sriov_drivers_autoprobe).
      type: bool
      sample: true
    vfs:
      description: The VFs, same as RV(vfs).
      type: list
      elements: dict
  sample:
    pci_address: "0000:01:00.0"
    netdev: enp1s0
    driver: igb
    totalvfs: 7
    numvfs: 4
    drivers_autoprobe: true
    vfs: []
vfs:
  description:
    - The PF's VFs (in check mode, as they are now), with the keys of the VFs of
      M(virt.sriov.sriov_info) (C(index), C(pci_address), C(nodedev_name), C(driver), C(netdev),
      C(iommu_group), and the settings and users where available).
  returned: success
  type: list
  elements: dict
  sample:
    - index: 0
      pci_address: "0000:01:10.0"
      nodedev_name: pci_0000_01_10_0
      driver: igbvf
      netdev: enp1s0v0
      iommu_group: 17
numvfs_before:
  description: Number of VFs before the run.
  returned: success
  type: int
  sample: 0
numvfs_after:
  description: Number of VFs after the run (in check mode, the predicted number).
  returned: success
  type: int
  sample: 4
actions:
  description: The steps the run performed (in check mode, would perform), in order.
  returned: success
  type: list
  elements: str
  sample: ["bring PF link enp1s0 up", "write 4 to sriov_numvfs"]
vfs_in_use:
  description:
    - VFs in use that the change removed because O(force=true); empty otherwise. On a refusal,
      the failure carries the same list.
  returned: success
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._libvirt import LIBVIRT_COMMON_ARGSPEC
from ansible_collections.virt.sriov.plugins.module_utils._numvfs import (
    SubprocessWriter,
    gather_usage,
    manage_vfs,
)


def main():
    argument_spec = dict(
        pf=dict(type="str"),
        pci_address=dict(type="str"),
        num_vfs=dict(type="raw"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        drivers_autoprobe=dict(type="bool"),
        link_up=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
        timeout=dict(type="int", default=60),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("pf", "pci_address")],
        required_one_of=[("pf", "pci_address")],
        required_if=[("state", "present", ("num_vfs",))],
        supports_check_mode=True,
    )
    run_module(module, _converge, lock_name="sriov_vfs")


def _converge(module):
    uri = module.params["uri"]
    return manage_vfs(
        Host(run_command=module.run_command),
        module.params,
        check_mode=module.check_mode,
        writer=SubprocessWriter(),
        usage_loader=lambda h: gather_usage(h, uri),
    )


if __name__ == "__main__":
    main()
