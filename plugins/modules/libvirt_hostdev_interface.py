#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_hostdev_interface
short_description: Give a libvirt guest an SR-IOV VF as a hostdev network interface
version_added: 1.0.0
author: Virt SR-IOV Maintainers (@virt-sriov)
description:
  - Attaches an SR-IOV virtual function (VF) to a libvirt domain as C(<interface type='hostdev' managed='yes'>)
    with a MAC address that survives host and guest reboots and an optional VLAN tag or 802.1Qbh port profile,
    or as an interface on a hostdev pool network (C(<interface type='network'>)), as steps 7-8 of procedure 17.8
    and procedure 17.9 of the RHEL Virtualization Deployment Guide do with C(virsh attach-device --live --config).
  - Changes the persistent definition and, when the domain is running, the live domain too; only the
    persistent definition of a stopped domain; only the live domain of a transient one (see O(scope)).
  - Idempotent. The interface is found by the VF's PCI address (O(pci_address), O(pf) with O(vf)) or by its
    MAC address (O(network)). Same settings change nothing; a different MAC address, VLAN or port profile
    replaces the interface (detach, then attach), and the diff shows both versions.
  - "Refuses, before anything changes: a VF used by another domain (running or not, directly or through a
    hostdev network), a device that is a PF or not a VF at all, a VF whose IOMMU group holds a device of another
    guest, a live attach while the PF is down (libvirt cannot set the VF's MAC address then), a hotplug into
    a guest without a free PCIe slot, and O(vlan) together with O(virtualport)."
  - Nothing else of the domain definition is changed by the module. libvirt itself adds a guest-side
    C(<address>) (and C(<alias>) in the live XML) to the interface, and may add a C(pcie-root-port)
    controller to the persistent definition of a q35 guest that has no free one.
  - "Stable MAC addresses: when O(mac) is omitted the module derives one, always the same for the same domain
    and VF: C(02:) followed by the first five bytes of
    C(sha256('virt.sriov:' + domain UUID in lower case + ':' + identity)), where identity is the VF's PCI
    address (C(0000:01:10.2), so O(pci_address) and O(pf)+O(vf) give the same MAC) or
    C(network:<name>:<network_index>) for O(network). C(02) marks a locally administered unicast address,
    recognisably derived and distinct from the C(52:54:00) addresses libvirt invents."
  - "Detaching from a running guest needs the guest's cooperation: the guest OS must handle PCIe (pciehp)
    or ACPI hotplug. The module waits up to O(timeout) seconds until libvirt removed the interface from the
    live domain and gave the VF back to its host driver, and fails with an explanation when the guest did
    not release it (a guest without an OS never does; the request stays pending until it is shut down)."
  - "Three forms: one interface (O(domain) with O(pci_address), O(pf) and O(vf), or O(network)),
    the interfaces of one domain (O(domain) with O(interfaces)), or the interfaces of every guest
    of the host (O(domains)), each in one execution. In the list forms every entry is validated,
    and a VF named twice is refused, before anything changes; then each interface is planned,
    checked and applied in turn, and with O(restart_if_needed) each running guest is shut down
    and started at most once, after all its interfaces changed."
options:
  domain:
    description:
      - Name or UUID of the libvirt domain.
      - Required unless O(domains) is given.
    type: str
  interfaces:
    description:
      - The interfaces of O(domain), in one execution. Each item takes the per-interface options
        of the single form - O(pci_address), O(pf) with O(vf), or O(network), and O(network_index),
        O(mac), O(vlan), O(virtualport), O(state), O(scope).
      - O(timeout), O(restart_if_needed), O(shutdown_timeout), O(planned_vfs), O(planned_networks) and O(uri) apply to
        every item.
    type: list
    elements: dict
    version_added: 1.1.0
  domains:
    description:
      - The interfaces of several domains, in one execution - a list of C({domain, interfaces}),
        where C(interfaces) is as O(interfaces).
      - Can be combined with O(domain) and O(interfaces); a domain given twice is refused.
    type: list
    elements: dict
    version_added: 1.1.0
  planned_vfs:
    description:
      - Used in check mode only. The VFs an earlier stage of the same run would create, as a
        dictionary of PF interface name -> list of VF PCI addresses (the role
        C(virt.sriov.sriov_vfs) sets the fact C(sriov_vfs_planned_vfs) to it).
      - A VF that does not exist yet but is listed here (by address, or by O(pf) and O(vf) as
        the position in the PF's list) is accepted, so C(--check) of a whole playbook predicts
        instead of failing on a host without VFs. For such a VF only libvirt's users of the
        address are checked; the PF link is reported as a warning.
    type: dict
    version_added: 1.1.0
  planned_networks:
    description:
      - Used in check mode only. The hostdev pool networks an earlier stage of the same run
        would create, start or remove, as the C(networks) list that
        M(virt.sriov.libvirt_vf_pool_network) returns when called with a list of networks (the
        role C(virt.sriov.vf_pool_network) registers it as C(vf_pool_network_result)).
      - An interface on a network that does not exist yet but is listed here is predicted as
        attached in every scope (libvirt picks the VF when it attaches or starts the guest), so
        C(--check) of a whole playbook predicts instead of failing. A network the stage would
        start counts as active, one it would remove is refused.
    type: list
    elements: dict
    version_added: 1.1.0
  state:
    description:
      - V(present) attaches the interface (or replaces it when its settings differ).
      - V(absent) detaches it and waits until libvirt released the VF.
    type: str
    choices: [present, absent]
    default: present
  pci_address:
    description:
      - PCI address of the VF, as C(0000:03:10.2), C(03:10.2) or C(pci_0000_03_10_2), or the guide's form as a
        dictionary with keys C(domain) (default 0), C(bus), C(slot), C(function) in hex (V(0x10)) or decimal.
      - Exactly one of O(pci_address), O(pf) (with O(vf)) or O(network) is required.
    type: raw
  pf:
    description:
      - The PF whose VF to attach, by network interface name (V(enp1s0)) or PCI address; use with O(vf).
    type: str
  vf:
    description:
      - Index of the VF on O(pf) (the N of the PF's C(virtfnN) link).
    type: int
  network:
    description:
      - Name of a hostdev pool network (C(<forward mode='hostdev'>)); libvirt picks a free VF from it when the
        guest starts or the interface is hotplugged. The interface is identified by its MAC address.
    type: str
  network_index:
    description:
      - Which of the domain's interfaces on O(network) this is (0, 1, ...). Used only to derive the MAC address
        when O(mac) is omitted, so that a guest can have several interfaces on one network.
    type: int
    default: 0
  mac:
    description:
      - Unicast MAC address of the guest interface, in any common spelling (normalised to lower case with colons).
      - When omitted, a stable address is derived from the domain UUID and the VF (see the description),
        so a re-run never invents a new one.
    type: str
  vlan:
    description:
      - One VLAN tag (0-4095) that the PF applies to the VF's traffic. Mutually exclusive with O(virtualport) -
        libvirt refuses to start a guest with both, although the guide's example shows both.
      - Omitted means no VLAN; an existing interface with a VLAN is then replaced.
    type: int
  virtualport:
    description:
      - An 802.1Qbh port profile (Cisco VM-FEX and similar switches).
    type: dict
  scope:
    description:
      - V(auto) changes the persistent definition (when the domain has one) and the live domain (when it runs),
        like C(virsh attach-device --live --config) but without failing on a stopped domain.
      - V(live) changes only the running domain (fails for O(state=present) when it is not running).
      - V(config) changes only the persistent definition; the change takes effect at the next start.
    type: str
    choices: [auto, live, config]
    default: auto
  timeout:
    description:
      - Seconds to wait for a running guest to release a detached VF (live detach or replace).
    type: int
    default: 30
  restart_if_needed:
    description:
      - Offline flow of procedure 17.9, for guests that cannot take hotplug. Only the persistent definition is
        changed; then, if the domain is running and the SR-IOV interfaces of its persistent definition differ
        from the live ones (because of this change or an earlier O(scope=config) change), the module shuts the
        guest down with an ACPI request, waits up to O(shutdown_timeout) seconds and starts it again.
      - The guest is never forced off; when it does not shut down in time the module fails and leaves it running.
      - Not for transient domains (they would disappear), and not together with O(scope=live).
      - With O(interfaces) or O(domains), every interface is changed in the persistent definition only (whatever
        its C(scope)), and each running domain is restarted at most once, after all of its interfaces.
    type: bool
    default: false
  shutdown_timeout:
    description:
      - Seconds to wait for the guest to shut down when O(restart_if_needed=true).
    type: int
    default: 120
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
  - virt.sriov._hostdev_interface
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports the actions per scope and the interface it would attach, without touching the domain.
  diff_mode:
    support: full
    details:
      - The diff shows the interface XML of each scope before and after.
  idempotent:
    support: full
  platform:
    platforms: posix
notes:
  - The PF must be up (C(ip link show) says C(UP)) for libvirt to attach a VF to a running guest; the module fails
    early saying so, and warns when it only changes the persistent definition.
  - A hostdev pool network must be active for a running guest to get a VF from it.
  - Hotplugging into a q35 guest needs a free C(pcie-root-port) controller per device.
seealso:
  - name: RHEL 7 Virtualization Deployment Guide, section 17.2 (SR-IOV)
    description: Procedures 17.8 and 17.9, which this module automates.
    link: https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/7/html/virtualization_deployment_and_administration_guide/index
  - name: libvirt domain XML, network interfaces
    description: The C(hostdev) interface type, C(<vlan>) and C(<virtualport>).
    link: https://libvirt.org/formatdomain.html#pci-passthrough
"""

EXAMPLES = r"""
- name: Give guestVM VF 1 of enp1s0 with a fixed MAC address and VLAN 42 (live and persistent)
  virt.sriov.libvirt_hostdev_interface:
    domain: guestVM
    pci_address: "0000:01:10.2"
    mac: "52:54:00:6d:90:02"
    vlan: 42

- name: The same VF in the guide's notation, MAC derived from the domain UUID and the VF
  virt.sriov.libvirt_hostdev_interface:
    domain: guestVM
    pci_address:
      domain: "0x0000"
      bus: "0x01"
      slot: "0x10"
      function: "0x2"

- name: By PF and VF index, with an 802.1Qbh port profile
  virt.sriov.libvirt_hostdev_interface:
    domain: guestVM
    pf: enp1s0
    vf: 1
    virtualport:
      type: 802.1Qbh
      profileid: finance

- name: A VF from the hostdev pool network "passthrough", persistent definition only
  virt.sriov.libvirt_hostdev_interface:
    domain: guestVM
    network: passthrough
    scope: config

- name: Guest without hotplug support - change the definition, then shut down and start it (procedure 17.9)
  virt.sriov.libvirt_hostdev_interface:
    domain: legacyVM
    pf: enp1s0
    vf: 2
    restart_if_needed: true
    shutdown_timeout: 180

- name: Every VF interface of every guest of the host in one execution
  virt.sriov.libvirt_hostdev_interface:
    domains:
      - domain: guestVM
        interfaces:
          - pci_address: "0000:01:10.2"
            mac: "52:54:00:6d:90:02"
            vlan: 42
          - network: passthrough
      - domain: legacyVM
        interfaces:
          - pf: enp1s0
            vf: 2
    restart_if_needed: true

- name: Take the VF away again (live and persistent) and wait until libvirt released it
  virt.sriov.libvirt_hostdev_interface:
    domain: guestVM
    pci_address: "0000:01:10.2"
    state: absent
"""

RETURN = r"""
interfaces:
  description:
    - With O(interfaces) or O(domains), one entry per interface in the order given (domain by domain), with
      the keys the single form returns (RV(domain), RV(uuid), RV(scopes), RV(actions), RV(mac),
      RV(mac_source), RV(vf), RV(restarted), RV(active), RV(interface)) plus C(changed).
  returned: with O(interfaces) or O(domains)
  type: list
  elements: dict
  sample:
    - domain: guestVM
      changed: true
      actions: {live: attach, config: attach}
      mac: "52:54:00:6d:90:02"
      vf: "0000:01:10.2"
restarted:
  description:
    - With O(interfaces) or O(domains), the domains that were (in check mode would be) shut down and started
      again (O(restart_if_needed)).
    - With the single form, whether the guest was shut down and started again.
  returned: success
  type: raw
  sample: [legacyVM]
domain:
  description: Name of the domain.
  returned: success
  type: str
  sample: guestVM
uuid:
  description: UUID of the domain.
  returned: success
  type: str
  sample: 5a1c0f2e-6b7d-4e8a-9c3b-2d4f6a8b0c1e
scopes:
  description: The definitions the module looked at and changed where needed (C(live), C(config)).
  returned: success
  type: list
  elements: str
  sample: [live, config]
actions:
  description: What was (or in check mode would be) done per scope - C(none), C(attach), C(detach) or C(replace).
  returned: success
  type: dict
  sample: {live: attach, config: attach}
mac:
  description: The MAC address of the interface (given or derived).
  returned: success
  type: str
  sample: "52:54:00:6d:90:02"
mac_source:
  description: C(given) when O(mac) was set, C(derived) when the module derived it.
  returned: success
  type: str
  sample: given
vf:
  description: PCI address of the VF (null for O(network), where libvirt picks the VF).
  returned: success
  type: str
  sample: "0000:01:10.2"
active:
  description: Whether the domain is running (after the change).
  returned: success
  type: bool
  sample: true
interface:
  description:
    - The interface as libvirt now shows it (live when the domain runs, else persistent); in check mode the
      interface that would be attached. Null for O(state=absent).
    - In the live XML an interface of a hostdev network shows as type C(hostdev) with the VF the guest got.
  returned: success
  type: dict
  contains:
    type:
      description: C(hostdev) or C(network).
      type: str
    mac:
      description: MAC address.
      type: str
    pci_address:
      description: The VF (host PCI address), null for a network interface in the persistent definition.
      type: str
    network:
      description: Network name for C(network) interfaces.
      type: str
    vlan:
      description: VLAN tag, or null.
      type: int
    virtualport:
      description: "C({type, profileid}) or null."
      type: dict
    managed:
      description: Whether libvirt detaches the VF from its host driver itself (C(managed='yes')).
      type: bool
    driver:
      description: Passthrough driver (C(vfio)) or null.
      type: str
    scope:
      description: Which definition this was read from (C(live) or C(config)).
      type: str
    xml:
      description: The interface XML.
      type: str
  sample:
    type: hostdev
    mac: "52:54:00:6d:90:02"
    pci_address: "0000:01:10.2"
    network: null
    vlan: 42
    virtualport: null
    managed: true
    driver: vfio
    scope: live
    xml: "<interface type=\"hostdev\" managed=\"yes\">...</interface>"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._libvirt import (
    LIBVIRT_COMMON_ARGSPEC,
    open_connection,
)
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_interface import (
    ensure_interface,
    ensure_interfaces,
    parse_request,
)

VIRTUALPORT_OPTIONS = dict(
    type=dict(type="str", choices=["802.1Qbh"], default="802.1Qbh"),
    profileid=dict(type="str", required=True),
)
# One interface: the top-level options of the single form and the items of interfaces and of each
# domains[].interfaces (documented once, in the doc fragment virt.sriov._hostdev_interface).
INTERFACE_OPTIONS = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    pci_address=dict(type="raw"),
    pf=dict(type="str"),
    vf=dict(type="int"),
    network=dict(type="str"),
    network_index=dict(type="int", default=0),
    mac=dict(type="str"),
    vlan=dict(type="int"),
    virtualport=dict(type="dict", options=VIRTUALPORT_OPTIONS),
    scope=dict(type="str", choices=["auto", "live", "config"], default="auto"),
)
INTERFACE_RULES = dict(
    required_one_of=[("pci_address", "pf", "network")],
    mutually_exclusive=[("pci_address", "pf", "network")],
    required_together=[("pf", "vf")],
)
COMMON_KEYS = ("timeout", "restart_if_needed", "shutdown_timeout")


def main():
    argument_spec = dict(
        domain=dict(type="str"),
        interfaces=dict(type="list", elements="dict", options=INTERFACE_OPTIONS, **INTERFACE_RULES),
        domains=dict(type="list", elements="dict", options=dict(
            domain=dict(type="str", required=True),
            interfaces=dict(type="list", elements="dict", options=INTERFACE_OPTIONS, required=True,
                            **INTERFACE_RULES),
        )),
        timeout=dict(type="int", default=30),
        restart_if_needed=dict(type="bool", default=False),
        shutdown_timeout=dict(type="int", default=120),
        planned_vfs=dict(type="dict"),
        planned_networks=dict(type="list", elements="dict"),
    )
    argument_spec.update(dict((k, dict(v)) for k, v in INTERFACE_OPTIONS.items()))
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("pci_address", "pf", "network", "interfaces", "domains")],
        mutually_exclusive=[("pci_address", "pf", "network", "interfaces"), ("pci_address", "pf", "network", "domains")],
        required_together=[("pf", "vf")],
        required_by={"interfaces": "domain"},
        supports_check_mode=True,
    )
    run_module(module, _converge, needs_libvirt=True, lock_name="libvirt_hostdev_interface")


def _groups(params):
    groups = []
    if params["interfaces"] is not None:
        groups.append({"domain": params["domain"], "interfaces": params["interfaces"]})
    groups.extend(params["domains"] or [])
    names = [g["domain"] for g in groups]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise SriovError("Domain(s) %s listed more than once: give all interfaces of a domain in one entry."
                         % ", ".join(twice), domains=twice)
    return groups


def _converge(module):
    params = module.params
    host = Host(run_command=module.run_command)
    if params["interfaces"] is None and params["domains"] is None:
        if params["domain"] is None:
            raise SriovError("Option domain is required with pci_address, pf or network.")
        request = parse_request(params)
        with open_connection(params["uri"]) as conn:
            return ensure_interface(conn, host, request, check_mode=module.check_mode,
                                    planned_vfs=params["planned_vfs"],
                                    planned_networks=params["planned_networks"])
    groups = _groups(params)
    common = dict((k, params[k]) for k in COMMON_KEYS)
    with open_connection(params["uri"]) as conn:
        return ensure_interfaces(conn, host, groups, common, check_mode=module.check_mode,
                                 planned_vfs=params["planned_vfs"],
                                 planned_networks=params["planned_networks"])


if __name__ == "__main__":
    main()
