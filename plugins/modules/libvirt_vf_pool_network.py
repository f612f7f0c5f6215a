#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_vf_pool_network
short_description: Manage a libvirt hostdev network that hands out the VFs of an SR-IOV PF
version_added: 1.0.0
description:
  - Defines, starts, autostarts, restarts and removes a libvirt network with
    C(<forward mode='hostdev'>) whose pool is either every VF of one PF (O(pf)) or a list of VF
    PCI addresses (O(vfs)), as in section 17.2.4 of the RHEL Virtualization Deployment Guide.
  - Each guest that starts with C(<interface type='network'><source network='NAME'/></interface>)
    gets a free VF of the pool, so guests are not tied to one PCI address and can move between
    hosts that define a network of the same name.
  - Idempotent by meaning, not by text. The UUID, the VF list libvirt adds to the live XML when
    the network starts, hexadecimal versus decimal address parts and default attributes do not
    count as differences.
  - libvirt builds the pool once, when the network starts. When the PF's VF count changed after
    that (a stale pool), or the definition changes, the module restarts a running network, but
    only while no guest holds one of its VFs (C(connections) is 0). Otherwise it fails and names
    the guests, unless O(force=true). Removing a network in use follows the same rule.
  - The input is checked against sysfs before libvirt is touched. The PF must exist, be SR-IOV
    capable and, for O(state=active), have VFs. Every address in O(vfs) must be a VF.
author:
  - Virt SR-IOV Maintainers (@virt-sriov)
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the network definition before and after, and the running state (C(active),
        C(autostart) and the VFs of the running pool).
  idempotent:
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Name of the libvirt network.
      - 1 to 64 letters, digits, V(_), V(.), V(+) or V(-), not starting with V(.), V(+) or V(-).
    type: str
    required: true
  pf:
    description:
      - Interface name of the PF whose VFs form the pool, for example V(enp1s0).
      - libvirt lists the PF's VFs when the network starts.
      - Mutually exclusive with O(vfs). One of them is required unless O(state=absent).
    type: str
  vfs:
    description:
      - PCI addresses of the VFs that form the pool, in any spelling accepted by the collection
        (V(0000:01:10.0), V(01:10.0) or V(pci_0000_01_10_0)).
      - Mutually exclusive with O(pf).
    type: list
    elements: str
  managed:
    description:
      - Whether libvirt detaches each VF from its host driver when a guest starts and gives it back
        when the guest stops (C(managed='yes')).
      - Without it, guests fail to start unless the VFs were detached by hand.
    type: bool
    default: true
  driver:
    description:
      - Device assignment back end of the pool (C(<driver name=>)).
    type: str
    choices: [vfio, kvm]
    default: vfio
  vlan:
    description:
      - VLAN tag (0 to 4095) that libvirt sets on every VF it hands out from this network.
      - Omit it for no network-level VLAN. A guest interface can still carry its own.
    type: int
  state:
    description:
      - V(present) defines the network and leaves its running state as it is. A running network
        whose definition or pool changed is restarted, under the rule in the description.
      - V(active) defines and starts it.
      - V(absent) stops and removes it.
    type: str
    choices: [present, active, absent]
    default: active
  autostart:
    description:
      - Whether libvirt starts the network when it starts.
      - When not set, the current setting is kept (libvirt's default for a new network is off).
      - Ignored with O(state=absent).
    type: bool
  force:
    description:
      - Restart or remove the network even while guests hold its VFs.
      - Those guests keep their VFs, but libvirt no longer counts them, and may hand the same VF to
        the next guest that starts. Use it only when you know the guests are being moved away.
    type: bool
    default: false
seealso:
  - name: libvirt network XML format, hostdev forward mode
    description: How libvirt describes a pool of SR-IOV VFs.
    link: https://libvirt.org/formatnetwork.html#connectivity
  - name: RHEL 7 Virtualization Deployment Guide
    description: Section 17.2.4, setting PCI device assignment from a pool of SR-IOV virtual functions.
    link: https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/7/html/virtualization_deployment_and_administration_guide/
  - module: virt.sriov.sriov_vfs
    description: Creates the VFs of a PF, which a pool network needs before it starts.
notes:
  - A guest using the network fails to start while the PF's link is down ("the PF is not online").
    The module warns when it sees the PF down.
  - When libvirt starts before udev has created the VFs at boot, an autostarted pool network fails
    with "No usable Vf's present". The role virt.sriov.vf_pool_network installs the boot ordering
    that prevents this.
"""

EXAMPLES = r"""
- name: Pool of every VF of enp1s0, started and started at boot
  virt.sriov.libvirt_vf_pool_network:
    name: passthrough
    pf: enp1s0
    autostart: true

- name: Pool of two VFs, tagged with VLAN 42, defined only
  virt.sriov.libvirt_vf_pool_network:
    name: vlan42
    vfs:
      - "0000:01:10.0"
      - "0000:01:10.2"
    vlan: 42
    state: present

- name: Remove the pool, even if guests still hold VFs of it
  virt.sriov.libvirt_vf_pool_network:
    name: passthrough
    state: absent
    force: true
"""

RETURN = r"""
network:
  description:
    - Facts of the network after the run, from its live XML. In check mode, the state before the
      run.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the network exists.
      type: bool
      sample: true
    name:
      description: Network name.
      type: str
      sample: passthrough
    uuid:
      description: libvirt's UUID of the network.
      type: str
      sample: 984a735d-a13b-44da-b070-4782f7f1637f
    active:
      description: Whether the network is running.
      type: bool
      sample: true
    autostart:
      description: Whether libvirt starts the network when it starts.
      type: bool
      sample: true
    persistent:
      description: Whether the network has a persistent definition.
      type: bool
      sample: true
    connections:
      description: Number of guest interfaces connected to the running network (0 when stopped).
      type: int
      sample: 1
    vfs:
      description:
        - PCI addresses of the VFs in the pool. For a running network, the list libvirt built
          when it started. For a stopped network defined by O(vfs), the listed addresses.
      type: list
      elements: str
      sample: ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    pf:
      description: Interface name of the PF of the pool, or null for a pool defined by addresses.
      type: str
      sample: enp1s0
    vlan:
      description: Network-level VLAN tag, or null.
      type: int
      sample: 42
    managed:
      description: Whether libvirt detaches and reattaches the VFs itself.
      type: bool
      sample: true
    driver:
      description: Device assignment back end.
      type: str
      sample: vfio
    forward_mode:
      description: Forward mode of the network (always V(hostdev) for a network this module made).
      type: str
      sample: hostdev
    xml:
      description: The live XML of the network, as libvirt reports it.
      type: str
actions:
  description:
    - What the run did (or, in check mode, would do), in order.
    - Each is one of V(stop), V(undefine), V(define), V(start), V(autostart), V(no_autostart).
  returned: always
  type: list
  elements: str
  sample: ["stop", "define", "start"]
reasons:
  description: Why a running network is (or would be) restarted, for example a stale pool.
  returned: when the network is restarted
  type: list
  elements: str
  sample:
    - "the running pool is stale: it holds 4 VF(s) (...) but PF enp1s0 now has 2 (...)"
guests:
  description: On refusal, the running guests that hold VFs of the network and which VFs.
  returned: on failure because the network is in use
  type: list
  elements: dict
  sample: [{"domain": "guestVM", "vfs": ["0000:01:10.0"]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._libvirt import (
    LIBVIRT_COMMON_ARGSPEC,
    open_connection,
)
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_network import ensure_vf_pool_network


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        pf=dict(type="str"),
        vfs=dict(type="list", elements="str"),
        managed=dict(type="bool", default=True),
        driver=dict(type="str", choices=["vfio", "kvm"], default="vfio"),
        vlan=dict(type="int"),
        state=dict(type="str", choices=["present", "active", "absent"], default="active"),
        autostart=dict(type="bool"),
        force=dict(type="bool", default=False),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("pf", "vfs")],
        required_if=[
            ("state", "present", ("pf", "vfs"), True),
            ("state", "active", ("pf", "vfs"), True),
        ],
        supports_check_mode=True,
    )
    run_module(module, _converge, needs_libvirt=True, lock_name="libvirt_vf_pool_network")


def _converge(module):
    host = Host(run_command=module.run_command)
    with open_connection(module.params["uri"]) as conn:
        return ensure_vf_pool_network(conn, host, module.params, check_mode=module.check_mode)


if __name__ == "__main__":
    main()
