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
  - "Two forms: one network (O(name) and its options, as in release 1.0), or every network of the
    host in one execution (O(networks)). With O(networks) every network is validated, planned and
    checked against its guards before any of them changes, and when at least one kept network is
    autostarted the module also writes the systemd drop-ins that start libvirt's daemons after
    udev has created the VFs at boot (C(/etc/systemd/system/<unit>.d/50-virt-sriov.conf) for
    C(libvirtd), C(virtqemud) and C(virtnetworkd)) and reloads systemd."
  - Removing a network (O(state=absent)) is refused while guests hold its VFs, and while the
    persistent definition of any guest (running or shut off) names it with
    C(<source network='NAME'/>), unless O(force=true).
  - A restart whose start fails (for example a new definition libvirt cannot start) is rolled back
    to the previous definition, which is started again; the module then fails with both errors.
  - "O(vf_settings) sets VF admin settings (C(trust), C(spoofchk), rates, link state) on every VF
    of the pool, so a guest gets them whichever VF libvirt hands it, and persists them in a udev
    rule file of the network (C(/etc/udev/rules.d/84-virt-sriov-pool-<name>.rules)) that re-applies
    them when the PF's interface appears (boot, driver reload, PF reset)."
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
      - Exactly one of O(name) and O(networks) is required.
    type: str
  networks:
    description:
      - Every network to manage, in one execution. Each item takes the options of the single form
        (O(name), O(pf), O(vfs), O(vf_range), O(vlan), O(managed), O(driver), O(state),
        O(autostart), O(vf_settings)); O(force), O(planned_vfs) and O(uri) apply to all of them.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    version_added: 1.1.0
    suboptions:
      name:
        description: Name of the libvirt network.
        type: str
        required: true
      pf:
        description: Interface name of the PF whose VFs form the pool.
        type: str
      vfs:
        description: PCI addresses of the VFs that form the pool.
        type: list
        elements: str
      vf_range:
        description: With O(networks[].pf), only the VFs with these indexes, for example V(2-5).
        type: str
      managed:
        description: Whether libvirt detaches each VF from its host driver itself.
        type: bool
        default: true
      driver:
        description: Device assignment back end of the pool.
        type: str
        choices: [vfio, kvm]
        default: vfio
      vlan:
        description: Network-level VLAN tag (0 to 4095).
        type: int
      state:
        description: V(active), V(present) or V(absent), as O(state).
        type: str
        choices: [present, active, absent]
        default: active
      autostart:
        description: Whether libvirt starts the network when it starts (not set - O(autostart)).
        type: bool
      vf_settings:
        description: VF admin settings for every VF of the pool, as O(vf_settings).
        type: dict
        version_added: 1.1.0
  pf:
    description:
      - Interface name of the PF whose VFs form the pool, for example V(enp1s0).
      - libvirt lists the PF's VFs when the network starts.
      - Mutually exclusive with O(vfs). One of them is required unless O(state=absent).
    type: str
  vf_range:
    description:
      - With O(pf), pool only the VFs of the PF with these indexes, for example V(2-5) or V(3)
        (a partition of the PF). The network then lists their PCI addresses (libvirt takes either
        C(<pf dev>) or addresses, never both), so other VFs of the same PF stay free for fixed
        assignments (M(virt.sriov.libvirt_hostdev_interface)) or host use.
      - A VF in the range that is already in the pool of another hostdev network, or given to a
        guest as a hostdev interface, is refused before anything changes, as is a VF claimed by
        two networks of one O(networks) list.
    type: str
    version_added: 1.1.0
  planned_vfs:
    description:
      - Used in check mode only. The VFs an earlier stage of the same run would create, as a
        dictionary of PF interface name -> list of VF PCI addresses (the role
        C(virt.sriov.sriov_vfs) sets the fact C(sriov_vfs_planned_vfs) to it).
      - A PF listed here is judged by these VFs instead of the ones that exist now, and listed
        addresses that do not exist yet are accepted, so C(--check) of a whole playbook predicts
        instead of failing on a host without VFs.
    type: dict
    version_added: 1.1.0
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
      - With O(networks), the value for every item that does not set its own.
    type: bool
  vf_settings:
    description:
      - VF admin settings applied to every VF of the pool (every VF of O(pf), or the VFs of
        O(vf_range)), so that a guest on the network gets them whichever VF libvirt picks. Keys
        (all optional) - C(trust) (bool; lets the guest change its MAC and use promiscuous
        multicast, for bonding), C(spoofchk) (bool; source MAC spoof checking), C(max_tx_rate)
        and C(min_tx_rate) (Mbit/s, 0 for no limit), C(link_state) (V(auto), V(enable) or
        V(disable)). Validated and applied as by M(virt.sriov.sriov_vf_settings) - current values
        from one C(ip -j -d link), one C(ip link set) per VF and setting, read back. A setting
        the driver refuses fails naming the driver, the VF and the setting, and what the run had
        already set is set back.
      - C(mac), C(vlan), C(qos) and C(vlan_proto) are refused - libvirt sets the MAC and the VLAN
        of a pool VF itself when it hands it to a guest (use O(vlan) and the guest interface's
        MAC). C(driver) is refused too - libvirt moves pool VFs to vfio-pci itself.
      - Needs the pool given by O(pf) (with or without O(vf_range)), not by O(vfs).
      - Persisted in C(/etc/udev/rules.d/84-virt-sriov-pool-<name>.rules), one line per VF and
        setting, triggered like the per-PF file of M(virt.sriov.sriov_vf_settings) when the PF's
        interface appears. Removing the network (O(state=absent)) or leaving O(vf_settings) out
        removes the file; the VFs keep their current values until the next driver reload or
        reboot.
      - A setting of a VF that the PF's own settings file
        (C(83-virt-sriov-vf-settings-<PF>.rules), written by M(virt.sriov.sriov_vf_settings)) or
        another pool network's file also sets is refused before anything changes; one setting of
        a VF has one owner.
    type: dict
    version_added: 1.1.0
  force:
    description:
      - Restart or remove the network even while guests hold its VFs.
      - Those guests keep their VFs, but libvirt no longer counts them, and may hand the same VF to
        the next guest that starts. Use it only when you know the guests are being moved away.
    type: bool
    default: false
seealso:
  - module: virt.sriov.libvirt_hostdev_interface
    description: Gives guests an interface on a pool network, or a fixed VF.
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

- name: Every pool network of the host in one execution (and libvirt ordered after udev at boot)
  virt.sriov.libvirt_vf_pool_network:
    networks:
      - name: passthrough
        pf: enp1s0
        autostart: true
      - name: partition
        pf: enp2s0
        vf_range: "2-5"
        vlan: 42
      - name: old-pool
        state: absent

- name: A trusted pool (guests may bond or change their MAC), spoof checking off, at most 1 Gbit/s
  virt.sriov.libvirt_vf_pool_network:
    name: trusted
    pf: enp1s0
    vf_range: "0-1"
    vf_settings:
      trust: true
      spoofchk: false
      max_tx_rate: 1000

- name: Remove the pool, even if guests still hold VFs of it
  virt.sriov.libvirt_vf_pool_network:
    name: passthrough
    state: absent
    force: true
"""

RETURN = r"""
networks:
  description:
    - With O(networks), one entry per network, in the order given, with the keys the single form
      returns (RV(network), RV(actions), RV(reasons)) plus C(changed) and C(name).
  returned: with O(networks)
  type: list
  elements: dict
  sample:
    - name: passthrough
      changed: true
      actions: ["define", "start", "autostart"]
      network: {"name": "passthrough", "active": true}
boot_order:
  description: With O(networks), the systemd drop-ins that order libvirt's daemons after udev.
  returned: with O(networks)
  type: dict
  contains:
    changed:
      description: Whether drop-ins were (or in check mode would be) written or removed.
      type: bool
    files:
      description: The files written or removed.
      type: list
      elements: str
  sample: {"changed": true, "files": ["/etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf"]}
network:
  description:
    - Facts of the network after the run, from its live XML. In check mode, the state before the
      run.
  returned: with O(name)
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
  returned: with O(name)
  type: list
  elements: str
  sample: ["stop", "define", "start"]
vf_settings:
  description:
    - The VF settings of the pool (with O(networks), the same key in each entry of RV(networks)).
      In check mode, the values predicted after the run.
  returned: when O(vf_settings) is set, or when its rule file is removed
  type: dict
  version_added: 1.1.0
  contains:
    pf:
      description: Interface name of the PF the settings are set through.
      type: str
      sample: enp1s0
    changed:
      description: Whether a setting or the rule file changed (or would change in check mode).
      type: bool
    changes:
      description: One entry per VF and setting that changed, with C(vf), C(setting), C(before), C(after).
      type: list
      elements: dict
      sample: [{"vf": 0, "setting": "trust", "before": {"trust": false}, "after": {"trust": true}}]
    vfs:
      description:
        - The settings of each VF of the pool after the run, as the PF reports them (null where
          it does not report a setting), with C(vf) and C(pci_address).
      type: list
      elements: dict
      sample: [{"vf": 0, "pci_address": "0000:01:10.0", "trust": true, "spoofchk": false,
                "max_tx_rate": 0, "min_tx_rate": 0, "link_state": "auto"}]
    rule_path:
      description: The network's rule file.
      type: str
      sample: /etc/udev/rules.d/84-virt-sriov-pool-trusted.rules
    rule_changed:
      description: Whether the rule file was (or would be) written or removed.
      type: bool
    rule:
      description: The rule file text after the run, or null when it is removed.
      type: str
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
domains:
  description: On refusal to remove a network, the domains whose persistent definition names it.
  returned: on failure because guests' definitions use the network
  type: list
  elements: str
  sample: ["guestVM"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._libvirt import (
    LIBVIRT_COMMON_ARGSPEC,
    open_connection,
)
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_network import (
    ensure_vf_pool_network,
    ensure_vf_pool_networks,
)

NETWORK_OPTIONS = dict(
    name=dict(type="str", required=True),
    pf=dict(type="str"),
    vfs=dict(type="list", elements="str"),
    vf_range=dict(type="str"),
    managed=dict(type="bool", default=True),
    driver=dict(type="str", choices=["vfio", "kvm"], default="vfio"),
    vlan=dict(type="int"),
    state=dict(type="str", choices=["present", "active", "absent"], default="active"),
    autostart=dict(type="bool"),
    vf_settings=dict(type="dict"),
)


def main():
    # the single-network form takes the options of one list entry at the top level
    argument_spec = dict((key, dict(spec)) for key, spec in NETWORK_OPTIONS.items())
    argument_spec["name"] = dict(type="str")
    argument_spec.update(
        networks=dict(type="list", elements="dict", options=NETWORK_OPTIONS,
                      mutually_exclusive=[("pf", "vfs"), ("vfs", "vf_range")],
                      required_if=[("state", "present", ("pf", "vfs"), True),
                                   ("state", "active", ("pf", "vfs"), True)]),
        force=dict(type="bool", default=False),
        planned_vfs=dict(type="dict"),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("name", "networks")],
        mutually_exclusive=[("name", "networks"), ("pf", "vfs"), ("vfs", "vf_range"),
                            ("networks", "pf"), ("networks", "vfs"), ("networks", "vf_range")],
        required_by={"pf": "name", "vfs": "name"},
        supports_check_mode=True,
    )
    run_module(module, _converge, needs_libvirt=True, lock_name="libvirt_vf_pool_network")


def _converge(module):
    params = module.params
    host = Host(run_command=module.run_command)
    with open_connection(params["uri"]) as conn:
        if params["networks"] is not None:
            items = [dict(item, force=params["force"],
                          autostart=params["autostart"] if item["autostart"] is None else item["autostart"])
                     for item in params["networks"]]
            return ensure_vf_pool_networks(conn, host, items, check_mode=module.check_mode,
                                           planned_vfs=params["planned_vfs"])
        return ensure_vf_pool_network(conn, host, params, check_mode=module.check_mode,
                                      planned_vfs=params["planned_vfs"])


if __name__ == "__main__":
    main()
