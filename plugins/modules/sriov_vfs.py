#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: sriov_vfs
short_description: Set (and persist) the number of SR-IOV virtual functions of physical functions
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
  - A VF held by a running guest (in its live definition, or through an active hostdev network
    that has connections) is refused even with O(force=true) - the write of C(0) would block in
    the kernel until the guest releases it, possibly forever.
  - An active hostdev network with no connections (no guest) is not a user. The module stops it
    before the change and starts it again after, which refreshes its VF list (RV(restarted_networks));
    check mode reports it as well. A network that does not start again makes the module fail,
    naming it and libvirt's error.
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
  - "Two forms. One PF: O(pf) or O(pci_address) with O(num_vfs), O(state),
    O(drivers_autoprobe), O(link_up); it changes the running system only (persist it with
    M(virt.sriov.sriov_udev_rule)). A list: O(pfs), the whole VF stage of the host in one
    execution."
  - "With O(pfs) the module reads the host once, plans every PF, checks every guard of every PF
    before it changes anything, then sets the counts, writes or removes each PF's udev rule (the
    rule M(virt.sriov.sriov_udev_rule) writes, C(/etc/udev/rules.d/82-virt-sriov-numvfs-<PF PCI
    address>.rules)), reloads udev once, and, when at least one PF is persisted, writes the
    systemd drop-in C(50-virt-sriov.conf) that orders C(libvirtd), C(virtqemud) and
    C(virtnetworkd) after C(systemd-udev-settle.service) (libvirt autostarts guests and pool
    networks as soon as it runs; their VFs and an up PF must exist by then). Drop-ins of
    earlier releases (C(50-virt-sriov-vfs.conf), C(50-virt-sriov-vf-pool.conf)) are replaced."
  - With O(pfs), an entry may choose its PFs by hardware (O(pfs[].select)) instead of naming
    one, and a PF that carries the Ansible connection or a default route is neither changed nor
    selected unless its entry sets O(pfs[].allow_management=true) (check mode predicts the
    refusal). The one-PF form does not check for the management NIC.
  - "With O(pfs), an entry may also give per-VF settings (O(pfs[].vfs), O(pfs[].vf_defaults)):
    the same settings, checks and persistence as M(virt.sriov.sriov_vf_settings), in the same
    execution. They are planned against the count the run sets (a VF index at or above it
    fails), their guards (MAC, VLAN and driver of a VF that a guest or an active hostdev
    network uses, refused as well when the libvirt scan cannot complete; drivers the host cannot
    bind) are checked with the count guards before anything changes, and they are applied after
    the counts, then written to the PF's settings rule
    C(/etc/udev/rules.d/83-virt-sriov-vf-settings-<PF PCI address>.rules) (with O(pfs[].persist);
    V(false) removes it). udev is reloaded once for all rule files."
  - "If the driver refuses a setting after the counts were applied, the settings this run
    changed are set back (as M(virt.sriov.sriov_vf_settings) does) and the module fails naming
    the driver, the VF, the setting and the kernel's answer; the counts of this run stay as set,
    with their udev rules and drop-ins - each is complete and read back, nothing is half-done -
    and the failure says so. No settings rule is written then. Every refusal a check can tell
    (bad values, VF indexes, VFs in use, libvirt unreachable) comes before any change."
extends_documentation_fragment:
  - virt.sriov._pf_options
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
  - virt.sriov.libvirt
attributes:
  check_mode:
    support: full
    details:
      - Predicts the change, including the refusal when VFs are in use. RV(pf) then describes
        the current state and RV(numvfs_after) the predicted count.
      - With O(pfs), each entry of RV(pfs) also lists in RV(pfs[].vf_addresses) the VFs the PF
        will have; VFs the run would create are predicted from the PF's C(sriov_offset) and
        C(sriov_stride) (RV(pfs[].vf_addresses_predicted)).
      - The per-VF settings of VFs the run creates (or creates again, when the count changes)
        cannot be read yet; each of them is predicted as a change, even a value that equals the
        driver's default (for example O(pfs[].vfs[].spoofchk=true)), and a O(pfs[].vfs[].driver)
        too. Check mode cannot predict that a driver refuses a setting.
  diff_mode:
    support: full
    details:
      - Shows C(numvfs) (and C(drivers_autoprobe), the PF link when they change) before and after.
      - With O(pfs), one item per PF that changes, per rule file and per drop-in file, and per VF
        whose settings change (C(<PF> vf <N>)) with the PF's settings rule file.
  idempotent:
    support: full
options:
  pfs:
    description:
      - The PFs of the host and their VF counts, the whole VF stage in one execution; see the
        description. Mutually exclusive with O(pf) and O(pci_address); O(num_vfs), O(state),
        O(drivers_autoprobe) and O(link_up) are then ignored (each entry has its own).
      - An empty list changes nothing.
    type: list
    elements: dict
    suboptions:
      pf:
        description:
          - Network interface name of the PF. Exactly one of this, O(pfs[].pci_address) and
            O(pfs[].select).
        type: str
      pci_address:
        description:
          - PCI address of the PF. Exactly one of this, O(pfs[].pf) and O(pfs[].select).
        type: str
      select:
        description:
          - Choose the PFs by hardware instead of by name, resolved on each host in the same
            execution - for fleets whose interface names differ. Exactly one of this,
            O(pfs[].pf) and O(pfs[].pci_address).
          - Every SR-IOV capable network PF (one with C(sriov_totalvfs)) that matches all the keys
            given is chosen, and each gets the settings of this entry. At least one key is
            required.
          - An entry that chooses no PF fails, naming the selector and listing the host's SR-IOV
            PFs with their IDs and drivers. A PF chosen by two entries (two selectors, or a
            selector and O(pfs[].pf)) fails, naming both entries.
          - A selector that matches the management NIC fails (see O(pfs[].allow_management)),
            even when that PF would not change.
        type: dict
        suboptions:
          vendor_id:
            description:
              - PCI vendor ID, 1-4 hex digits with or without C(0x), any case, as a quoted
                string (V("8086"), V("0x8086")).
            type: raw
          device_id:
            description:
              - PCI device ID of the PF, as O(pfs[].select.vendor_id) (V("10c9") for the Intel
                82576).
            type: raw
          driver:
            description:
              - Name of the driver bound to the PF, for example V(igb) or V(mlx5_core).
            type: str
          netdev:
            description:
              - Shell-style glob (C(*), C(?), C([...])) on the PF's network interface name, for
                example V(ens1f*). A PF without an interface does not match.
            type: str
          pci_address:
            description:
              - Shell-style glob on the PF's PCI address in lower case, for example
                V(0000:3b:00.*). Without the domain (one C(:)), it is matched against
                C(bus:slot.function), for example V(3b:00.*).
            type: str
      allow_management:
        description:
          - A PF that carries the Ansible connection or a default route is never changed (count,
            autoprobe, link, udev rule, the settings of its VFs) and never chosen by O(pfs[].select) unless this is
            V(true); the module fails naming the entry, the PF, the interface and the reason,
            and nothing changes on the host.
          - The connection is the server address of C(SSH_CONNECTION) in the module's
            environment, looked up in C(ip -j addr show); default routes come from
            C(ip -j -4 route show table all default) and C(ip -j -6 route show table all default).
            An address or route on a VLAN, bridge, bond or macvlan interface counts for the PFs
            below it, one on a VF's interface for the VF's PF.
          - IPv6 default routes learned from router advertisements (C(proto ra)) do not count -
            the kernel adds one to any port that is up on a network with an IPv6 router, PFs
            included. Configured routes (static, DHCP, any table) do.
          - When these reads fail, the module refuses (fail closed), naming the command and its
            error. They run only when an entry without this option selects PFs or changes one.
          - When privilege escalation started the module without C(SSH_CONNECTION) (C(sudo) with
            its default C(env_reset), C(su)), the module reads it from the environment of the
            nearest process above it that has it (C(/proc/PID/environ) of C(sudo) or the login
            shell). Outside any SSH session (a local connection) only the default routes are
            checked.
        type: bool
        default: false
      num_vfs:
        description:
          - Number of VFs, from V(0) to C(sriov_totalvfs), or V(max).
          - Required with O(pfs[].state=present); ignored with O(pfs[].state=absent).
        type: raw
      state:
        description:
          - V(absent) removes every VF of the PF and its udev rule.
        type: str
        choices: [present, absent]
        default: present
      drivers_autoprobe:
        description:
          - As O(drivers_autoprobe), for this PF. With O(pfs[].persist), the PF's udev rule sets
            it too, before the count, so the VFs created at boot follow it.
        type: bool
      link_up:
        description:
          - As O(link_up), for this PF; with O(pfs[].persist) the PF's udev rule also brings the
            link up at every boot.
        type: bool
        default: true
      persist:
        description:
          - Write the PF's udev rule so that the count comes back at boot. V(false) (and a count
            of V(0)) removes the PF's rule.
        type: bool
        default: true
      match:
        description:
          - How the udev rule recognises the PF, as
            O(virt.sriov.sriov_udev_rule#module:match).
        type: str
        choices: [pci_address, mac, driver]
        default: pci_address
      vf_defaults:
        description:
          - Settings for every VF the PF has after the run, as
            O(virt.sriov.sriov_vf_settings#module:vf_defaults); entries of O(pfs[].vfs) override
            them per VF.
          - Left out together with O(pfs[].vfs), the PF's VF settings and settings rule are not
            touched. Given (or O(pfs[].vfs) given, even empty), the settings rule holds exactly
            these settings; none removes it.
        type: dict
      vfs:
        description:
          - Settings per VF, as O(virt.sriov.sriov_vf_settings#module:vfs), applied after the
            count in the same execution. With an entry that has O(pfs[].select), every PF it
            chooses gets them. Not with O(pfs[].state=absent) (an empty list is allowed and
            removes the settings rule).
        type: list
        elements: dict
        suboptions:
          vf:
            description: The VF index, V(0) for the first VF, or a range such as V(0-3).
            type: raw
            required: true
          mac:
            description:
              - Administrative MAC address of one VF, as
                O(virt.sriov.sriov_vf_settings#module:vfs[].mac). Refused on a VF in use by libvirt.
            type: str
          vlan:
            description:
              - VLAN ID (V(0) removes it), as O(virt.sriov.sriov_vf_settings#module:vfs[].vlan).
                Refused on a VF in use by libvirt.
            type: int
          qos:
            description: 802.1p priority of the VLAN tag (V(0) to V(7)); needs O(pfs[].vfs[].vlan).
            type: int
          vlan_proto:
            description: VLAN protocol; needs O(pfs[].vfs[].vlan).
            type: str
            choices: [802.1Q, 802.1ad]
          trust:
            description: Trusted VF (may change its own MAC, promiscuous and all-multicast modes).
            type: bool
          spoofchk:
            description: Spoof checking of the source MAC address of the VF's frames.
            type: bool
          max_tx_rate:
            description: Maximum transmit rate in Mbit/s; V(0) means unlimited.
            type: int
          min_tx_rate:
            description: Minimum transmit rate in Mbit/s; V(0) means none.
            type: int
          link_state:
            description: Link state of the VF.
            type: str
            choices: [auto, enable, disable]
          driver:
            description:
              - The driver of the VF, as O(virt.sriov.sriov_vf_settings#module:vfs[].driver).
            type: str
            choices: [vfio-pci, host, none]
  num_vfs:
    description:
      - Number of VFs wanted, an integer from V(0) to the PF's C(sriov_totalvfs), or V(max) for
        C(sriov_totalvfs).
      - Required with O(state=present) (one PF). Ignored (and must be omitted or V(0)) with
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
        changing it alone leaves the existing VFs as they are (the module warns), unless
        O(recreate=true).
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
      - Change the count even when the libvirt scan for VF users could not complete (then only
        VFs bound to C(vfio-pci) or C(pci-stub) are looked for), when the definition of a
        shut-off guest names a VF that the change removes, or when a VF is bound to C(vfio-pci)
        or C(pci-stub) without a running libvirt guest holding it.
      - Never lets a change remove a VF that a running guest holds (see the description).
    type: bool
    default: false
  recreate:
    description:
      - When only C(sriov_drivers_autoprobe) changes on a PF that has VFs, remove and create its
        VFs again so that they follow the new setting. This is a count change (C(0), then the
        count) and is guarded like one - refused while VFs are in use.
      - V(false) leaves the existing VFs bound as they are, with a warning.
    type: bool
    default: false
  timeout:
    description:
      - Seconds allowed for each step of a change, each with a deadline of its own - the write of
        C(0), the write of the new count, and the wait for udev and the VFs (per PF).
    type: int
    default: 60
seealso:
  - module: virt.sriov.sriov_udev_rule
  - module: virt.sriov.sriov_vf_settings
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
- name: The VF stage of a host in one execution - counts, udev rules, libvirt boot ordering
  virt.sriov.sriov_vfs:
    pfs:
      - pf: enp1s0
        num_vfs: 4
      - pci_address: "0000:02:00.0"
        num_vfs: max
        drivers_autoprobe: false
      - pf: enp3s0
        state: absent
  register: vf_stage

- name: VFs and their settings in one execution - spoof checking off on every VF, VF 3 trusted
  virt.sriov.sriov_vfs:
    pfs:
      - pf: enp1s0
        num_vfs: 4
      - pf: enp2s0
        num_vfs: max
        vf_defaults:
          spoofchk: false
        vfs:
          - vf: 3
            trust: true
          - vf: 4-5
            driver: vfio-pci

- name: Every Intel 82576 port on igb gets 4 VFs, whatever the interfaces are called
  virt.sriov.sriov_vfs:
    pfs:
      - select:
          vendor_id: "8086"
          device_id: "10c9"
          driver: igb
        num_vfs: 4

- name: VFs on the port that also carries the management network, on purpose
  virt.sriov.sriov_vfs:
    pfs:
      - select:
          netdev: "ens1f*"
          pci_address: "0000:3b:00.*"
        num_vfs: 8
        allow_management: true

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
pfs:
  description:
    - With O(pfs), one entry per PF in the order given (the PFs an O(pfs[].select) chooses in
      PCI address order, in place of their entry), with the keys RV(pf), RV(vfs),
      RV(numvfs_before), RV(numvfs_after), RV(actions) and RV(vfs_in_use) of the one-PF form,
      plus the keys below. RV(pfs[].changed) is true when the PF's count, autoprobe, link,
      rule, VF settings or settings rule changes.
  returned: with O(pfs)
  type: list
  elements: dict
  contains:
    changed:
      description: Whether anything of this PF changed (count, autoprobe, link, rule file, VF settings or their rule).
      type: bool
    entry:
      description: Index in O(pfs) of the entry that chose this PF.
      type: int
      sample: 0
    select:
      description:
        - The selector of that entry, normalised (IDs as four lower-case hex digits), or null
          when the entry named the PF by O(pfs[].pf) or O(pfs[].pci_address).
      type: dict
      sample: {device_id: "10c9", driver: igb}
    vf_addresses:
      description:
        - PCI addresses of the PF's VFs after the run, in VF index order. In check mode, the VFs
          that will exist - read from the C(virtfnN) links when the count stays, predicted when
          the run would create them.
      type: list
      elements: str
      sample: ["0000:01:10.0", "0000:01:10.2"]
    vf_addresses_predicted:
      description: Whether RV(pfs[].vf_addresses) is a prediction (check mode, VFs to be created).
      type: bool
      sample: false
    restarted_networks:
      description: Idle hostdev networks restarted around this PF's change.
      type: list
      elements: str
    rule:
      description:
        - The PF's udev rule, with the keys M(virt.sriov.sriov_udev_rule) returns (C(changed),
          C(path), C(pci_address), C(num_vfs), C(match), C(rule), C(link_up_rule), C(content),
          C(verified), C(reloaded), C(other_owners)). C(content) is null when the PF has no rule.
      type: dict
    vf_settings:
      description:
        - The PF's per-VF settings, in the shape M(virt.sriov.sriov_vf_settings) returns per PF
          (C(pf), C(pci_address), C(driver), C(numvfs) (after the run), C(changed), C(changes),
          C(vfs), C(rule_path), C(rule_changed), C(rule)); in check mode as predicted. Null
          when the entry has neither O(pfs[].vfs) nor O(pfs[].vf_defaults).
      type: dict
      sample:
        pf: enp2s0
        pci_address: "0000:02:00.0"
        driver: igb
        numvfs: 7
        changed: true
        changes: [{"vf": 3, "setting": "trust", "before": {"trust": false}, "after": {"trust": true}}]
        vfs: [{"vf": 3, "pci_address": "0000:02:10.6", "trust": true, "spoofchk": false}]
        rule_path: /etc/udev/rules.d/83-virt-sriov-vf-settings-0000:02:00.0.rules
        rule_changed: true
  sample:
    - changed: true
      entry: 0
      select: null
      numvfs_before: 0
      numvfs_after: 4
      actions: ["write 4 to sriov_numvfs", "write udev rule /etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"]
      vf_addresses: ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
      vf_addresses_predicted: false
      vfs_in_use: []
      rule: {changed: true, path: /etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules}
planned_vfs:
  description:
    - With O(pfs), each PF's VF PCI addresses after the run (in check mode, predicted for VFs the
      run would create), keyed by the PF's interface name (its PCI address when it has none);
      the C(virt.sriov.sriov_vfs) role publishes it as C(sriov_vfs_planned_vfs).
  returned: with O(pfs)
  type: dict
  sample: {"enp1s0": ["0000:01:10.0", "0000:01:10.2"], "enp2s0": []}
summary:
  description:
    - With O(pfs), human-readable lines - a header, one line per PF (counts before and after,
      change, rule file), one more per PF with VF settings, and the boot ordering drop-ins.
  returned: with O(pfs)
  type: list
  elements: str
  sample:
    - "PF                       VFs             change       udev rule"
    - "enp1s0 0000:01:00.0      0 -> 4          changed      present /etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules (changed)"
    - "libvirt boot ordering drop-ins: unchanged"
vf_settings_verified:
  description: With O(pfs), whether C(udevadm verify) checked a changed VF settings rule (systemd 254 and later).
  returned: with O(pfs)
  type: bool
  sample: false
boot_order:
  description:
    - With O(pfs), the systemd drop-ins that order libvirt's daemons after udev - whether they
      changed and the files written or removed.
  returned: with O(pfs)
  type: dict
  sample: {changed: false, files: []}
pf:
  description:
    - The PF after the change (in check mode, as it is now), in the same shape as the PFs of
      M(virt.sriov.sriov_info).
  returned: success, one PF
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
  returned: success, one PF
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
  returned: success, one PF
  type: int
  sample: 0
numvfs_after:
  description: Number of VFs after the run (in check mode, the predicted number).
  returned: success, one PF
  type: int
  sample: 4
actions:
  description: The steps the run performed (in check mode, would perform), in order.
  returned: success, one PF
  type: list
  elements: str
  sample: ["bring PF link enp1s0 up", "write 4 to sriov_numvfs"]
restarted_networks:
  description:
    - Active hostdev networks without connections that held VFs the change removes; the run
      stopped them before and started them after the change (in check mode, would). With
      O(pfs), the networks of every PF (each once), also listed per PF in RV(pfs[].restarted_networks).
  returned: success
  type: list
  elements: str
  sample: ["passthrough"]
vfs_in_use:
  description:
    - VFs in use that the change removed because O(force=true); empty otherwise. On a refusal,
      the failure carries the same list.
  returned: success, one PF
  type: list
  elements: dict
  sample: []
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module
from ansible_collections.virt.sriov.plugins.module_utils._libvirt_args import LIBVIRT_COMMON_ARGSPEC
from ansible_collections.virt.sriov.plugins.module_utils._numvfs import (
    SubprocessWriter,
    gather_usage,
    libvirt_network_control,
    manage_vfs,
)
from ansible_collections.virt.sriov.plugins.module_utils._vf_settings_spec import vfs_spec
from ansible_collections.virt.sriov.plugins.module_utils._vf_stage import manage_pfs


# One PF: the top-level options of the single form and the items of pfs.
PF_OPTIONS = dict(
    pf=dict(type="str"),
    pci_address=dict(type="str"),
    num_vfs=dict(type="raw"),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    drivers_autoprobe=dict(type="bool"),
    link_up=dict(type="bool", default=True),
)


# pfs[].select: PFs chosen by hardware on the host (_pf_select.SELECT_KEYS).
SELECT_OPTIONS = dict(
    vendor_id=dict(type="raw"),
    device_id=dict(type="raw"),
    driver=dict(type="str"),
    netdev=dict(type="str"),
    pci_address=dict(type="str"),
)


def main():
    # the single form takes the options of one pfs entry at the top level (without persist and match)
    argument_spec = dict((key, dict(spec)) for key, spec in PF_OPTIONS.items())
    argument_spec.update(
        pfs=dict(
            type="list",
            elements="dict",
            options=dict(
                PF_OPTIONS,
                persist=dict(type="bool", default=True),
                match=dict(type="str", default="pci_address", choices=["pci_address", "mac", "driver"]),
                select=dict(type="dict", options=SELECT_OPTIONS),
                allow_management=dict(type="bool", default=False),
                vf_defaults=dict(type="dict"),
                vfs=vfs_spec(),
            ),
            mutually_exclusive=[("pf", "pci_address", "select")],
            required_one_of=[("pf", "pci_address", "select")],
            required_if=[("state", "present", ("num_vfs",))],
        ),
        force=dict(type="bool", default=False),
        recreate=dict(type="bool", default=False),
        timeout=dict(type="int", default=60),
    )
    argument_spec.update(LIBVIRT_COMMON_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("pf", "pci_address", "pfs"), ("pfs", "num_vfs"), ("pfs", "drivers_autoprobe")],
        required_one_of=[("pf", "pci_address", "pfs")],
        supports_check_mode=True,
    )
    run_module(module, _converge, lock_name="sriov_vfs")


def _converge(module):
    uri = module.params["uri"]
    host = Host(run_command=module.run_command)
    common = dict(
        check_mode=module.check_mode,
        writer=SubprocessWriter(),
        usage_loader=lambda h: gather_usage(h, uri),
        network_control=libvirt_network_control(uri),
    )
    if module.params["pfs"] is not None:
        # SSH_CONNECTION names the Ansible connection for the management guard
        return manage_pfs(host, module.params, environ=dict(os.environ), **common)
    return manage_vfs(host, module.params, **common)


if __name__ == "__main__":
    main()
