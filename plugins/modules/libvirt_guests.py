#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: libvirt_guests
short_description: List, shut down and start again the running libvirt guests of a hypervisor around a reboot
version_added: 1.1.0
description:
  - Protects running guests when a hypervisor must reboot (for example to enable the IOMMU - the
    C(virt.sriov.iommu) role uses this module before its reboot).
  - O(state=listed) reports the running guests of every URI in O(uris) and changes nothing.
  - O(state=shutdown) asks the running guests (all of them, or those in O(guests)) to shut down
    gracefully (ACPI), waits at most O(timeout) seconds, and returns in RV(stopped) exactly the
    guests that were running, so they can be started again after the reboot - not only the
    autostart ones. A guest that does not stop in time makes the module fail, naming it, and it
    keeps running; only O(on_timeout=destroy) destroys (powers off) it instead.
  - A transient guest (no persistent definition) would be gone once stopped - O(state=shutdown)
    refuses it before shutting anything down.
  - O(state=started) starts every guest of O(guests) that is not running; it tries all of them and
    fails naming those that did not start.
author:
  - Virt SR-IOV Maintainers (@virt-sriov)
options:
  state:
    description:
      - V(listed) reports the running guests (read-only).
      - V(shutdown) shuts down running guests gracefully, bounded by O(timeout).
      - V(started) starts the guests of O(guests) that are not running.
    type: str
    choices: [listed, shutdown, started]
    default: listed
  uris:
    description:
      - libvirt connection URIs to look at, as for C(virsh --connect).
      - Guests in O(guests) name their own URI; every such URI is opened as well.
    type: list
    elements: str
    default: [qemu:///system]
    aliases: [uri]
  guests:
    description:
      - The guests to shut down or start - usually RV(stopped) of an earlier O(state=shutdown).
      - Required with O(state=started). With O(state=shutdown) and no O(guests), every running
        guest of O(uris) is shut down.
    type: list
    elements: dict
    suboptions:
      name:
        description: Domain name.
        type: str
        required: true
      uri:
        description: libvirt connection URI of the domain.
        type: str
        default: qemu:///system
      uuid:
        description: Domain UUID; when given, the domain is looked up by it rather than by name.
        type: str
  timeout:
    description: Seconds to wait for the guests to shut down with O(state=shutdown).
    type: int
    default: 300
  on_timeout:
    description:
      - What O(state=shutdown) does with guests still running after O(timeout).
      - V(fail) fails, naming them; they keep running and nothing is destroyed.
      - V(destroy) destroys them (an immediate power-off, as C(virsh destroy)); their disks may
        lose unwritten data.
    type: str
    choices: [fail, destroy]
    default: fail
extends_documentation_fragment:
  - virt.sriov.attributes
  - virt.sriov.attributes.PLATFORM
attributes:
  check_mode:
    support: full
    details: Reports what would be shut down or started without doing it.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: Shutting down guests that are shut off, or starting guests that run, changes nothing.
  platform:
    support: full
    platforms: posix
requirements:
  - libvirt-python (Debian/Ubuntu package C(python3-libvirt), RHEL package C(python3-libvirt)) on the hypervisor
notes:
  - A guest without an operating system that answers ACPI (or one that ignores it) never shuts
    down gracefully; only O(on_timeout=destroy) stops it.
seealso:
  - module: virt.sriov.iommu_info
  - module: virt.sriov.kernel_cmdline
"""

EXAMPLES = r"""
- name: List the running guests
  virt.sriov.libvirt_guests:
  register: guests

- name: Shut down every running guest, at most 5 minutes
  virt.sriov.libvirt_guests:
    state: shutdown
    timeout: 300
  register: stopped

- name: Reboot
  ansible.builtin.reboot:

- name: Start again exactly the guests that were running
  virt.sriov.libvirt_guests:
    state: started
    guests: "{{ stopped.stopped }}"
"""

RETURN = r"""
running:
  description: The guests running when the module started, on every URI.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Domain name.
      type: str
    uri:
      description: libvirt connection URI.
      type: str
    uuid:
      description: Domain UUID.
      type: str
  sample: [{name: guestVM, uri: "qemu:///system", uuid: 6f1f4c62-0a4e-4b3c-9a43-6f3e3b1d2c10}]
transient:
  description: The running guests among RV(running) that have no persistent definition.
  returned: always
  type: list
  elements: dict
  sample: []
stopped:
  description:
    - With O(state=shutdown) - the guests that were running and are now shut off (destroyed ones
      included), in the shape O(guests) accepts. In check mode, the guests that would be.
  returned: when O(state=shutdown)
  type: list
  elements: dict
  sample: [{name: guestVM, uri: "qemu:///system", uuid: 6f1f4c62-0a4e-4b3c-9a43-6f3e3b1d2c10}]
destroyed:
  description: With O(state=shutdown) - the guests destroyed after O(timeout) (O(on_timeout=destroy)).
  returned: when O(state=shutdown)
  type: list
  elements: dict
  sample: []
started:
  description: With O(state=started) - the guests started (in check mode, that would be).
  returned: when O(state=started)
  type: list
  elements: dict
  sample: [{name: guestVM, uri: "qemu:///system", uuid: 6f1f4c62-0a4e-4b3c-9a43-6f3e3b1d2c10}]
already_running:
  description: With O(state=started) - the guests of O(guests) that were running already (for example autostart ones).
  returned: when O(state=started)
  type: list
  elements: dict
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._module import run_module

DEFAULT_URI = "qemu:///system"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["listed", "shutdown", "started"], default="listed"),
            uris=dict(type="list", elements="str", default=[DEFAULT_URI], aliases=["uri"]),
            guests=dict(type="list", elements="dict", options=dict(
                name=dict(type="str", required=True),
                uri=dict(type="str", default=DEFAULT_URI),
                uuid=dict(type="str"),
            )),
            timeout=dict(type="int", default=300),
            on_timeout=dict(type="str", choices=["fail", "destroy"], default="fail"),
        ),
        required_if=[("state", "started", ("guests",))],
        supports_check_mode=True,
    )
    run_module(module, _run, needs_libvirt=True,
               lock_name="libvirt_guests" if module.params["state"] != "listed" else None)


def _run(module):
    from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
    from ansible_collections.virt.sriov.plugins.module_utils import _running_guests

    params = module.params
    if params["timeout"] < 0:
        raise SriovError("Invalid timeout %d: expected 0 or more seconds." % params["timeout"])
    guests = params["guests"]
    uris = list(params["uris"])
    for guest in guests or []:
        if guest["uri"] not in uris:
            uris.append(guest["uri"])
    conns = {}
    opened = []
    try:
        for uri in uris:
            ctx = _libvirt.open_connection(uri)
            conns[uri] = ctx.__enter__()
            opened.append(ctx)
        return _act(module, _running_guests, conns, guests)
    finally:
        for ctx in reversed(opened):
            ctx.__exit__(None, None, None)


def _act(module, lg, conns, guests):
    params = module.params
    listed = dict((uri, conns[uri]) for uri in params["uris"])
    running, transient = lg.list_running(listed)
    result = {"changed": False, "running": running, "transient": transient}
    if params["state"] == "shutdown":
        result.update(lg.shutdown_guests(conns, guests=guests, timeout=params["timeout"],
                                         on_timeout=params["on_timeout"], check_mode=module.check_mode))
    elif params["state"] == "started":
        result.update(lg.start_guests(conns, guests, check_mode=module.check_mode))
    return result


if __name__ == "__main__":
    main()
