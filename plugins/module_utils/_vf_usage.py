# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Who uses a VF: libvirt domains (live and persistent XML, directly or through a hostdev
network) and hostdev networks (whose pool includes the VF).

One libvirt connection, one pass over networks and domains: linear in their number. The same
pass keeps, per domain definition that uses a VF, where its vCPUs and memory are pinned
(``placement_of``), and the index by PCI address tells which definitions name a VF that does
not exist (``missing_vf_users``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import xml.etree.ElementTree as ET

from ansible_collections.virt.sriov.plugins.module_utils._pci import pci_address_from_parts
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    predict_vf_addresses,
    validate_netdev_name,
    vf_addresses,
)
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._values import format_cpulist, parse_cpulist

VIR_DOMAIN_XML_INACTIVE = 2  # libvirt.VIR_DOMAIN_XML_INACTIVE, usable without the bindings
# libvirt error codes (virErrorNumber) of an object that went away between listing and reading
# it: VIR_ERR_NO_DOMAIN, VIR_ERR_NO_NETWORK. Usable without the bindings.
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_NO_NETWORK = 43
_VANISHED_CODES = (VIR_ERR_NO_DOMAIN, VIR_ERR_NO_NETWORK)
_VANISHED_MESSAGES = ("Domain not found", "Network not found")


def vanished(exc):
    """True when a libvirt error says the domain or network no longer exists.

    Decided by the error code (``get_error_code()`` of ``libvirt.libvirtError``); the message is
    the fallback for errors that carry no code. Any other error is not "vanished".
    """
    get_code = getattr(exc, "get_error_code", None)
    if callable(get_code):
        try:
            code = get_code()
        except Exception:  # pylint: disable=broad-except
            code = None
        if code is not None:
            return code in _VANISHED_CODES
    text = str(exc)
    return any(message in text for message in _VANISHED_MESSAGES)


def _pci_source_address(element):
    """The PciAddress of ``<source><address type='pci' .../></source>`` under element, or None."""
    address = element.find("source/address")
    if address is None or address.get("type", "pci") != "pci":
        return None
    try:
        return pci_address_from_parts(
            address.get("domain", "0"), address.get("bus"), address.get("slot"), address.get("function")
        )
    except Exception:  # malformed XML from libvirt is not ours to judge; skip it
        return None


def parse_hostdev_network(xml_text, host=None):
    """Facts of a network whose forward mode is hostdev, or None for any other network.

    Returns {name, pf, addresses[], listed[], connections}: addresses are the VFs listed in the
    XML (``listed``; the live XML of an active network lists them all), plus, when ``host`` is
    given, the VFs of the ``<pf dev=>`` read from sysfs.
    """
    root = ET.fromstring(xml_text)
    forward = root.find("forward")
    if forward is None or forward.get("mode") != "hostdev":
        return None
    pf_element = forward.find("pf")
    pf_dev = pf_element.get("dev") if pf_element is not None else None
    addresses = []
    for address in forward.findall("address"):
        if address.get("type", "pci") != "pci":
            continue
        try:
            addresses.append(pci_address_from_parts(
                address.get("domain", "0"), address.get("bus"), address.get("slot"), address.get("function")))
        except Exception:
            continue
    listed = [str(a) for a in addresses]
    if pf_dev and host is not None:
        pf_name = host.realpath_name(CLASS_NET, pf_dev, "device")
        if pf_name:
            for vf in vf_addresses(host, pf_name).values():
                if vf not in addresses:
                    addresses.append(vf)
    # libvirt writes the count on <network connections='N'> (seen with libvirt 9.0); accept it
    # on <forward> as well.
    connections = root.get("connections") or forward.get("connections")
    return {
        "name": root.findtext("name"),
        "pf": pf_dev,
        "addresses": [str(a) for a in addresses],
        "listed": listed,
        "connections": int(connections) if connections and connections.isdigit() else 0,
    }


def parse_domain_vf_references(xml_text):
    """VF references in a domain XML: list of (kind, value) where kind is 'pci' (value: the
    address string) or 'network' (value: the network name), in document order."""
    return [(kind, value) for kind, value, _interface in _domain_references(ET.fromstring(xml_text))]


def _domain_references(root):
    """(kind, value, interface) per reference of a parsed domain XML; ``interface`` is True for
    ``<interface type='hostdev'>`` (which libvirt accepts only for SR-IOV VFs)."""
    found = []
    devices = root.find("devices")
    if devices is None:
        return found
    for interface in devices.findall("interface"):
        address = _pci_source_address(interface)
        if address is not None:
            found.append(("pci", str(address), True))
            continue
        if interface.get("type") == "network":
            source = interface.find("source")
            if source is not None and source.get("network"):
                found.append(("network", source.get("network"), False))
    for hostdev in devices.findall("hostdev"):
        if hostdev.get("type") == "pci":
            address = _pci_source_address(hostdev)
            if address is not None:
                found.append(("pci", str(address), False))
    return found


def parse_domain_placement(xml_text):
    """Where a domain's vCPUs and memory are pinned: {cpus, memory_nodes}.

    ``cpus``: the host CPUs its pinned vCPUs may run on (``<cputune><vcpupin cpuset>`` per vCPU,
    ``<vcpu cpuset>`` for the others), in the kernel's list format, or None when no vCPU is
    pinned. ``memory_nodes``: the host NUMA nodes of ``<numatune><memory nodeset>`` and its
    ``<memnode nodeset>`` entries, or None. A malformed list counts as not pinned.
    """
    return _placement(ET.fromstring(xml_text))


def _placement(root):
    vcpu = root.find("vcpu")
    count = 0
    default = None
    if vcpu is not None:
        text = (vcpu.text or "").strip()
        count = int(text) if text.isdigit() else 0
        default = parse_cpulist(vcpu.get("cpuset"))
    pins = {}
    for pin in root.findall("cputune/vcpupin"):
        index = pin.get("vcpu", "")
        cpus = parse_cpulist(pin.get("cpuset"))
        if index.isdigit() and cpus is not None:
            pins[int(index)] = cpus
    cpus = set()
    for index in range(max([count] + [i + 1 for i in pins])):
        chosen = pins.get(index, default)
        if chosen:
            cpus |= chosen
    nodes = set()
    for element in [root.find("numatune/memory")] + root.findall("numatune/memnode"):
        if element is not None:
            nodes |= parse_cpulist(element.get("nodeset")) or set()
    return {"cpus": format_cpulist(cpus) or None, "memory_nodes": format_cpulist(nodes) or None}


class VfUsage(object):
    """Index of VF users built by collect_vf_usage()."""

    def __init__(self):
        self.networks = {}  # network name -> parse_hostdev_network() dict (+ active, autostart)
        self._users = {}  # address -> [user dict]
        self._network_users = {}  # network name -> [user dict]
        self._by_address = None  # address -> sorted network names, built once on first use
        self.placement = {}  # (domain uuid, config) -> parse_domain_placement() of a definition using a VF
        self.interface_addresses = set()  # addresses named by <interface type='hostdev'>: VFs only

    def add_user(self, address, user):
        users = self._users.setdefault(str(address), [])
        if user not in users:
            users.append(user)

    def add_network_user(self, network, user):
        users = self._network_users.setdefault(network, [])
        if user not in users:
            users.append(user)

    def users_of(self, address):
        """Domains that use the VF directly (by PCI address), live or in their persistent XML.

        Each user: {domain, uuid, running, live, persistent, via} with via 'hostdev' or
        'network:<name>' (a hostdev network whose live XML or whose guest shows this VF).
        """
        return list(self._users.get(str(address), []))

    def networks_of(self, address):
        """Names of the hostdev networks whose pool includes the VF (an index built once, so a
        lookup per VF costs the same whatever the number of networks and VFs)."""
        if self._by_address is None:
            index = {}
            for name, net in self.networks.items():
                for vf in net["addresses"]:
                    index.setdefault(vf, set()).add(name)
            self._by_address = dict((vf, sorted(names)) for vf, names in index.items())
        return list(self._by_address.get(str(address), ()))

    def placement_of(self, user):
        """{cpus, memory_nodes} of the definition a user entry comes from (see
        parse_domain_placement); both None when it pins nothing."""
        return dict(self.placement.get((user.get("uuid"), user.get("config")))
                    or {"cpus": None, "memory_nodes": None})

    def network_users(self, network):
        """Domains that reference a network by name (live or persistent XML)."""
        return list(self._network_users.get(network, []))

    def holders(self, address, skip_networks=()):
        """Everything that stops this VF from being removed or reassigned: direct users, plus
        active hostdev networks that include it (except ``skip_networks``). A list of short
        human descriptions."""
        result = []
        seen = set()
        for user in self.users_of(address):
            if user["domain"] in seen:
                continue
            seen.add(user["domain"])
            result.append("domain %s (%s%s)" % (
                user["domain"], "running" if user["running"] else "shut off",
                "" if user["via"] == "hostdev" else ", via " + user["via"]))
        for name in self.networks_of(address):
            if self.networks[name].get("active") and name not in skip_networks:
                result.append("active hostdev network %s" % name)
        return result

    def held_by_running_guest(self, address):
        """True when a running domain holds the VF: its live XML names the VF, or an active
        hostdev network that includes the VF has connections (a guest got a VF from it)."""
        if any(user["running"] and user["config"] == "live" for user in self.users_of(address)):
            return True
        return any(self.networks[name].get("active") and self.networks[name].get("connections")
                   for name in self.networks_of(address))

    def idle_networks_of(self, address):
        """Active hostdev networks that include the VF and have no connection (no guest): they
        can be stopped and started again around a VF count change."""
        return [name for name in self.networks_of(address)
                if self.networks[name].get("active") and not self.networks[name].get("connections")]


def _read_network(network, host):
    active = bool(network.isActive())
    facts = parse_hostdev_network(network.XMLDesc(0), host)
    if facts is None:
        return None
    facts["active"] = active
    facts["autostart"] = bool(network.autostart())
    return facts


def _read_domain(domain):
    """(name, uuid, running, [(which, xml)]) of one domain."""
    running = bool(domain.isActive())
    persistent = bool(domain.isPersistent())
    xmls = []
    if running:
        xmls.append(("live", domain.XMLDesc(0)))
    if persistent:
        xmls.append(("persistent", domain.XMLDesc(VIR_DOMAIN_XML_INACTIVE)))
    return domain.name(), domain.UUIDString(), running, xmls


def collect_vf_usage(conn, host=None):
    """Scan every network and domain of the connection once and index who uses which VF.

    A domain or network that disappears between the listing and the reading of its XML (a
    migration, an undefine at the same time) is skipped: it uses nothing any more. Any other
    libvirt error propagates, so that the caller knows the scan is incomplete.
    """
    usage = VfUsage()
    for network in conn.listAllNetworks(0):
        try:
            facts = _read_network(network, host)
        except Exception as exc:  # pylint: disable=broad-except
            if vanished(exc):
                continue
            raise
        if facts is not None:
            usage.networks[facts["name"]] = facts
    for domain in conn.listAllDomains(0):
        try:
            name, uuid, running, xmls = _read_domain(domain)
        except Exception as exc:  # pylint: disable=broad-except
            if vanished(exc):
                continue
            raise
        for which, xml_text in xmls:
            root = ET.fromstring(xml_text)
            references = _domain_references(root)
            if any(kind == "pci" for kind, _value, _interface in references):
                usage.placement[(uuid, which)] = _placement(root)
            for kind, value, interface in references:
                if interface:
                    usage.interface_addresses.add(value)
                user = {
                    "domain": name,
                    "uuid": uuid,
                    "running": running,
                    "config": which,
                    "via": "hostdev",
                }
                if kind == "network":
                    if value in usage.networks:
                        usage.add_network_user(value, dict(user, via="network:" + value))
                    continue
                usage.add_user(value, user)
    # A running guest on a hostdev network shows the VF it got as a PCI source in its live XML:
    # tag that use with the network, so messages say how the guest got the VF.
    live_by_domain = {}
    for address, users in usage._users.items():  # pylint: disable=protected-access
        for direct in users:
            if direct["config"] == "live":
                live_by_domain.setdefault(direct["domain"], []).append((address, direct))
    for name, facts in usage.networks.items():
        pool = set(facts["addresses"])
        for user in usage.network_users(name):
            if not user["running"]:
                continue
            for address, direct in live_by_domain.get(user["domain"], ()):
                if address in pool:
                    direct["via"] = "network:" + name
    return usage


def _vf_slots(host, pf_addresses):
    """{address: PF address} of every VF slot the PFs can have (up to sriov_totalvfs)."""
    slots = {}
    for pf in pf_addresses:
        total = host.read_int(PCI_DEVICES, str(pf), "sriov_totalvfs", default=0) or 0
        for address in predict_vf_addresses(host, pf, total) or ():
            slots.setdefault(address, str(pf))
    return slots


def _netdev_exists(host, name):
    try:
        validate_netdev_name(name)
    except SriovError:
        return False
    return host.exists(CLASS_NET, name)


def missing_vf_users(usage, host, pf_addresses):
    """Definitions that name a VF that does not exist now: one dict per (user, address).

    From the index by PCI address built by collect_vf_usage (one lookup per address, whatever
    the number of domains): domains whose ``<interface type='hostdev'>`` or ``<hostdev>`` names
    an address that is absent from sysfs and is a VF slot of one of ``pf_addresses`` (or was named
    by an ``<interface type='hostdev'>``, which only VFs can be); hostdev networks that list
    such an address, or whose ``<pf dev=>`` is not a network interface of the host. A missing
    ``<hostdev>`` that is no VF slot (a removed GPU) is not a VF matter and is left out.

    Each: {kind (domain or network), name, pci_address (None for a missing pf dev), pf (the PF
    whose VF slot the address is, or the missing pf dev of a network, or None), config (live
    or persistent), active (the domain runs / the network is active)}.
    """
    slots = _vf_slots(host, pf_addresses)
    found = []
    for address in sorted(usage._users):  # pylint: disable=protected-access
        if host.exists(PCI_DEVICES, address):
            continue
        if address not in slots and address not in usage.interface_addresses:
            continue
        seen = set()
        for user in usage.users_of(address):
            key = (user["domain"], user["config"])
            if key in seen:
                continue
            seen.add(key)
            found.append({"kind": "domain", "name": user["domain"], "pci_address": address,
                          "pf": slots.get(address), "config": user["config"], "active": user["running"]})
    for name in sorted(usage.networks):
        net = usage.networks[name]
        config = "live" if net.get("active") else "persistent"
        entry = {"kind": "network", "name": name, "config": config, "active": bool(net.get("active"))}
        if net.get("pf") and not _netdev_exists(host, net["pf"]):
            found.append(dict(entry, pci_address=None, pf=net["pf"]))
        for address in net.get("listed") or ():
            if not host.exists(PCI_DEVICES, address):
                found.append(dict(entry, pci_address=address, pf=slots.get(address)))
    return found
