#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_udev_rule
short_description: Persist the number of SR-IOV virtual functions of a PF with a udev rule
version_added: 1.0.0
author: Virt SR-IOV Maintainers (@virt-sriov)
description:
  - Writes one udev rule file per physical function (PF) that sets C(sriov_numvfs) when the PF's
    network interface appears at boot, step 4 of the RHEL Virtualization Deployment Guide,
    section 17.2.
  - "The default file is C(/etc/udev/rules.d/82-virt-sriov-numvfs-<PF PCI address>.rules), for
    example C(/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules)."
  - "The rule is rendered from validated values only, for example
    C(ACTION==\"add\", SUBSYSTEM==\"net\", KERNELS==\"0000:01:00.0\", ATTR{device/sriov_numvfs}==\"0\",
    ATTR{device/sriov_numvfs}=\"4\"). The C(==\"0\") guard writes the count only while the PF has
    no VFs, so that a re-triggered event never fails with C(EBUSY)."
  - The file is written atomically with mode C(0644) and C(udevadm control --reload) runs only
    when the file changed. The rule text is validated, and checked with C(udevadm verify) on
    hosts whose systemd has it (254 and later).
  - The module warns when something else also sets this PF's VF count, such as a NetworkManager
    connection with C(sriov.total-vfs), a systemd C(.link) file with C(SR-IOVVirtualFunctions=),
    the C(max_vfs) module parameter or another udev rule.
  - With O(link_up=true) the file holds a second line that brings the PF's link up on the same
    event, C(RUN+=\"/usr/sbin/ip link set dev $name up\") (C($name) is the interface name udev
    substitutes; the path of C(ip) is the one found on the host). libvirt sets a VF's MAC address
    and VLAN through the PF and refuses while the PF is down, so guests that autostart with a VF
    need this (or the host's network configuration) to start after a reboot.
  - The rule acts at the next boot (or PF hot plug); use M(virt.sriov.sriov_vfs) to change the
    count now.
extends_documentation_fragment:
  - virt.sriov._pf_options
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Shows the rule file before and after.
  idempotent:
    support: full
options:
  num_vfs:
    description:
      - Number of VFs the rule creates at boot, from V(1) to the PF's C(sriov_totalvfs), or
        V(max) for C(sriov_totalvfs) (resolved to a number when the rule is written).
      - Required with O(state=present).
    type: raw
  match:
    description:
      - How the rule recognises the PF.
      - V(pci_address) matches C(KERNELS==\"<PF PCI address>\"), this PF only.
      - V(mac) matches the PF's current MAC address, C(ATTR{address}).
      - V(driver) is the guide's form C(ENV{ID_NET_DRIVER}==\"<driver>\"); it applies to every
        port driven by that driver on the host (the module warns).
    type: str
    choices: [pci_address, mac, driver]
    default: pci_address
  link_up:
    description:
      - Also bring the PF's link administratively up when its interface appears at boot, as
        M(virt.sriov.sriov_vfs) does now with its O(virt.sriov.sriov_vfs#module:link_up) option.
      - Use it when nothing else brings the PF up at boot (a PF that carries no host traffic is
        usually left down by systemd-networkd, ifupdown and NetworkManager alike). Harmless when
        the host's network configuration brings it up too. It never brings a PF down.
      - With O(match=driver) it brings up every port of that driver (the module warns).
    type: bool
    default: false
  drivers_autoprobe:
    description:
      - Also set C(sriov_drivers_autoprobe) of the PF in the rule, before the count (udev assigns
        the attributes of one rule line in order), so that the VFs created at boot get their
        host driver (V(true)) or stay without one (V(false)), as
        O(virt.sriov.sriov_vfs#module:drivers_autoprobe) sets it now.
      - Omitted means the rule does not touch it (the kernel's default is V(true)).
    type: bool
  path:
    description:
      - Rule file to manage instead of the default, an absolute path of a C(.rules) file directly
        in C(/etc/udev/rules.d) or C(/run/udev/rules.d).
      - An existing file there is replaced or removed only when it carries the marker comment this
        collection writes into its rule files; any other file makes the module fail, naming it.
      - With O(link_up=true), a file name that sorts before C(80-net-setup-link.rules) draws a
        warning - interfaces are renamed there, so C($name) may still be the kernel's name.
    type: path
  state:
    description:
      - V(present) writes the rule; V(absent) removes the file.
      - With V(absent) and O(pci_address), the PF need not exist any more.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: virt.sriov.sriov_vfs
notes:
  - A rule that sets a different count than the runtime one takes effect only at the next boot.
requirements:
  - udev (C(udevadm)) on the host.
"""

EXAMPLES = r"""
- name: Recreate 4 VFs on enp1s0 at every boot
  virt.sriov.sriov_udev_rule:
    pf: enp1s0
    num_vfs: 4

- name: Recreate 4 VFs on enp1s0 at every boot and bring enp1s0 up, for guests that autostart
  virt.sriov.sriov_udev_rule:
    pf: enp1s0
    num_vfs: 4
    link_up: true

- name: The guide's driver-wide form (applies to every igb port)
  virt.sriov.sriov_udev_rule:
    pf: enp1s0
    num_vfs: 2
    match: driver

- name: Remove the rule of a PF
  virt.sriov.sriov_udev_rule:
    pci_address: "0000:01:00.0"
    state: absent
"""

RETURN = r"""
path:
  description: The rule file managed.
  returned: always
  type: str
  sample: /etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules
pci_address:
  description: PCI address of the PF (null with O(state=absent) and only O(path) given).
  returned: always
  type: str
  sample: "0000:01:00.0"
num_vfs:
  description: The VF count written into the rule (null with O(state=absent)).
  returned: always
  type: int
  sample: 4
match:
  description: The match form used.
  returned: always
  type: str
  sample: pci_address
rule:
  description: The rule line (null with O(state=absent)).
  returned: always
  type: str
  sample: >-
    ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="0",
    ATTR{device/sriov_numvfs}="4"
link_up_rule:
  description: The rule line that brings the PF's link up (null without O(link_up) or with O(state=absent)).
  returned: always
  type: str
  sample: >-
    ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*",
    RUN+="/usr/sbin/ip link set dev $name up"
content:
  description: The whole file content wanted (null with O(state=absent)).
  returned: always
  type: str
verified:
  description: Whether C(udevadm verify) checked the rule (only when the file changes, on systemd 254 and later).
  returned: always
  type: bool
  sample: false
reloaded:
  description: Whether C(udevadm control --reload) ran.
  returned: always
  type: bool
  sample: true
other_owners:
  description: Other configuration that also sets this PF's VF count (also reported as warnings).
  returned: always
  type: list
  elements: str
  sample: ["NetworkManager connection /etc/NetworkManager/system-connections/p1.nmconnection sets sriov.total-vfs=8"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._udev import manage_rule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pf=dict(type="str"),
            pci_address=dict(type="str"),
            num_vfs=dict(type="raw"),
            match=dict(type="str", default="pci_address", choices=["pci_address", "mac", "driver"]),
            link_up=dict(type="bool", default=False),
            drivers_autoprobe=dict(type="bool"),
            path=dict(type="path"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[("pf", "pci_address")],
        required_one_of=[("pf", "pci_address")],
        required_if=[("state", "present", ("num_vfs",))],
        supports_check_mode=True,
    )
    run_module(module, lambda m: manage_rule(Host(run_command=m.run_command), m.params, check_mode=m.check_mode), lock_name="sriov_udev_rule")


if __name__ == "__main__":
    main()
