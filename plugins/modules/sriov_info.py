#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_info
short_description: Report the SR-IOV physical functions of a hypervisor and their virtual functions
version_added: 1.0.0
description:
  - Returns every SR-IOV capable network physical function (PF) of the host, or the one selected
    with O(pf) or O(pci_address), with its virtual functions (VFs).
  - For each PF, the facts the kernel shows in sysfs (driver, vendor and device IDs and their names
    where the host has a PCI ID database, C(sriov_totalvfs), C(sriov_numvfs),
    C(sriov_drivers_autoprobe), link state, MAC) and whether its driver is one the RHEL
    Virtualization Deployment Guide names as tested (C(igb), C(ixgbe)).
  - For each VF, its PCI address, libvirt node device name, driver, host network interface and
    IOMMU group from sysfs, and the admin MAC, VLAN, spoof check, trust and link state that the PF
    reports (one C(ip -j -d link show) per PF).
  - When libvirt-python is installed on the host and O(uri) answers, each VF also says which
    libvirt domains use it (live or persistent configuration, directly by PCI address or through a
    hostdev network) and which hostdev networks include it. Otherwise those fields are V(null) and
    a warning says why; the module does not fail (see O(libvirt)).
  - Never blocks - C(sriov_numvfs), which the kernel does not answer while a write of it is
    stuck, is read for all PFs from short-lived child processes with one deadline; a PF that does
    not answer is reported with RV(pfs[].numvfs=null) and a warning, the others as usual.
  - For each PF, whether the VF count is persistent - the udev rule this collection writes
    (M(virt.sriov.sriov_udev_rule), M(virt.sriov.sriov_vfs)) and the count it sets - and the other
    owners of the same count (foreign udev rules, NetworkManager, systemd C(.link) files, the
    C(max_vfs) module parameter), found the way M(virt.sriov.sriov_vfs) finds them. Only files are
    read; nothing is run for it.
  - With libvirt, each user of a VF also says where the guest's vCPUs and memory are pinned (to
    compare with the PF's NUMA node), and RV(missing_vf_users) lists the domains and hostdev
    networks that name a VF which does not exist now.
  - A libvirt domain or network undefined while the module reads it is skipped.
  - Cost is linear in the number of VFs, with at most one C(ip) command per PF and one libvirt
    connection, all in one execution on the host.
author:
  - Virt SR-IOV Maintainers (@virt-sriov)
options:
  pf:
    description:
      - Network interface name of the PF to report, for example V(enp1s0).
      - Mutually exclusive with O(pci_address). Without either, every SR-IOV capable PF is reported.
      - An unknown name, a VF or a NIC without SR-IOV fails with a message listing the PFs that exist.
    type: str
  pci_address:
    description:
      - PCI address of the PF to report, as V(0000:01:00.0), V(01:00.0) or the libvirt node device
        name V(pci_0000_01_00_0).
      - Mutually exclusive with O(pf).
    type: str
  libvirt:
    description:
      - Whether to ask libvirt which domains and hostdev networks use each VF.
      - V(auto) uses libvirt when libvirt-python is installed and O(uri) answers, and otherwise
        warns and leaves RV(pfs[].vfs[].used_by) and RV(pfs[].vfs[].networks) V(null).
      - V(yes) fails when libvirt cannot be used.
      - V(no) never connects; those fields are V(null) without a warning.
    type: str
    choices: [auto, 'yes', 'no']
    default: auto
  stats:
    description:
      - Also return each VF's traffic counters (RV(pfs[].vfs[].stats)) as the PF reports them -
        the same single C(ip) call per PF, with C(-s).
    type: bool
    default: false
    version_added: 1.1.0
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.INFO_MODULE
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
notes:
  - libvirt-python is optional for this module; without it the VF usage fields are V(null).
  - The libvirt connection is read-only.
  - A VF's network interface exists only while a host network driver is bound to it; a VF bound to
    C(vfio-pci) (given to a guest) has RV(pfs[].vfs[].netdev=null).
seealso:
  - module: virt.sriov.iommu_info
  - name: Kernel documentation, PCI Express I/O Virtualization Howto
    description: The sysfs interface of SR-IOV.
    link: https://docs.kernel.org/PCI/pci-iov-howto.html
"""

EXAMPLES = r"""
- name: Report every SR-IOV PF and its VFs
  virt.sriov.sriov_info:
  register: sriov

- name: Show the VFs of enp1s0 and who uses them
  ansible.builtin.debug:
    msg: "{{ item.pci_address }} {{ item.netdev }} used by {{ item.used_by | map(attribute='domain') | list }}"
  loop: "{{ sriov.pfs_by_name['enp1s0'].vfs }}"

- name: Report one PF by PCI address, without asking libvirt
  virt.sriov.sriov_info:
    pci_address: "0000:01:00.0"
    libvirt: "no"
  register: pf

- name: Traffic counters of every VF, and the NUMA node of each PF
  virt.sriov.sriov_info:
    stats: true
  register: sriov

- name: Fail when a VF count is not recreated at boot
  ansible.builtin.assert:
    that: sriov.pfs | selectattr('numvfs') | selectattr('udev_rule', 'none') | list | length == 0
    fail_msg: "{{ sriov.pfs | selectattr('numvfs') | selectattr('udev_rule', 'none') | map(attribute='netdev') | list }} lose their VFs at reboot"

- name: Show where each PF sits
  ansible.builtin.debug:
    msg: "{{ item.netdev }}: NUMA node {{ item.numa_node }}, CPUs {{ item.local_cpulist }}"
  loop: "{{ sriov.pfs }}"

- name: Fail unless the PF can have at least 4 VFs
  ansible.builtin.assert:
    that: pf.pfs[0].totalvfs >= 4
"""

RETURN = r"""
pfs:
  description: The SR-IOV capable PFs, sorted by PCI address.
  returned: always
  type: list
  elements: dict
  contains:
    pci_address:
      description: PCI address of the PF.
      type: str
      sample: "0000:01:00.0"
    netdevs:
      description: Network interface names of the PF (empty without a bound network driver).
      type: list
      elements: str
      sample: [enp1s0]
    netdev:
      description: The first of RV(pfs[].netdevs), or V(null).
      type: str
      sample: enp1s0
    driver:
      description: Kernel driver bound to the PF, or V(null).
      type: str
      sample: igb
    vendor_id:
      description: PCI vendor ID.
      type: str
      sample: "0x8086"
    device_id:
      description: PCI device ID.
      type: str
      sample: "0x10c9"
    vendor_name:
      description: Vendor name from the host's PCI ID database, or V(null) without one.
      type: str
      sample: Intel Corporation
    device_name:
      description: Device name from the host's PCI ID database, or V(null) without one.
      type: str
      sample: 82576 Gigabit Network Connection
    iommu_group:
      description: IOMMU group of the PF, or V(null) when the IOMMU is off.
      type: int
      sample: 12
    numa_node:
      description:
        - NUMA node the PF is attached to (C(numa_node) in sysfs), for placing guests next to their VFs.
        - V(null) when the platform reports none (C(-1), as on single-node hosts and most VMs).
      type: int
      sample: 0
      version_added: 1.1.0
    local_cpulist:
      description: CPUs local to the PF (C(local_cpulist) in sysfs), in the kernel's list format, or V(null).
      type: str
      sample: 0-15,32-47
      version_added: 1.1.0
    totalvfs:
      description: Maximum number of VFs (C(sriov_totalvfs)).
      type: int
      sample: 7
    numvfs:
      description:
        - Number of VFs enabled now (C(sriov_numvfs)).
        - V(null) when reading it did not answer within 10 seconds (a change of the VF count is stuck
          in the kernel, typically while a guest holds a VF through vfio-pci); a warning names the PF.
      type: int
      sample: 4
    drivers_autoprobe:
      description: Whether new VFs are bound to a host driver automatically (C(sriov_drivers_autoprobe)).
      type: bool
      sample: true
    link_state:
      description: Operational state of the PF's interface (C(operstate)), or V(null) without one.
      type: str
      sample: up
    mac:
      description: MAC address of the PF's interface, or V(null) without one.
      type: str
      sample: "52:54:00:5a:00:01"
    tested_driver:
      description: Whether the PF's driver is one the RHEL guide names as tested (RV(tested_drivers)).
      type: bool
      sample: true
    udev_rule:
      description:
        - The udev rule of this collection that recreates the PF's VFs at boot (a file with the marker
          line of M(virt.sriov.sriov_udev_rule) in C(/etc/udev/rules.d) or C(/run/udev/rules.d) that
          selects this PF), or V(null) when there is none - the VF count is then not persistent
          unless another owner (RV(pfs[].other_owners)) sets it.
        - When several rules select the PF, the default file C(82-virt-sriov-numvfs-<PCI address>.rules)
          is reported; the others are listed in RV(pfs[].other_owners).
      type: dict
      version_added: 1.1.0
      contains:
        path:
          description: Path of the rule file.
          type: str
          sample: /etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules
        match:
          description: How the rule selects the PF, V(pci_address), V(mac) or V(driver).
          type: str
          sample: pci_address
        num_vfs:
          description: The VF count the rule sets at boot.
          type: int
          sample: 4
        link_up:
          description: Whether the rule also brings the PF's link up.
          type: bool
          sample: true
        drivers_autoprobe:
          description: The C(sriov_drivers_autoprobe) value the rule sets first, or V(null) when it sets none.
          type: bool
          sample: null
    other_owners:
      description:
        - Everything else found on the host that also sets this PF's VF count, one sentence each (the
          warnings M(virt.sriov.sriov_vfs) gives when it persists a count) - udev rules not written
          for this PF by this collection, NetworkManager profiles with C(sriov.total-vfs), systemd
          C(.link) files with C(SR-IOVVirtualFunctions=), the C(max_vfs) module parameter.
      type: list
      elements: str
      version_added: 1.1.0
      sample: ["systemd link file /etc/systemd/network/10-sriov.link sets SR-IOVVirtualFunctions=4"]
    vfs:
      description: The PF's VFs, by index.
      type: list
      elements: dict
      contains:
        index:
          description: VF number on its PF (the N of C(virtfnN)).
          type: int
          sample: 0
        pci_address:
          description: PCI address of the VF.
          type: str
          sample: "0000:01:10.0"
        nodedev_name:
          description: libvirt node device name of the VF.
          type: str
          sample: pci_0000_01_10_0
        driver:
          description: Kernel driver bound to the VF (for example C(igbvf) or C(vfio-pci)), or V(null).
          type: str
          sample: igbvf
        netdev:
          description: Host network interface of the VF, or V(null) (none under C(vfio-pci) or without a driver).
          type: str
          sample: enp1s0v0
        iommu_group:
          description: IOMMU group of the VF, or V(null) when the IOMMU is off.
          type: int
          sample: 21
        mac:
          description: Admin MAC address of the VF as the PF reports it (V(00:00:00:00:00:00) when unset).
          type: str
          sample: "52:54:00:6d:90:02"
        vlan:
          description: VLAN ID the PF applies to the VF; V(0) for none (mlx4's 4095 is reported as 0).
          type: int
          sample: 42
        qos:
          description: VLAN priority (QoS) the PF applies to the VF.
          type: int
          sample: 0
        vlan_protocol:
          description: VLAN protocol, V(802.1Q) or V(802.1ad).
          type: str
          sample: 802.1Q
        spoofchk:
          description: Whether MAC spoof checking is on, or V(null) when the driver does not say.
          type: bool
          sample: true
        trust:
          description: Whether the VF is trusted, or V(null) when the driver does not say.
          type: bool
          sample: false
        link_state:
          description: Admin link state of the VF, V(auto), V(enable) or V(disable).
          type: str
          sample: auto
        max_tx_rate:
          description: Maximum transmit rate in Mbit/s, V(0) for unlimited.
          type: int
          sample: 0
        min_tx_rate:
          description: Minimum transmit rate in Mbit/s, V(0) for none.
          type: int
          sample: 0
        stats:
          description:
            - The VF's traffic counters as the PF reports them (C(ip -s -d link show PF)), counted by the
              PF's hardware whoever holds the VF (host or guest).
            - V(null) when the PF reports none (no network interface, a driver without VF statistics).
            - A counter the kernel does not report (C(*_dropped) before Linux 4.20) is V(null).
          returned: when O(stats=true)
          type: dict
          version_added: 1.1.0
          contains:
            rx_packets:
              description: Packets received.
              type: int
            rx_bytes:
              description: Bytes received.
              type: int
            rx_dropped:
              description: Received packets dropped.
              type: int
            tx_packets:
              description: Packets sent.
              type: int
            tx_bytes:
              description: Bytes sent.
              type: int
            tx_dropped:
              description: Packets dropped on transmit.
              type: int
          sample: {rx_packets: 120, rx_bytes: 15360, rx_dropped: 0, tx_packets: 80, tx_bytes: 10240, tx_dropped: 0}
        used_by:
          description:
            - libvirt domains that use the VF, one entry per domain and configuration (live or persistent).
            - V(null) when libvirt was not asked (RV(libvirt_connected=false)).
          type: list
          elements: dict
          contains:
            domain:
              description: Domain name.
              type: str
            uuid:
              description: Domain UUID.
              type: str
            running:
              description: Whether the domain is running.
              type: bool
            config:
              description: V(live) (the running domain's XML) or V(persistent) (its inactive XML).
              type: str
            via:
              description: V(hostdev) for a direct PCI reference, C(network:NAME) when the VF came from a hostdev network.
              type: str
            cpus:
              description:
                - Host CPUs the domain's pinned vCPUs may run on in this configuration (C(<cputune><vcpupin>),
                  and C(<vcpu cpuset>) for vCPUs without their own pin), in the kernel's list format, or
                  V(null) when no vCPU is pinned. Compare with RV(pfs[].local_cpulist).
              type: str
              sample: 0-3
              version_added: 1.1.0
            memory_nodes:
              description:
                - Host NUMA nodes of the domain's C(<numatune>) memory (C(<memory nodeset>) and
                  C(<memnode nodeset>)), or V(null) when its memory is not bound to nodes. Compare with
                  RV(pfs[].numa_node).
              type: str
              sample: "0"
              version_added: 1.1.0
        networks:
          description:
            - Names of the libvirt hostdev networks whose pool includes the VF.
            - V(null) when libvirt was not asked (RV(libvirt_connected=false)).
          type: list
          elements: str
          sample: [passthrough]
pfs_by_name:
  description: The entries of RV(pfs) keyed by each of their network interface names.
  returned: always
  type: dict
  sample: {enp1s0: {pci_address: "0000:01:00.0", totalvfs: 7, numvfs: 4, vfs: []}}
libvirt_connected:
  description: Whether libvirt was asked for the VF users, so that RV(pfs[].vfs[].used_by) and RV(pfs[].vfs[].networks) are filled.
  returned: always
  type: bool
  sample: true
missing_vf_users:
  description:
    - libvirt definitions that name a VF which does not exist on the host now (its PF has fewer VFs,
      or the PF is gone) - such a guest or pool network fails to start. Found from the same scan as
      RV(pfs[].vfs[].used_by), for the whole host whatever O(pf) or O(pci_address) select.
    - "An address counts when it is a VF slot of one of the host's PFs (from C(sriov_offset) and
      C(sriov_stride), up to C(sriov_totalvfs)) or is named by an C(<interface type='hostdev'>); a
      C(<hostdev>) of another missing PCI device is not reported."
    - V(null) when libvirt was not asked (RV(libvirt_connected=false)).
  returned: always
  type: list
  elements: dict
  version_added: 1.1.0
  contains:
    kind:
      description: V(domain) or V(network) (a hostdev pool network).
      type: str
    name:
      description: Name of the domain or network.
      type: str
    pci_address:
      description: The address that names no existing VF, or V(null) for a network whose C(<pf dev>) is missing.
      type: str
    pf:
      description: PCI address of the PF whose VF slot the address is, the missing C(<pf dev>) of a network, or V(null).
      type: str
    config:
      description: V(live) (a running domain, an active network) or V(persistent) definition.
      type: str
    active:
      description: Whether the domain is running or the network is active.
      type: bool
  sample: [{kind: domain, name: web1, pci_address: "0000:01:11.0", pf: "0000:01:00.0", config: persistent, active: false}]
tested_drivers:
  description: PF drivers the RHEL Virtualization Deployment Guide names as tested.
  returned: always
  type: list
  elements: str
  sample: [igb, ixgbe]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._sriov_facts import LIBVIRT_MODES, gather_sriov_info
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_args import LIBVIRT_COMMON_ARGSPEC
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module


def main():
    argument_spec = dict(
        pf=dict(type="str"),
        pci_address=dict(type="str"),
        libvirt=dict(type="str", choices=list(LIBVIRT_MODES), default="auto"),
        stats=dict(type="bool", default=False),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("pf", "pci_address")],
        supports_check_mode=True,
    )
    run_module(module, _gather)


def _gather(module):
    result = gather_sriov_info(
        Host(run_command=module.run_command),
        pf=module.params["pf"],
        pci_address=module.params["pci_address"],
        uri=module.params["uri"],
        libvirt=module.params["libvirt"],
        stats=module.params["stats"],
    )
    result["changed"] = False
    return result


if __name__ == "__main__":
    main()
