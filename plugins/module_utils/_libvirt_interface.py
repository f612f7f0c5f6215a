# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A VF in a libvirt guest: ``<interface type='hostdev' managed='yes'>`` or an interface on a
hostdev pool network, live and/or in the persistent definition, idempotently.

Entry points: ``parse_request(params)`` validates the user's input without touching the host;
``ensure_interface(conn, host, request, check_mode)`` plans and applies. Both raise SriovError.

Facts this code relies on (seen in the lab, libvirt 9.0 / QEMU 10, see docs):
- the live XML of a running guest shows an interface of a hostdev network as
  ``<interface type='hostdev'>`` with the VF it got as source and no network name, so live
  interfaces of the network form are found by MAC;
- libvirt refuses to set a VF's MAC/VLAN while the PF is administratively down ("the PF is not
  online");
- a live detach returns before the guest released the device; a guest without an OS (no
  pciehp/ACPI hotplug driver) never releases it, so the wait is bounded and reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import time
import xml.etree.ElementTree as ET

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._mac import derive_mac, normalize_mac
from ansible_collections.virt.sriov.plugins.module_utils._pci import (
    parse_pci_address,
    pci_address_from_parts,
)
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    netdevs_of,
    read_device,
    resolve_pf,
    vf_addresses,
)
from ansible_collections.virt.sriov.plugins.module_utils._values import validate_vlan
from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage
from ansible_collections.virt.sriov.plugins.module_utils._xml import pretty_xml

# libvirt constants, usable without the bindings (and in unit tests).
VIR_DOMAIN_AFFECT_LIVE = 1
VIR_DOMAIN_AFFECT_CONFIG = 2
VIR_DOMAIN_XML_INACTIVE = 2

FLAGS = {"live": VIR_DOMAIN_AFFECT_LIVE, "config": VIR_DOMAIN_AFFECT_CONFIG}
IFF_UP = 0x1
VIRTUALPORT_TYPES = ("802.1Qbh",)
PROFILEID_MAX = 39  # libvirt: LIBVIRT_IFLA_VF_PORT_PROFILE_MAX (40) including the NUL
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_NETWORK_NAME_RE = re.compile(r"^[^/\s]{1,255}$")
POLL_INTERVAL = 0.5


# -- input ------------------------------------------------------------------------------------

def parse_vf_address(value):
    """``pci_address`` option: '0000:03:10.2' (and the other _pci spellings) or the guide's form
    as a dict {domain, bus, slot, function} with hex ('0x10') or decimal values."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"domain", "bus", "slot", "function"})
        missing = sorted({"bus", "slot", "function"} - set(value))
        if unknown or missing:
            raise SriovError(
                "Invalid pci_address %r: as a dictionary it takes the keys domain (default 0), bus, slot "
                "and function%s%s." % (
                    value,
                    "; unknown: %s" % ", ".join(unknown) if unknown else "",
                    "; missing: %s" % ", ".join(missing) if missing else ""))
        return pci_address_from_parts(value.get("domain", 0), value["bus"], value["slot"], value["function"])
    return parse_pci_address(value)


def _validate_virtualport(value):
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SriovError("Invalid virtualport %r: expected a dictionary with type and profileid." % (value,))
    vtype = value.get("type", "802.1Qbh")
    if vtype not in VIRTUALPORT_TYPES:
        raise SriovError(
            "Invalid virtualport type %r: an SR-IOV hostdev interface supports only %s."
            % (vtype, ", ".join(VIRTUALPORT_TYPES)))
    profileid = value.get("profileid")
    if not isinstance(profileid, str) or not profileid or len(profileid) > PROFILEID_MAX \
            or any(ord(c) < 0x20 or ord(c) > 0x7e for c in profileid):
        raise SriovError(
            "Invalid virtualport profileid %r: expected 1-%d printable ASCII characters (the port "
            "profile name configured on the switch)." % (profileid, PROFILEID_MAX))
    return {"type": vtype, "profileid": profileid}


def parse_request(params):
    """Validate the module parameters into a request dict. Touches neither host nor libvirt."""
    selectors = [name for name in ("pci_address", "pf", "network") if params.get(name) is not None]
    if len(selectors) != 1:
        raise SriovError(
            "Exactly one way of naming the VF is required: pci_address, pf together with vf, or "
            "network (got %s)." % (", ".join(selectors) or "none"))
    if (params.get("vf") is not None) != (params.get("pf") is not None):
        raise SriovError("Options pf and vf go together: pf names the PF, vf the index of its VF.")
    if params.get("vf") is not None and (isinstance(params["vf"], bool) or params["vf"] < 0):
        raise SriovError("Invalid vf %r: expected a VF index (0, 1, ...)." % (params["vf"],))
    vlan = validate_vlan(params.get("vlan"))
    virtualport = _validate_virtualport(params.get("virtualport"))
    if vlan is not None and virtualport is not None:
        raise SriovError(
            "Options vlan (%d) and virtualport (%s) cannot be used together: libvirt refuses to start a "
            "guest whose hostdev interface has both a VLAN tag and an 802.1Qbh port profile (set the VLAN "
            "in the port profile on the switch instead). The RHEL guide's example shows both, but such a "
            "definition does not start." % (vlan, virtualport["type"]))
    domain = params.get("domain")
    if not isinstance(domain, str) or not domain.strip():
        raise SriovError("Invalid domain %r: expected a libvirt domain name or UUID." % (domain,))
    request = {
        "domain": domain.strip(),
        "state": params.get("state") or "present",
        "scope": params.get("scope") or "auto",
        "vlan": vlan,
        "virtualport": virtualport,
        "mac": normalize_mac(params["mac"]) if params.get("mac") is not None else None,
        "network_index": params.get("network_index") or 0,
        "timeout": params.get("timeout") if params.get("timeout") is not None else 30,
        "restart_if_needed": bool(params.get("restart_if_needed")),
        "shutdown_timeout": params.get("shutdown_timeout") if params.get("shutdown_timeout") is not None else 120,
        "pci_address": None,
        "pf": None,
        "vf": None,
        "network": None,
    }
    if request["timeout"] < 0 or request["shutdown_timeout"] < 0:
        raise SriovError("Options timeout and shutdown_timeout are seconds and cannot be negative.")
    if request["restart_if_needed"] and request["scope"] == "live":
        raise SriovError("Option restart_if_needed changes the persistent definition and restarts the "
                         "guest: it cannot be combined with scope=live.")
    if params.get("pci_address") is not None:
        request["pci_address"] = parse_vf_address(params["pci_address"])
    elif params.get("pf") is not None:
        request["pf"] = params["pf"]
        request["vf"] = params["vf"]
    else:
        network = params["network"]
        if not isinstance(network, str) or not _NETWORK_NAME_RE.match(network):
            raise SriovError("Invalid network name %r: expected a libvirt network name without '/' or "
                             "white space." % (network,))
        request["network"] = network
    return request


def _planned_list(planned_vfs, pf):
    if not planned_vfs or pf not in planned_vfs:
        return None
    return [parse_pci_address(v) for v in (planned_vfs[pf] or [])]


def resolve_vf(host, request, planned_vfs=None):
    """PciAddress of the VF named by pci_address or pf+vf (None for the network form).

    ``planned_vfs`` (check mode only): PF netdev -> VF addresses an earlier stage would create;
    a VF that does not exist yet but is planned is accepted (``planned_pf`` of the request is
    then set to that PF's netdev, for the guards).
    """
    if request["network"] is not None:
        return None
    if request["pci_address"] is not None:
        address = request["pci_address"]
        if planned_vfs and not host.exists(PCI_DEVICES, str(address)):
            for pf, values in planned_vfs.items():
                if address in [parse_pci_address(v) for v in (values or [])]:
                    request["planned_pf"] = pf
        return address
    pf = request["pf"]
    try:
        pf_address = resolve_pf(host, pci_address=parse_pci_address(pf))
    except SriovError:
        if re.match(r"^(?:[0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$", str(pf).strip()):
            raise
        pf_address = resolve_pf(host, pf=pf)
    vfs = vf_addresses(host, pf_address)
    planned = _planned_list(planned_vfs, pf)
    if request["vf"] not in vfs and planned is not None and request["vf"] < len(planned):
        request["planned_pf"] = pf
        return planned[request["vf"]]
    if request["vf"] not in vfs:
        raise SriovError(
            "PF %s has no VF %d: it has %s. Create VFs first (virt.sriov.sriov_vfs)."
            % (pf, request["vf"], "VFs 0-%d" % (len(vfs) - 1) if vfs else "no VFs"),
            pf=str(pf), vf=request["vf"], numvfs=len(vfs))
    return vfs[request["vf"]]


# -- XML --------------------------------------------------------------------------------------

def _pci_of(element):
    address = element.find("source/address")
    if address is None or address.get("type", "pci") != "pci":
        return None
    try:
        return pci_address_from_parts(address.get("domain", "0"), address.get("bus"),
                                      address.get("slot"), address.get("function"))
    except SriovError:
        return None


def canonical(element):
    """Comparable facts of an ``<interface>`` element (as libvirt shows it)."""
    source = element.find("source")
    mac = element.find("mac")
    tags = [int(t.get("id")) for t in element.findall("vlan/tag") if (t.get("id") or "").isdigit()]
    vport = element.find("virtualport")
    params = vport.find("parameters") if vport is not None else None
    driver = element.find("driver")
    pci = _pci_of(element)
    return {
        "type": element.get("type"),
        "mac": mac.get("address").lower() if mac is not None and mac.get("address") else None,
        "pci_address": str(pci) if pci is not None else None,
        "network": source.get("network") if source is not None else None,
        "vlan": tags[0] if len(tags) == 1 else (tags or None),
        "virtualport": None if vport is None else {
            "type": vport.get("type"),
            "profileid": params.get("profileid") if params is not None else None,
        },
        "managed": element.get("managed") == "yes",
        "driver": driver.get("name") if driver is not None and driver.get("name") else None,
    }


def build_element(desired):
    """The ``<interface>`` element for ``desired``, the dict ensure_interface() builds: keys
    ``network`` (name or None), ``vf`` (PciAddress, hostdev form), ``mac``, ``vlan`` and
    ``virtualport`` (None when not set)."""
    if desired["network"] is not None:
        iface = ET.Element("interface", {"type": "network"})
        ET.SubElement(iface, "source", {"network": desired["network"]})
    else:
        iface = ET.Element("interface", {"type": "hostdev", "managed": "yes"})
        ET.SubElement(iface, "driver", {"name": "vfio"})
        source = ET.SubElement(iface, "source")
        ET.SubElement(source, "address", desired["vf"].libvirt_attrs())
    ET.SubElement(iface, "mac", {"address": desired["mac"]})
    if desired["vlan"] is not None:
        vlan = ET.SubElement(iface, "vlan")
        ET.SubElement(vlan, "tag", {"id": str(desired["vlan"])})
    if desired["virtualport"] is not None:
        vport = ET.SubElement(iface, "virtualport", {"type": desired["virtualport"]["type"]})
        ET.SubElement(vport, "parameters", {"profileid": desired["virtualport"]["profileid"]})
    return iface


def to_text(element):
    """Readable XML of one element (for the diff and the return value)."""
    return pretty_xml(element) + "\n"


def _interfaces(root):
    devices = root.find("devices")
    return [] if devices is None else devices.findall("interface")


# -- planning ---------------------------------------------------------------------------------

def _network_facts(conn, name, usage):
    """(facts, defaults) of hostdev network ``name``, defaults = {vlan, virtualport} as
    _network_defaults() returns them; raise if it is not one."""
    facts = usage.networks.get(name)
    if facts is None:
        names = sorted(usage.networks)
        try:
            conn.networkLookupByName(name)
            exists = True
        except Exception:  # libvirtError: no such network
            exists = False
        raise SriovError(
            "Network %r %s. Hostdev pool networks: %s." % (
                name, "is not a hostdev pool network (forward mode='hostdev')" if exists else "does not exist",
                ", ".join(names) or "none defined (virt.sriov.libvirt_vf_pool_network creates one)"),
            hostdev_networks=names)
    return facts, _network_defaults(conn, name)


def planned_network(planned_networks, name):
    """Check mode: what an earlier stage of the same run predicts for hostdev network ``name``.

    ``planned_networks`` is the ``networks`` list libvirt_vf_pool_network returned (in check
    mode: the state before the run plus the ``actions`` it would take). Returns None when the
    network is not listed, else {removed, active, autostart} after that stage.
    """
    for entry in planned_networks or []:
        if not isinstance(entry, dict) or entry.get("name") != name:
            continue
        actions = entry.get("actions") or []
        facts = entry.get("network") or {}
        return {
            "removed": "undefine" in actions,
            "active": "start" in actions or (bool(facts.get("active")) and "stop" not in actions),
            "autostart": "autostart" in actions or (bool(facts.get("autostart")) and "no_autostart" not in actions),
        }
    return None


def _pool_facts(conn, name, usage, planned_networks):
    """(facts, defaults) of the hostdev network a present interface uses; a network that does not
    exist yet but that the pool stage of the same run creates (check mode) has no VFs or defaults
    to compare with: every scope then attaches."""
    planned = planned_network(planned_networks, name)
    if planned is None:
        return _network_facts(conn, name, usage)
    if planned["removed"]:
        raise SriovError("Network %r is removed by the pool network stage of this run (state absent): an "
                         "interface cannot use it." % (name,))
    if name not in usage.networks:
        facts = {"active": planned["active"], "autostart": planned["autostart"], "addresses": [], "pf": None}
        return facts, {"vlan": None, "virtualport": None}
    facts, defaults = _network_facts(conn, name, usage)
    return dict(facts, active=planned["active"], autostart=planned["autostart"]), defaults


def _network_defaults(conn, name):
    """The VLAN and virtualport a network gives its interfaces, as in canonical()."""
    try:
        root = ET.fromstring(conn.networkLookupByName(name).XMLDesc(0))
    except Exception:  # libvirtError: the network went away meanwhile
        return {"vlan": None, "virtualport": None}
    defaults = ET.Element("interface")
    for child in ("vlan", "virtualport"):
        found = root.find(child)
        if found is not None:
            defaults.append(found)
    return canonical(defaults)


def _matches(element, desired):
    """Is ``element`` the interface this request manages?"""
    if desired["network"] is None:
        return element.get("type") in ("hostdev", "network") and _pci_of(element) == desired["vf"]
    mac = element.find("mac")
    return mac is not None and (mac.get("address") or "").lower() == desired["mac"]


def _same(existing, desired, scope, pool):
    """Does the existing interface already have the desired settings?"""
    have = canonical(existing)
    vlan, vport = desired["vlan"], desired["virtualport"]
    if desired["network"] is None:
        return (have["type"] == "hostdev" and have["mac"] == desired["mac"] and have["vlan"] == vlan
                and have["virtualport"] == vport and have["managed"] and have["driver"] in (None, "vfio"))
    if scope == "live" and pool is not None:
        # Live: libvirt shows the VF the guest got, as type hostdev, with the network's defaults merged.
        facts, defaults = pool
        effective_vlan = vlan if vlan is not None else defaults["vlan"]
        effective_vport = vport if vport is not None else defaults["virtualport"]
        return (have["pci_address"] in facts["addresses"] and have["vlan"] == effective_vlan
                and (have["virtualport"] == effective_vport or effective_vport is None))
    return (have["type"] == "network" and have["network"] == desired["network"] and have["vlan"] == vlan
            and have["virtualport"] == vport)


def _plan_scope(root, desired, state, scope, pool):
    """{action, existing} for one scope's XML. Raise on clashes with other devices of the domain."""
    existing = [iface for iface in _interfaces(root) if _matches(iface, desired)]
    if len(existing) > 1:
        raise SriovError(
            "Domain %s has %d interfaces matching %s in its %s definition; remove the duplicates by hand."
            % (desired["domain_name"], len(existing), desired["label"], scope))
    current = existing[0] if existing else None
    if state == "absent":
        return {"action": "detach" if current is not None else "none", "existing": current}
    if desired["vf"] is not None:
        devices = root.find("devices")
        for hostdev in (devices.findall("hostdev") if devices is not None else []):
            if hostdev.get("type") == "pci" and _pci_of(hostdev) == desired["vf"]:
                raise SriovError(
                    "VF %s is already assigned to domain %s as a <hostdev> device (%s definition): remove "
                    "that device first, a VF can be given to a guest only once."
                    % (desired["vf"], desired["domain_name"], scope))
    for iface in _interfaces(root):
        if iface is current:
            continue
        mac = iface.find("mac")
        if mac is not None and (mac.get("address") or "").lower() == desired["mac"]:
            raise SriovError(
                "MAC address %s is already used by another interface of domain %s (%s definition: %s). "
                "Choose another mac." % (desired["mac"], desired["domain_name"], scope,
                                         to_text(iface).replace("\n", " ").strip()),
                mac=desired["mac"])
    if current is None:
        return {"action": "attach", "existing": None}
    if _same(current, desired, scope, pool):
        return {"action": "none", "existing": current}
    return {"action": "replace", "existing": current}


def _lookup_domain(conn, name):
    try:
        if _UUID_RE.match(name):
            try:
                return conn.lookupByUUIDString(name)
            except Exception:  # libvirtError: fall back to a domain with that name
                pass
        return conn.lookupByName(name)
    except Exception:  # libvirtError: no such domain
        names = sorted(d.name() for d in conn.listAllDomains(0))
        raise SriovError("Domain %r does not exist. Defined domains: %s." % (name, ", ".join(names) or "none"),
                         domains=names)


def _scopes(dom, request, name):
    active, persistent = bool(dom.isActive()), bool(dom.isPersistent())
    scope = request["scope"]
    if request["restart_if_needed"]:
        if not persistent:
            raise SriovError("Domain %s is transient: restart_if_needed would make it disappear; only "
                             "scope=live applies to a transient domain." % name)
        return ["config"]
    if scope == "live":
        if not active and request["state"] == "present":
            raise SriovError("Domain %s is not running: scope=live cannot attach to it. Use scope=auto or "
                             "scope=config to change its persistent definition." % name)
        return ["live"] if active else []
    if scope == "config":
        if not persistent:
            raise SriovError("Domain %s is transient (it has no persistent definition): use scope=live "
                             "or scope=auto." % name)
        return ["config"]
    return [s for s, on in (("live", active), ("config", persistent)) if on]


def _xml(dom, scope):
    return ET.fromstring(dom.XMLDesc(0 if scope == "live" else VIR_DOMAIN_XML_INACTIVE))


def _pf_is_up(host, pf_name):
    """(netdev, up) of the PF at sysfs name pf_name; up is None when it has no netdev."""
    netdevs = netdevs_of(host, pf_name)
    if not netdevs:
        return None, None
    flags = host.read_int(CLASS_NET, netdevs[0], "flags")
    return netdevs[0], None if flags is None else bool(flags & IFF_UP)


def _free_root_ports(root):
    """Number of free hotplug slots of a q35 guest with only pcie-root-port controllers, or None
    when the topology is something else (libvirt then decides)."""
    devices = root.find("devices")
    if devices is None:
        return None
    controllers = [c for c in devices.findall("controller") if c.get("type") == "pci"]
    models = set(c.get("model") for c in controllers)
    if "pcie-root" not in models or not models <= {"pcie-root", "pcie-root-port"}:
        return None
    ports = set()
    for ctrl in controllers:
        target = ctrl.find("target")
        if ctrl.get("model") == "pcie-root-port" and not (target is not None and target.get("hotplug") == "off"):
            try:
                ports.add(int(ctrl.get("index")))
            except (TypeError, ValueError):
                return None
    used = set()
    for device in devices:
        address = device.find("address")  # the guest-side address only (not source/address)
        if address is not None and address.get("type") == "pci" and address.get("bus") is not None:
            try:
                used.add(int(address.get("bus"), 0))
            except ValueError:
                continue
    return len(ports - used)


def _safety(host, conn, usage, dom_uuid, name, desired, plans, warnings):
    """Refuse what would take a VF from another guest, or cannot work; warn about the rest."""
    attaching = [s for s, p in plans.items() if p["action"] in ("attach", "replace")]
    if not attaching:
        return
    if desired["vf"] is not None and desired.get("planned_pf"):
        _planned_safety(host, usage, dom_uuid, desired, attaching, warnings)
        return
    if desired["vf"] is not None:
        vf = desired["vf"]
        if not host.exists(PCI_DEVICES, str(vf)):
            raise SriovError("PCI device %s does not exist on this host: no VF has that address." % vf)
        device = read_device(host, vf)
        if not device["is_vf"]:
            if host.exists(PCI_DEVICES, str(vf), "sriov_totalvfs"):
                vfs = [str(a) for a in vf_addresses(host, vf).values()]
                raise SriovError(
                    "PCI device %s is an SR-IOV PF, not a VF: only VFs can be given to a guest this way. Its "
                    "VFs: %s." % (vf, ", ".join(vfs) or "none (create them with virt.sriov.sriov_vfs)"),
                    vfs=vfs)
            raise SriovError("PCI device %s is not an SR-IOV VF (it has no physfn link)." % vf)
        others = [u for u in usage.users_of(vf) if u["uuid"] != dom_uuid]
        if others:
            raise SriovError(
                "VF %s is already used by %s: a VF can belong to one guest only." % (vf, _describe(others)),
                users=others)
        mine = [u for u in usage.users_of(vf) if u["uuid"] == dom_uuid and u["via"].startswith("network:")]
        if mine:
            raise SriovError(
                "Domain %s already got VF %s from hostdev network %s: use that interface (network option) "
                "instead of attaching the VF directly." % (name, vf, mine[0]["via"][8:]))
        group = device["iommu_group"]
        if group is not None:
            for other in host.listdir("/sys/kernel/iommu_groups", str(group), "devices"):
                if other == str(vf):
                    continue
                users = [u for u in usage.users_of(other) if u["uuid"] != dom_uuid]
                if users:
                    raise SriovError(
                        "VF %s shares IOMMU group %d with %s, which is used by %s: devices of one IOMMU group "
                        "cannot be split between guests." % (vf, group, other, _describe(users)),
                        iommu_group=group, users=users)
        pools = usage.networks_of(vf)
        active_pools = [p for p in pools if usage.networks[p].get("active")]
        if active_pools:
            warnings.append(
                "VF %s is also in the pool of active hostdev network(s) %s: a guest of that network may be "
                "refused when libvirt picks this VF for it." % (vf, ", ".join(active_pools)))
        pf_names = [device["physfn"]]
    else:
        facts = desired["pool"][0]
        pf_names = []
        if facts.get("pf"):
            pf_path = host.realpath_name(CLASS_NET, facts["pf"], "device")
            pf_names = [pf_path] if pf_path else []
        if "live" in attaching and not facts.get("active"):
            raise SriovError(
                "Hostdev network %s is not active: a running guest can only get a VF from an active network. "
                "Start it (virt.sriov.libvirt_vf_pool_network) or use scope=config." % desired["network"])
        if "live" not in attaching and not facts.get("active") and not facts.get("autostart"):
            warnings.append("Hostdev network %s is neither active nor autostarted: domain %s will not start "
                            "until the network is started." % (desired["network"], name))
    for pf_name in pf_names:
        netdev, up = _pf_is_up(host, pf_name)
        if up is False:
            text = ("PF %s (%s) is down: libvirt sets the VF's MAC address and VLAN through the PF and refuses "
                    "while the PF is not up. Bring it up now (virt.sriov.sriov_vfs with link_up=true, or ip link "
                    "set %s up) and at every boot (virt.sriov.sriov_udev_rule with link_up=true, or the host's "
                    "network configuration)." % (netdev, pf_name, netdev))
            if "live" in attaching:
                raise SriovError(text, pf=netdev)
            warnings.append(text + " Domain %s will not start with this interface until then." % name)
    if "live" in attaching and plans["live"]["action"] == "attach":
        free = _free_root_ports(desired["xml"]["live"])
        if free == 0:
            raise SriovError(
                "Domain %s has no free PCIe slot for hotplugging the VF: add spare pcie-root-port controllers "
                "to its definition (one per device to hotplug; they take effect at the next start), or attach "
                "with scope=config and restart the guest." % name)


def _planned_safety(host, usage, dom_uuid, desired, attaching, warnings):
    """Check mode, a VF that an earlier stage would create: no sysfs facts exist yet, so only
    libvirt's users of the address are checked; the PF link is a warning (the VF stage can
    bring it up in the same run)."""
    vf = desired["vf"]
    others = [u for u in usage.users_of(vf) if u["uuid"] != dom_uuid]
    if others:
        raise SriovError(
            "VF %s is already used by %s: a VF can belong to one guest only." % (vf, _describe(others)),
            users=others)
    pf_name = host.realpath_name(CLASS_NET, desired["planned_pf"], "device")
    if pf_name:
        netdev, up = _pf_is_up(host, pf_name)
        if up is False:
            warnings.append("PF %s (%s) is down now: libvirt needs it up to attach VF %s%s." % (
                netdev, pf_name, vf, " live" if "live" in attaching else ""))


def _describe(users):
    seen, parts = set(), []
    for user in users:
        key = (user["domain"], user.get("config"))
        if key in seen:
            continue
        seen.add(key)
        parts.append("domain %s (%s, %s definition%s)" % (
            user["domain"], "running" if user["running"] else "shut off",
            "live" if user.get("config") == "live" else "persistent",
            "" if user["via"] == "hostdev" else ", via " + user["via"]))
    return ", ".join(parts)


# -- acting -----------------------------------------------------------------------------------

def _call(action, func, xml_text, flags, name):
    try:
        func(xml_text, flags)
    except SriovError:
        raise
    except Exception as exc:  # libvirtError (or anything the bindings raise)
        raise _libvirt.explain_libvirt_error(exc, action="%s on domain %s" % (action, name))


def _wait_released(dom, desired, vf, host, deadline, clock, sleep):
    """Poll the live XML (and the VF's driver) until the interface is gone; False on timeout."""
    while True:
        gone = not dom.isActive() or not any(_matches(i, desired) for i in _interfaces(_xml(dom, "live")))
        if gone and vf is not None:
            # managed='yes': libvirt gives the VF back to its host driver once QEMU released it.
            gone = host.link_name(PCI_DEVICES, str(vf), "driver") != "vfio-pci"
        if gone:
            return True
        if clock() >= deadline:
            return False
        sleep(POLL_INTERVAL)


def _signature(root, pools):
    """SR-IOV interfaces of a definition as a comparable list (for restart_if_needed)."""
    result = []
    for iface in _interfaces(root):
        have = canonical(iface)
        if have["type"] == "network":
            pool = pools.get(have["network"])
            if pool is None:
                continue
            vlan = have["vlan"] if have["vlan"] is not None else pool[1]["vlan"]
            vport = have["virtualport"] if have["virtualport"] is not None else pool[1]["virtualport"]
        elif have["type"] == "hostdev":
            vlan, vport = have["vlan"], have["virtualport"]
        else:
            continue
        result.append((have["mac"], repr(vlan), repr(vport)))
    return sorted(result)


def _describe_result(element, scope):
    if element is None:
        return None
    result = canonical(element)
    result["scope"] = scope
    result["xml"] = to_text(element)
    return result


# -- one interface: discover, plan, guard, apply, report ---------------------------------------

def discover_interface(conn, host, request, planned_vfs=None):
    """The domain, the scopes to look at, the VF and its users: {dom, name, uuid, scopes, vf, usage}."""
    dom = _lookup_domain(conn, request["domain"])
    name = dom.name()
    return {
        "dom": dom,
        "name": name,
        "uuid": dom.UUIDString(),
        "scopes": _scopes(dom, request, name),
        "vf": resolve_vf(host, request, planned_vfs),
        "usage": collect_vf_usage(conn, host),
    }


def desired_interface(conn, found, request, planned_networks=None):
    """What the interface should be: VF or network, MAC (given or derived), VLAN, port profile.
    ``planned_networks``: check mode only, see planned_network()."""
    vf, usage = found["vf"], found["usage"]
    desired = {
        "domain_name": found["name"], "vf": vf, "network": request["network"], "vlan": request["vlan"],
        "virtualport": request["virtualport"], "pool": None, "xml": {},
        "planned_pf": request.get("planned_pf"),
    }
    if request["network"] is not None:
        desired["pool"] = _pool_facts(conn, request["network"], usage, planned_networks) \
            if request["state"] == "present" \
            else (usage.networks.get(request["network"], {"addresses": []}), {"vlan": None, "virtualport": None})
        identity = "network:%s:%d" % (request["network"], request["network_index"])
        desired["label"] = "network %s" % request["network"]
    else:
        identity = str(vf)
        desired["label"] = "VF %s" % vf
    if request["mac"] is not None:
        desired["mac"], desired["mac_source"] = request["mac"], "given"
    else:
        desired["mac"], desired["mac_source"] = derive_mac(found["uuid"], identity), "derived"
    if request["network"] is not None:
        desired["label"] += " with MAC %s" % desired["mac"]
    return desired


def plan_interface(found, desired, request):
    """{scope: {action, existing}} for every scope; reads the domain's XML once per scope."""
    plans = {}
    for scope in found["scopes"]:
        desired["xml"][scope] = _xml(found["dom"], scope)
        plans[scope] = _plan_scope(desired["xml"][scope], desired, request["state"], scope, desired["pool"])
    return plans


def guard_interface(host, conn, found, desired, plans, request):
    """Refuse what would take a VF from another guest or cannot work. Return warnings."""
    warnings = []
    if request["state"] == "present":
        _safety(host, conn, found["usage"], found["uuid"], found["name"], desired, plans, warnings)
    return warnings


def needs_restart(conn, found, desired, changed, usage):
    """Offline flow: does the running guest's live set of SR-IOV interfaces differ from its
    persistent definition (after this run's changes)? Predicted from ``changed`` in check mode."""
    dom = found["dom"]
    if not dom.isActive():
        return False
    pools = dict((n, (f, _network_defaults(conn, n))) for n, f in usage.networks.items())
    return changed or _signature(_xml(dom, "live"), pools) != _signature(_xml(dom, "config"), pools)


def interface_diff(found, desired, plans, new_element):
    """--diff of one interface: its XML in each scope before and after."""
    befores, afters = [], []
    for scope in found["scopes"]:
        plan = plans[scope]
        existing = plan["existing"]
        header = "<!-- domain %s, %s definition, %s -->\n" % (found["name"], scope, desired["label"])
        befores.append(header + (to_text(existing) if existing is not None else "<!-- absent -->\n"))
        if plan["action"] == "none":
            afters.append(befores[-1])
        else:
            afters.append(header + (to_text(new_element) if new_element is not None else "<!-- absent -->\n"))
    label = "domain %s: %s" % (found["name"], desired["label"])
    return {"before": "".join(befores), "after": "".join(afters), "before_header": label, "after_header": label}


def apply_interface(host, found, desired, plans, new_element, request, clock, sleep):
    """Attach/detach/replace in each scope: config first (it never needs the guest), then live."""
    dom, name = found["dom"], found["name"]
    new_xml = ET.tostring(new_element, encoding="unicode") if new_element is not None else None
    live, config = plans.get("live"), plans.get("config")
    if live and config and live["action"] == "attach" and config["action"] == "attach":
        # The guide's --live --config in one call: libvirt keeps the config unchanged if the live part fails.
        _call("Attaching %s (live and persistent)" % desired["label"], dom.attachDeviceFlags, new_xml,
              VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG, name)
        return
    for scope in ("config", "live"):
        plan = plans.get(scope)
        if plan is None or plan["action"] == "none":
            continue
        if plan["action"] in ("detach", "replace"):
            old = ET.tostring(plan["existing"], encoding="unicode")
            _call("Detaching %s (%s)" % (desired["label"], scope), dom.detachDeviceFlags, old, FLAGS[scope], name)
            if scope == "live":
                _wait_for_release(host, found, desired, plans, request, clock, sleep)
        if plan["action"] in ("attach", "replace"):
            _call("Attaching %s (%s)" % (desired["label"], scope), dom.attachDeviceFlags, new_xml,
                  FLAGS[scope], name)


def _wait_for_release(host, found, desired, plans, request, clock, sleep):
    existing = plans["live"]["existing"]
    released_vf = _pci_of(existing)
    if existing.get("managed") != "yes":
        released_vf = None  # libvirt does not rebind an unmanaged device: nothing to wait for
    deadline = clock() + request["timeout"]
    if not _wait_released(found["dom"], desired, released_vf, host, deadline, clock, sleep):
        config = plans.get("config")
        raise SriovError(
            "Domain %s did not release %s within %d s after the unplug request%s. A guest releases a PCIe "
            "device only when its OS handles hotplug (Linux pciehp or ACPI hotplug); a guest without an OS, "
            "or still booting, never does. The request stays pending in QEMU; the device goes away when the "
            "guest acknowledges it or is shut down. Use scope=config with restart_if_needed, or shut the "
            "guest down."
            % (found["name"], desired["label"] if released_vf is None else "VF %s" % released_vf,
               request["timeout"],
               "; the persistent definition was already changed" if config and config["action"] != "none" else ""),
            changed=True, actions=dict((s, p["action"]) for s, p in plans.items()))


def report_interface(found, desired, plans, new_element, request, check_mode, restarted):
    """The result dict of one interface (the single form's keys)."""
    dom, scopes = found["dom"], found["scopes"]
    changed = any(p["action"] != "none" for p in plans.values())
    result = {
        "changed": changed or restarted,
        "domain": found["name"],
        "uuid": found["uuid"],
        "scopes": scopes,
        "actions": dict((s, p["action"]) for s, p in plans.items()),
        "mac": desired["mac"],
        "mac_source": desired["mac_source"],
        "vf": str(found["vf"]) if found["vf"] is not None else None,
        "restarted": restarted,
        "active": bool(dom.isActive()),
        "interface": None,
    }
    if request["state"] != "present":
        return result
    if check_mode:
        predicted = scopes[0] if scopes else None
        if predicted:
            keep = plans[predicted]["action"] == "none"
            result["interface"] = _describe_result(plans[predicted]["existing"] if keep else new_element, predicted)
        return result
    for scope in scopes:
        if request["restart_if_needed"] and dom.isActive():
            scope = "live"
        now = [i for i in _interfaces(_xml(dom, scope)) if _matches(i, desired)]
        if now:
            result["interface"] = _describe_result(now[0], scope)
            break
    return result


def converge_interface(conn, host, request, check_mode=False, planned_vfs=None, clock=time.monotonic,
                       sleep=time.sleep, restart=None, planned_networks=None):
    """Discover, plan, guard, apply (unless check_mode) and report one interface.

    ``restart``: None follows ``request['restart_if_needed']``; False never restarts (the
    caller decides once per domain). ``planned_vfs``/``planned_networks``: what earlier stages
    of the same run would create, used in check mode only. Returns (result, diff, warnings, found).
    """
    found = discover_interface(conn, host, request, planned_vfs if check_mode else None)
    desired = desired_interface(conn, found, request, planned_networks if check_mode else None)
    plans = plan_interface(found, desired, request)
    warnings = guard_interface(host, conn, found, desired, plans, request)
    new_element = build_element(desired) if request["state"] == "present" else None
    changed = any(p["action"] != "none" for p in plans.values())
    if restart is None:
        restart = request["restart_if_needed"] and needs_restart(conn, found, desired, changed, found["usage"])
    diff = interface_diff(found, desired, plans, new_element)
    if not check_mode:
        apply_interface(host, found, desired, plans, new_element, request, clock, sleep)
        if restart:
            _restart(found["dom"], found["name"], request["shutdown_timeout"], clock, sleep)
    result = report_interface(found, desired, plans, new_element, request, check_mode, bool(restart))
    return result, diff, warnings, found


def ensure_interface(conn, host, request, check_mode=False, clock=time.monotonic, sleep=time.sleep,
                     planned_vfs=None, planned_networks=None):
    """Plan and (unless check_mode) apply ``request`` (from parse_request). Return the result dict."""
    result, diff, warnings, _found = converge_interface(conn, host, request, check_mode=check_mode,
                                                        planned_vfs=planned_vfs, clock=clock, sleep=sleep,
                                                        planned_networks=planned_networks)
    result["diff"] = diff
    result["warnings"] = warnings
    return result


def _identity_key(host, request, planned_vfs):
    """What two entries of one run must not share: the VF (by address), or a network MAC."""
    if request["network"] is not None:
        return None
    try:
        return "VF %s" % resolve_vf(host, dict(request), planned_vfs)
    except SriovError:
        return None  # reported by the entry's own run, with its own message


def ensure_interfaces(conn, host, groups, common, check_mode=False, planned_vfs=None, clock=time.monotonic,
                      sleep=time.sleep, planned_networks=None):
    """Every interface of every domain in ``groups`` ([{domain, interfaces: [params]}]) in one run.

    ``common``: options for every entry (timeout, restart_if_needed, shutdown_timeout). Every
    entry is validated first, and a VF named twice is refused, before anything changes. Then,
    domain by domain, each interface is discovered, planned, guarded and applied; with
    ``restart_if_needed`` only persistent definitions change and each running domain whose live
    SR-IOV interfaces then differ is shut down and started once (the offline flow).
    Returns {changed, interfaces[], restarted[], diff, warnings}.
    """
    offline = bool(common.get("restart_if_needed"))
    batches = []
    for group in groups:
        requests = []
        for item in group.get("interfaces") or []:
            params = dict(common)
            params.update(dict((k, v) for k, v in item.items() if v is not None))
            params["domain"] = group.get("domain")
            if offline:
                params["scope"] = "config"
            params["restart_if_needed"] = False
            requests.append(parse_request(params))
        batches.append((group.get("domain"), requests))
    planned = planned_vfs if check_mode else None
    claimed = {}
    for domain, requests in batches:
        for request in requests:
            key = _identity_key(host, request, planned)
            if key is not None and request["state"] == "present":
                claimed.setdefault(key, []).append(domain)
    twice = ["%s (%s)" % (key, ", ".join(domains)) for key, domains in sorted(claimed.items()) if len(domains) > 1]
    if twice:
        raise SriovError("A VF can be given to one guest once; named more than once in this run: %s."
                         % "; ".join(twice), duplicates=twice)

    results, diffs, warnings, restarted = [], [], [], []
    for domain, requests in batches:
        changed_here = False
        found = None
        for request in requests:
            result, diff, warns, found = converge_interface(conn, host, request, check_mode=check_mode,
                                                            planned_vfs=planned_vfs, clock=clock, sleep=sleep,
                                                            restart=False, planned_networks=planned_networks)
            changed_here = changed_here or result["changed"]
            results.append(result)
            diffs.append(diff)
            warnings.extend(warns)
        if offline and found is not None and found["dom"].isPersistent():
            usage = collect_vf_usage(conn, host) if not check_mode else found["usage"]
            if needs_restart(conn, found, None, changed_here if check_mode else False, usage):
                if not check_mode:
                    timeout = common.get("shutdown_timeout")
                    _restart(found["dom"], found["name"], 120 if timeout is None else timeout, clock, sleep)
                restarted.append(found["name"])
                for result in results:
                    if result["domain"] == found["name"]:
                        result["restarted"] = True
                        result["changed"] = True
                        result["active"] = bool(found["dom"].isActive())
    return {
        "changed": any(r["changed"] for r in results),
        "interfaces": results,
        "restarted": restarted,
        "diff": diffs,
        "warnings": warnings,
    }


def _restart(dom, name, timeout, clock, sleep):
    """Graceful shutdown (ACPI), bounded wait, start again. Never forces the guest off."""
    try:
        dom.shutdown()
    except Exception as exc:  # libvirtError
        raise _libvirt.explain_libvirt_error(exc, action="Shutting down domain %s" % name)
    deadline = clock() + timeout
    while dom.isActive():
        if clock() >= deadline:
            raise SriovError(
                "Domain %s did not shut down within %d s (shutdown_timeout) after an ACPI shutdown request: "
                "its persistent definition holds the new interface, but the guest still runs with the old "
                "one. A guest without an OS or ACPI support never shuts down this way: stop it yourself "
                "(virsh shutdown or destroy) and start it again." % (name, timeout),
                changed=True)
        sleep(POLL_INTERVAL)
    try:
        dom.create()
    except Exception as exc:  # libvirtError
        raise _libvirt.explain_libvirt_error(exc, action="Starting domain %s after the change" % name)
