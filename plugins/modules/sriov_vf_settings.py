#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_vf_settings
short_description: Set the administrative settings and drivers of SR-IOV virtual functions and keep them across reboots and driver reloads
version_added: 1.1.0
author: Virt SR-IOV Maintainers (@virt-sriov)
description:
  - Sets, per virtual function (VF) of a physical function (PF), the settings the PF holds for
    it, as C(ip link set dev PF vf N ...) does, MAC address, VLAN (with priority and protocol),
    trust, spoof checking, transmit rate limits and link state; and the driver of the VF
    (O(vfs[].driver), V(vfio-pci) ahead of time, the host's VF driver, or none).
  - The current values are read once per PF from C(ip -j -d link show dev PF). Each setting that
    differs is applied with its own C(ip link set) call; settings that already match are left
    alone, so a second run reports no change.
  - If the driver refuses a setting (the C(igb) driver of the Intel 82576 refuses O(vfs[].min_tx_rate),
    O(vfs[].link_state) and O(vfs[].vlan_proto=802.1ad), for example), the module sets back
    everything this run had already changed, in reverse order, and fails naming the driver, the
    VF, the setting and the kernel's answer. The values are read back after applying; a value the
    driver accepted but did not keep is treated the same way.
  - libvirt sets the MAC address and VLAN of a VF when it gives the VF to a guest and restores them
    when the guest releases it. Changing O(vfs[].mac) or O(vfs[].vlan) of a VF that a libvirt
    domain (running or in its persistent definition, directly or through a hostdev network) or
    an active hostdev network uses is refused, naming the user. Trust, spoof checking, rates and
    link state may change while a guest uses the VF. When the libvirt scan cannot complete
    (libvirt-python missing, libvirt not reachable), MAC and VLAN changes are refused with the
    reason.
  - O(vfs[].driver) moves a VF between drivers through sysfs, C(driver_override) of the VF, an
    unbind from its current driver and a probe (C(/sys/bus/pci/drivers_probe)), each write
    bounded in time; C(modprobe vfio-pci) loads vfio-pci first when needed. The module then
    waits (bounded) until the VF is on the driver wanted. Changing the driver of a VF that a
    libvirt domain (running or defined) or an active hostdev network uses is refused, naming
    the user, and so is any driver change when the libvirt scan cannot complete.
  - With O(persist=true) the settings come back by themselves after a reboot, a driver reload
    (C(modprobe -r igb; modprobe igb)) or a PF reset, all of which reset every VF setting. One
    udev rule file per PF, C(/etc/udev/rules.d/83-virt-sriov-vf-settings-<PF PCI address>.rules),
    runs C(ip link set dev $name vf N <setting>) (one line per VF and setting) when the PF's
    network interface appears. It sorts after the VF count rule of M(virt.sriov.sriov_udev_rule)
    (C(82-virt-sriov-numvfs-<PF PCI address>.rules)), which creates the VFs during the same
    event; udev runs the programs after every rule of the event has been applied.
  - The drivers are persisted in the same file, with lines on the VF's own PCI C(add) and
    C(bind) events matched by the VF's PCI address (C(KERNEL==)). For V(vfio-pci) they set
    C(driver_override), load vfio-pci, unbind a driver the kernel bound while creating the VF
    (C(igbvf) after a driver reload) and probe the VF again; for V(none) they set
    C(driver_override) to V(none) and unbind. Once something else clears C(driver_override)
    (libvirt giving a VF back to the host), the lines leave the VF alone. V(host) needs no line;
    the kernel binds the VF driver itself.
  - The rule holds exactly the settings of the last run for that PF. A PF without settings (or
    O(persist=false)) has its settings rule removed; the settings already applied stay as they are.
  - The module warns when other configuration also sets VF settings of the PF, a
    NetworkManager connection with C(sriov.vfs), a systemd-networkd C(.network) file with an
    C([SR-IOV]) section or an os-net-config file with C(sriov_vf) entries.
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
attributes:
  check_mode:
    support: full
    details:
      - Predicts every change per VF and setting, the rule file, and the refusal of MAC, VLAN or
        driver changes on VFs in use. It cannot predict that a driver refuses a setting or that a
        VF does not bind.
      - VFs named in O(vfs) that do not exist yet (an earlier task in check mode would create
        them) are predicted as changed, with a warning; O(vf_defaults) cover only the VFs that
        exist.
  diff_mode:
    support: full
    details:
      - Shows the changed settings per VF (C(<PF> vf <N>)) before and after (a driver as the
        bound driver, or V(none), before and the choice after), and the rule file.
  idempotent:
    support: full
options:
  pf:
    description:
      - Network interface name of one PF, for example V(enp1s0).
      - One of O(pfs), O(pf) and O(pci_address) is required.
    type: str
  pci_address:
    description:
      - PCI address of one PF, as V(0000:01:00.0), V(01:00.0) or V(pci_0000_01_00_0).
    type: str
  vf_defaults:
    description:
      - Settings for every VF the PF has now (with O(pf) or O(pci_address)). Entries of O(vfs)
        override them per VF.
      - Takes the same settings as an entry of O(vfs), without O(vfs[].vf); a MAC address cannot
        be a default of several VFs.
    type: dict
  vfs:
    description:
      - Settings per VF (with O(pf) or O(pci_address)). Settings left out are not touched.
      - Two entries that give the same setting of a VF different values are refused.
    type: list
    elements: dict
    suboptions:
      vf:
        description:
          - The VF index, V(0) for the first VF, or a range such as V(0-3).
        type: raw
        required: true
      mac:
        description:
          - Administrative MAC address of the VF, a unicast address such as V(52:54:00:6d:90:02).
            V(00:00:00:00:00:00) clears it (where the driver supports that).
          - One VF only (not a range).
        type: str
      vlan:
        description:
          - VLAN ID (V(1) to V(4095)) the PF inserts and strips for the VF; V(0) removes it.
        type: int
      qos:
        description:
          - 802.1p priority (V(0) to V(7)) of the VLAN tag; needs O(vfs[].vlan). Default V(0).
        type: int
      vlan_proto:
        description:
          - VLAN protocol; needs O(vfs[].vlan). Default V(802.1Q).
        type: str
        choices: [802.1Q, 802.1ad]
      trust:
        description:
          - Trusted VF, allowed to change its own MAC address and to use promiscuous and
            all-multicast modes (bonding, multicast in guests).
        type: bool
      spoofchk:
        description:
          - Spoof checking of the source MAC address of the VF's frames.
        type: bool
      max_tx_rate:
        description:
          - Maximum transmit rate of the VF in Mbit/s; V(0) means unlimited. Drivers need the PF's
            link up to set it (C(igb) answers C(EINVAL) while the PF is down).
        type: int
      min_tx_rate:
        description:
          - Minimum (guaranteed) transmit rate in Mbit/s; V(0) means none.
        type: int
      link_state:
        description:
          - Link state of the VF, V(auto) (follows the PF), V(enable) or V(disable).
        type: str
        choices: [auto, enable, disable]
      driver:
        description:
          - The driver the VF is bound to. V(vfio-pci) binds it to vfio-pci ahead of time (for
            DPDK on the host or guests with C(managed='no')); it needs the IOMMU on.
          - V(host) gives it the VF driver the kernel picks for it (C(igbvf) for an Intel 82576
            VF) and clears C(driver_override); it needs the PF's C(sriov_drivers_autoprobe) on.
          - V(none) leaves it without a driver (C(driver_override) V(none), a name no driver has).
          - Left out, the driver is not touched.
        type: str
        choices: [vfio-pci, host, none]
  pfs:
    description:
      - Several PFs in one run, each a dict with C(pf) or C(pci_address) and its C(vfs) and
        C(vf_defaults) (the same forms as the top-level options). Mutually exclusive with
        O(pf) and O(pci_address).
      - Everything is planned and checked first; a refusal or failure on one PF sets back what
        this run changed on every PF.
    type: list
    elements: dict
    suboptions:
      pf:
        description: Network interface name of the PF.
        type: str
      pci_address:
        description: PCI address of the PF.
        type: str
      vf_defaults:
        description: As O(vf_defaults).
        type: dict
      vfs:
        description: As O(vfs).
        type: list
        elements: dict
      persist:
        description: As O(persist), for this PF (default O(persist)).
        type: bool
  persist:
    description:
      - Write the udev rule that re-applies the settings when the PF appears (boot, driver reload,
        PF reset). V(false) removes this module's rule of the PF.
      - The VFs must exist by then, so persist the VF count too (M(virt.sriov.sriov_udev_rule) or
        the C(virt.sriov.sriov_vfs) role); the module warns when it finds no such rule.
    type: bool
    default: true
seealso:
  - module: virt.sriov.sriov_vfs
  - module: virt.sriov.sriov_udev_rule
  - module: virt.sriov.libvirt_hostdev_interface
notes:
  - libvirt (through O(uri)) is asked only when a MAC address, VLAN or driver is about to change.
  - libvirt itself moves a VF of an C(<interface type='hostdev' managed='yes'>) to vfio-pci when
    the guest starts, and may give it back to the host driver (clearing C(driver_override)) when
    the guest releases it; O(vfs[].driver=vfio-pci) is meant for VFs nobody manages that way.
    Run the module again to bind such a VF to vfio-pci again.
  - The driver lines name the VF's PCI address as it is when the module runs; a PF keeps the
    same addresses for the same VF count, and the module writes the lines again when it runs.
  - The rule applies the settings of the VF indexes it names; if the VF count at boot is lower,
    the lines of missing VFs fail in udev's log and the others still apply.
  - Rate limits need the PF's link up when the rule runs. The C(virt.sriov.sriov_vfs) role's count
    rule brings the PF up first (C(link_up)); on a NIC whose link takes long to come up, a rate
    can still be refused at boot (see udev's log).
  - A setting of a VF that a pool network's rule file (C(84-virt-sriov-pool-<network>.rules), from
    O(virt.sriov.libvirt_vf_pool_network#module:vf_settings)) already sets is refused before anything
    changes, naming the file, the VF and the setting; each VF setting has one owner.
requirements:
  - iproute2 (C(ip)) and udev on the host.
  - libvirt-python on the host to change MAC addresses, VLANs and drivers (see O(uri)).
  - C(modprobe) (kmod) on the host to load vfio-pci for O(vfs[].driver=vfio-pci).
"""

EXAMPLES = r"""
- name: Trust every VF of enp1s0 and give VF 0 a fixed MAC address and VLAN
  virt.sriov.sriov_vf_settings:
    pf: enp1s0
    vf_defaults:
      trust: true
      spoofchk: false
    vfs:
      - vf: 0
        mac: "52:54:00:6d:90:10"
        vlan: 100
        qos: 3
      - vf: 1-3
        max_tx_rate: 500

- name: VF 2 on vfio-pci for a DPDK application, VF 3 without a driver
  virt.sriov.sriov_vf_settings:
    pf: enp1s0
    vfs:
      - vf: 2
        driver: vfio-pci
      - vf: 3
        driver: none

- name: Give VF 2 back to its host driver (igbvf)
  virt.sriov.sriov_vf_settings:
    pf: enp1s0
    vfs:
      - vf: 2
        driver: host

- name: Several PFs in one run, applied now and re-applied at boot
  virt.sriov.sriov_vf_settings:
    pfs:
      - pf: enp1s0
        vf_defaults:
          trust: true
      - pci_address: "0000:02:00.0"
        vfs:
          - vf: 0-1
            spoofchk: false

- name: Set trust now only, remove the settings rule of enp2s0
  virt.sriov.sriov_vf_settings:
    pf: enp2s0
    vf_defaults:
      trust: true
    persist: false
"""

RETURN = r"""
pfs:
  description: One entry per PF, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    pf:
      description: Network interface name of the PF.
      type: str
      sample: enp1s0
    pci_address:
      description: PCI address of the PF.
      type: str
      sample: "0000:01:00.0"
    driver:
      description: Driver of the PF.
      type: str
      sample: igb
    numvfs:
      description: Number of VFs of the PF.
      type: int
      sample: 4
    changed:
      description: Whether a setting or the rule file of this PF changed (would change in check mode).
      type: bool
    changes:
      description:
        - The settings changed (in check mode, to be changed), in the order applied, each with
          C(vf), C(setting) (one of V(mac), V(vlan), V(trust), V(spoofchk), V(max_tx_rate),
          V(min_tx_rate), V(link_state), V(driver)) and C(before)/C(after) dicts (C(vlan) holds
          C(vlan), C(qos) and C(vlan_proto); C(driver) holds the bound driver, or V(none),
          before, and V(vfio-pci), V(host) or V(none) after). Driver changes come after the
          others, in the order applied.
      type: list
      elements: dict
      sample: [{"vf": 0, "setting": "trust", "before": {"trust": false}, "after": {"trust": true}}]
    vfs:
      description:
        - The VFs that have settings, with their values after the run as the PF reports them (in
          check mode, as predicted).
        - Keys C(vf), C(pci_address), C(mac), C(vlan), C(qos), C(vlan_proto), C(trust), C(spoofchk),
          C(max_tx_rate), C(min_tx_rate), C(link_state) (null where the driver reports nothing),
          C(driver) (the bound driver, null when none) and C(driver_override) (null when unset).
      type: list
      elements: dict
      sample: [{"vf": 0, "pci_address": "0000:01:10.0", "mac": "52:54:00:6d:90:10", "vlan": 100,
                "qos": 3, "vlan_proto": "802.1Q", "trust": true, "spoofchk": false,
                "max_tx_rate": 0, "min_tx_rate": 0, "link_state": "auto", "driver": "igbvf",
                "driver_override": null}]
    rule_path:
      description: The settings rule file of the PF.
      type: str
      sample: /etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules
    rule_changed:
      description: Whether the rule file changed (would change in check mode).
      type: bool
    rule:
      description: The rule file content wanted (null when the file is removed or absent).
      type: str
verified:
  description: Whether C(udevadm verify) checked a changed rule (systemd 254 and later).
  returned: always
  type: bool
reloaded:
  description: Whether C(udevadm control --reload) ran.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_args import LIBVIRT_COMMON_ARGSPEC
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import manage_vf_settings
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings_spec import vfs_spec


def main():
    argument_spec = dict(
        pf=dict(type="str"),
        pci_address=dict(type="str"),
        vf_defaults=dict(type="dict"),
        vfs=vfs_spec(),
        pfs=dict(type="list", elements="dict", options=dict(
            pf=dict(type="str"),
            pci_address=dict(type="str"),
            vf_defaults=dict(type="dict"),
            vfs=dict(type="list", elements="dict"),
            persist=dict(type="bool"),
        )),
        persist=dict(type="bool", default=True),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("pf", "pci_address", "pfs")],
        required_one_of=[("pf", "pci_address", "pfs")],
        supports_check_mode=True,
    )
    run_module(
        module,
        # no writer: manage_vf_settings makes the bounded sysfs writer only when a VF changes driver
        lambda m: manage_vf_settings(Host(run_command=m.run_command), m.params, check_mode=m.check_mode),
        lock_name="sriov_vf_settings",
    )


if __name__ == "__main__":
    main()
