# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""libvirt hostdev pool networks (RHEL Virtualization Deployment Guide, section 17.2.4).

A network ``<forward mode='hostdev' managed='yes'><pf dev='enp1s0'/></forward>`` hands each
starting guest a free VF of the PF. libvirt builds the VF list once, when the network starts:
if the PF's VF count changes afterwards the running pool is stale until the network restarts,
and a restart (or a removal) is only harmless while no guest holds a VF of it.

Entry point: ``ensure_vf_pool_network(conn, host, params, check_mode)``. It validates the
input against sysfs before touching libvirt, computes one plan (define / restart / start /
autostart / stop / undefine), refuses to restart or remove a network with connections unless
``force``, and then acts only outside check mode. Comparison is by meaning (a canonical dict),
never by XML text: UUID, the VF list libvirt expands at start, hex versus decimal and default
attributes do not count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._libvirt import explain_libvirt_error
from ansible_collections.virt.sriov.plugins.module_utils._pci import (
    parse_pci_address,
    pci_address_from_parts,
)
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    describe_pfs,
    resolve_pf,
    vf_addresses,
)
from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

# Numeric values of libvirt constants, usable without the bindings (unit tests, docs).
VIR_ERR_NO_NETWORK = 43
VIR_NETWORK_XML_INACTIVE = 1

DRIVERS = ("vfio", "kvm")
STATES = ("present", "active", "absent")

# Conservative on purpose: libvirt itself only forbids '/', but the name also becomes a file
# name (/etc/libvirt/qemu/networks/NAME.xml) and appears in guests' XML.
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}$")


# -- input ---------------------------------------------------------------------------------------

def validate_name(name):
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise SriovError(
            "Invalid network name %r: expected 1-64 characters from letters, digits, '_', '.', "
            "'+' and '-', not starting with '.', '+' or '-' (for example 'passthrough')." % (name,)
        )
    return name


def _pf_label(host, address):
    netdevs = host.listdir(PCI_DEVICES, str(address), "net")
    return "%s (%s)" % (netdevs[0], address) if netdevs else str(address)


def resolve_pool(host, pf=None, vfs=None):
    """Check the pool against sysfs. Return a dict describing it.

    ``{'pf': netdev or None, 'pf_address': PciAddress or None, 'vfs': sorted [PciAddress] or
    None, 'current_vfs': sorted [PciAddress]}``: ``current_vfs`` is what a start of the network
    would put into its pool now (the PF's VFs, or the listed addresses).
    """
    if (pf is None) == (vfs is None):
        raise SriovError("Exactly one of pf (the PF's interface name) or vfs (a list of VF PCI "
                         "addresses) is required to describe the pool.")
    if pf is not None:
        if not isinstance(pf, str) or "," in pf or " " in pf.strip():
            raise SriovError("Invalid pf %r: a hostdev pool takes exactly one PF, given by its "
                             "interface name (for example 'enp1s0')." % (pf,),
                             valid_pfs=describe_pfs(host))
        address = resolve_pf(host, pf=pf)
        current = sorted(vf_addresses(host, address).values())
        return {"pf": pf, "pf_address": address, "vfs": None, "current_vfs": current}
    if not isinstance(vfs, (list, tuple)) or not vfs:
        raise SriovError("Invalid vfs %r: expected a non-empty list of VF PCI addresses "
                         "(for example ['0000:01:10.0', '0000:01:10.2'])." % (vfs,))
    found = []
    for value in vfs:
        address = parse_pci_address(value)
        name = str(address)
        if not host.exists(PCI_DEVICES, name):
            raise SriovError(
                "VF %r (%s) does not exist on this host: create the VFs first "
                "(virt.sriov.sriov_vfs). SR-IOV capable PFs: %s."
                % (value, name, ", ".join(describe_pfs(host)) or "none found"),
                valid_pfs=describe_pfs(host))
        if host.link_name(PCI_DEVICES, name, "physfn") is None:
            what = ("a PF" if host.exists(PCI_DEVICES, name, "sriov_totalvfs")
                    else "not a virtual function")
            raise SriovError(
                "PCI device %r (%s) is %s: a hostdev pool lists only VFs. Use pf= for a whole "
                "PF's VFs. SR-IOV capable PFs: %s."
                % (value, name, what, ", ".join(describe_pfs(host)) or "none found"),
                valid_pfs=describe_pfs(host))
        if address not in found:
            found.append(address)
    found.sort()
    return {"pf": None, "pf_address": None, "vfs": found, "current_vfs": list(found)}


def require_vfs(host, pool):
    """A pool to be started must have VFs: say so in plain words otherwise."""
    if pool["pf"] is not None and not pool["current_vfs"]:
        raise SriovError(
            "No VFs on PF %s: create them first (virt.sriov.sriov_vfs or the sriov_vfs role), "
            "then start the network." % _pf_label(host, pool["pf_address"]),
            pf=pool["pf"], pf_address=str(pool["pf_address"]))


# -- XML -----------------------------------------------------------------------------------------

def _bool_attr(value):
    return (value or "no").strip().lower() == "yes"


def canonical_network(xml_text, live=False):
    """The meaning of a network XML as a dict, for comparison.

    ``vfs`` is the sorted list of VF addresses for a network defined by addresses, and None
    for a ``<pf dev=>`` pool (whose live XML lists the VFs libvirt expanded at start: see
    ``pool_addresses``). Defaults are made explicit: no ``managed`` means False, no
    ``<driver>`` means vfio (libvirt's default back end on every supported host).
    """
    root = ET.fromstring(xml_text)
    forward = root.find("forward")
    result = {
        "name": root.findtext("name"),
        "forward_mode": None,
        "managed": False,
        "driver": None,
        "pf": None,
        "vfs": None,
        "vlan": None,
    }
    if forward is not None:
        result["forward_mode"] = forward.get("mode", "nat")
        result["managed"] = _bool_attr(forward.get("managed"))
        driver = forward.find("driver")
        result["driver"] = (driver.get("name") if driver is not None and driver.get("name") else "vfio") \
            if result["forward_mode"] == "hostdev" else None
        pfs = [element.get("dev") for element in forward.findall("pf")]
        if pfs:
            result["pf"] = pfs[0] if len(pfs) == 1 else sorted(pfs)
        else:
            result["vfs"] = [str(a) for a in sorted(_forward_addresses(forward))]
    tags = []
    vlan = root.find("vlan")
    if vlan is not None:
        for tag in vlan.findall("tag"):
            try:
                tags.append(int(tag.get("id")))
            except (TypeError, ValueError):
                tags.append(tag.get("id"))
        if vlan.get("trunk") == "yes" or len(tags) > 1:
            result["vlan"] = {"trunk": True, "tags": tags}
        elif tags:
            result["vlan"] = tags[0]
    return result


def _forward_addresses(forward):
    found = []
    for address in forward.findall("address"):
        if address.get("type", "pci") != "pci":
            continue
        try:
            found.append(pci_address_from_parts(address.get("domain", "0"), address.get("bus"),
                                                address.get("slot"), address.get("function")))
        except SriovError:
            continue
    return found


def pool_addresses(xml_text):
    """VF addresses in a (live) network XML, sorted PciAddress list."""
    forward = ET.fromstring(xml_text).find("forward")
    return sorted(_forward_addresses(forward)) if forward is not None else []


def connections_of(xml_text):
    """The ``connections`` count of a live network XML (0 when absent).

    libvirt writes it on ``<network>``; older releases and hostdev pools may also carry it on
    ``<forward>`` and on each ``<address>``/``<interface>``: take the largest figure.
    """
    root = ET.fromstring(xml_text)
    counts = [root.get("connections")]
    forward = root.find("forward")
    if forward is not None:
        counts.append(forward.get("connections"))
        total = 0
        for child in list(forward):
            value = child.get("connections")
            if value and value.isdigit():
                total += int(value)
        counts.append(str(total))
    return max([int(c) for c in counts if c and c.isdigit()] or [0])


def desired_canonical(name, pool, managed, driver, vlan):
    return {
        "name": name,
        "forward_mode": "hostdev",
        "managed": bool(managed),
        "driver": driver,
        "pf": pool["pf"],
        "vfs": [str(a) for a in pool["vfs"]] if pool["vfs"] is not None else None,
        "vlan": vlan,
    }


def _indent(element, level=0):
    """Pretty-print in place (ElementTree.indent exists only from Python 3.9)."""
    pad = "\n" + "  " * level
    children = list(element)
    if children:
        if not (element.text or "").strip():
            element.text = pad + "  "
        for child in children:
            _indent(child, level + 1)
            if not (child.tail or "").strip():
                child.tail = pad + "  "
        if not (children[-1].tail or "").strip():
            children[-1].tail = pad
    elif level and not (element.tail or "").strip():
        element.tail = pad


def _strip_whitespace(root):
    for element in root.iter():
        element.tail = None
        if element.text is not None and not element.text.strip():
            element.text = None


def _serialize(root):
    _indent(root)
    return ET.tostring(root, encoding="unicode")


def build_network_xml(desired, base_xml=None, uuid=None):
    """The XML to define: ``base_xml`` (the current persistent definition, whose other
    elements such as ``<portgroup>``, ``<mtu>`` or ``<metadata>`` are kept) with ``<forward>``
    and the network-level ``<vlan>`` replaced, or a new document. Built with element APIs only.
    """
    position = None
    if base_xml is not None:
        root = ET.fromstring(base_xml)
        kept = 0
        for child in list(root):
            if child.tag == "forward" and position is None:
                position = kept
            if child.tag in ("forward", "vlan", "bridge", "ip", "dns", "domain", "mac"):
                # bridge/ip/dns/domain/mac are refused by libvirt in a hostdev network.
                root.remove(child)
            else:
                kept += 1
    else:
        root = ET.Element("network")
        ET.SubElement(root, "name").text = desired["name"]
    if uuid and root.find("uuid") is None:
        element = ET.Element("uuid")
        element.text = uuid
        root.insert(1, element)
    if position is None or position > len(root):
        position = min(len(root), 2)
    forward = ET.Element("forward", {"mode": "hostdev"})
    root.insert(position, forward)
    if desired["managed"]:
        forward.set("managed", "yes")
    ET.SubElement(forward, "driver", {"name": desired["driver"]})
    if desired["pf"] is not None:
        ET.SubElement(forward, "pf", {"dev": desired["pf"]})
    else:
        for value in desired["vfs"]:
            ET.SubElement(forward, "address", parse_pci_address(value).libvirt_attrs())
    if desired["vlan"] is not None:
        vlan = ET.Element("vlan")
        ET.SubElement(vlan, "tag", {"id": str(desired["vlan"])})
        root.insert(position + 1, vlan)
    _strip_whitespace(root)
    return _serialize(root)


def pretty(xml_text):
    """Re-serialise libvirt's XML the way build_network_xml does, for a clean diff."""
    if xml_text is None:
        return None
    root = ET.fromstring(xml_text)
    _strip_whitespace(root)
    return _serialize(root)


# -- libvirt -------------------------------------------------------------------------------------

def _error_code(exc):
    getter = getattr(exc, "get_error_code", None)
    return getter() if getter is not None else None


def lookup_network(conn, name):
    """The virNetwork named ``name`` or None."""
    try:
        return conn.networkLookupByName(name)
    except Exception as exc:  # libvirt.libvirtError; the class may be absent in tests
        if _error_code(exc) == VIR_ERR_NO_NETWORK:
            return None
        raise explain_libvirt_error(exc, "Looking up network %s" % name)


def persistent_xml(network):
    """The persistent definition of a network (the live XML for a transient one).

    libvirt's test driver rejects VIR_NETWORK_XML_INACTIVE: the plain XML is the definition
    there (and for any inactive network).
    """
    if network.isActive() and network.isPersistent():
        try:
            return network.XMLDesc(VIR_NETWORK_XML_INACTIVE)
        except Exception:  # unsupported flag (test driver): fall back to the plain XML
            pass
    return network.XMLDesc(0)


def network_facts(network):
    """What the module returns about a network: from its live XML."""
    if network is None:
        return {"exists": False, "active": False, "autostart": False, "persistent": False,
                "connections": 0, "vfs": [], "name": None, "uuid": None, "pf": None,
                "vlan": None, "managed": None, "driver": None, "xml": None}
    active = bool(network.isActive())
    xml_text = network.XMLDesc(0)
    canon = canonical_network(xml_text)
    return {
        "exists": True,
        "name": network.name(),
        "uuid": network.UUIDString(),
        "active": active,
        "autostart": bool(network.autostart()),
        "persistent": bool(network.isPersistent()),
        "connections": connections_of(xml_text) if active else 0,
        "vfs": [str(a) for a in pool_addresses(xml_text)] if active else (canon["vfs"] or []),
        "pf": canon["pf"],
        "vlan": canon["vlan"],
        "managed": canon["managed"],
        "driver": canon["driver"],
        "forward_mode": canon["forward_mode"],
        "xml": xml_text,
    }


def _holders(conn, host, name, live_xml):
    """Running guests that hold VFs of network ``name`` (names and VFs), for refusals."""
    usage = collect_vf_usage(conn, host)
    vf_of = {}
    for address in pool_addresses(live_xml) if live_xml else []:
        for user in usage.users_of(address):
            if user["running"]:
                vf_of.setdefault(user["domain"], []).append(str(address))
    guests = []
    for user in usage.network_users(name):
        if user["running"] and user["domain"] not in [g["domain"] for g in guests]:
            guests.append({"domain": user["domain"], "vfs": sorted(vf_of.get(user["domain"], []))})
    for domain, vfs in sorted(vf_of.items()):
        if domain not in [g["domain"] for g in guests]:
            guests.append({"domain": domain, "vfs": sorted(vfs)})
    return guests


def _describe_guests(guests):
    parts = []
    for guest in guests:
        if guest["vfs"]:
            parts.append("%s (VF %s)" % (guest["domain"], ", ".join(guest["vfs"])))
        else:
            parts.append(guest["domain"])
    return ", ".join(parts)


# -- plan and apply ------------------------------------------------------------------------------

def ensure_vf_pool_network(conn, host, params, check_mode=False):
    """Make network ``params['name']`` match ``params``. Return the module result dict.

    ``params``: name, pf | vfs, managed, driver, vlan, state, autostart (None: leave), force.
    """
    name = validate_name(params["name"])
    state = params.get("state") or "active"
    if state not in STATES:
        raise SriovError("Invalid state %r: expected one of %s." % (state, ", ".join(STATES)))
    force = bool(params.get("force"))
    autostart = params.get("autostart")
    vlan = params.get("vlan")
    if vlan is not None and (isinstance(vlan, bool) or not isinstance(vlan, int) or not 0 <= vlan <= 4095):
        raise SriovError("Invalid vlan %r: expected a VLAN tag from 0 to 4095." % (vlan,))
    driver = params.get("driver") or "vfio"
    if driver not in DRIVERS:
        raise SriovError("Invalid driver %r: expected one of %s." % (driver, ", ".join(DRIVERS)))
    managed = True if params.get("managed") is None else bool(params.get("managed"))

    pool = desired = None
    if state != "absent":
        # Everything about the input is checked before libvirt is touched.
        pool = resolve_pool(host, pf=params.get("pf"), vfs=params.get("vfs"))
        desired = desired_canonical(name, pool, managed, driver, vlan)
        if state == "active":
            require_vfs(host, pool)

    network = lookup_network(conn, name)
    before = network_facts(network)
    current_def = persistent_xml(network) if network is not None else None
    live_xml = before["xml"] if before["active"] else None

    actions = []
    tracker = ChangeTracker()
    reasons = []
    if state == "absent":
        if network is not None:
            if before["active"]:
                actions.append("stop")
            if before["persistent"]:
                actions.append("undefine")
        after_def = None
        after_active = False
        after_autostart = False
    else:
        current = canonical_network(current_def) if current_def is not None else None
        if current is not None and current["forward_mode"] != "hostdev":
            raise SriovError(
                "Network %r exists with forward mode %r: it is not a hostdev pool. Choose "
                "another name, or remove that network first (state=absent)."
                % (name, current["forward_mode"]), forward_mode=current["forward_mode"])
        needs_define = current != desired or not before["persistent"]
        restart = False
        if before["active"]:
            live = canonical_network(live_xml)
            if pool["pf"] is not None:
                live["vfs"] = None  # the expanded list is judged below, as staleness
            if live != desired:
                restart = True
                reasons.append("the running network has another definition")
            if pool["pf"] is not None:
                # libvirt lists the VFs of a running <pf> pool (it refuses to start one without
                # VFs); a driver that lists none (libvirt's test driver) cannot be judged stale.
                running_pool = pool_addresses(live_xml)
                if running_pool and running_pool != pool["current_vfs"]:
                    restart = True
                    reasons.append(
                        "the running pool is stale: it holds %d VF(s) (%s) but PF %s now has %d (%s)"
                        % (len(running_pool), ", ".join(str(a) for a in running_pool) or "none",
                           pool["pf"], len(pool["current_vfs"]),
                           ", ".join(str(a) for a in pool["current_vfs"]) or "none"))
        if restart:
            require_vfs(host, pool)
            actions.append("stop")
        if needs_define:
            actions.append("define")
        if restart:
            actions.append("start")
        elif state == "active" and not before["active"]:
            actions.append("start")
        after_active = before["active"] or state == "active"
        after_autostart = before["autostart"] if autostart is None else bool(autostart)
        if after_autostart != before["autostart"]:
            actions.append("autostart" if after_autostart else "no_autostart")
        after_def = build_network_xml(desired, base_xml=current_def, uuid=before["uuid"]) \
            if needs_define else pretty(current_def)

    # Never pull a VF from under a running guest: a stop with connections needs force.
    if "stop" in actions:
        guests = _holders(conn, host, name, live_xml)
        busy = before["connections"] or len(guests)
        if busy:
            why = "remove it" if state == "absent" else "restart it (%s)" % "; ".join(reasons)
            msg = ("Network %s is in use: %d connection(s)%s. Refusing to %s while guests hold "
                   "its VFs: shut them down (or move them off the network) and run again, or "
                   "set force=true to do it anyway."
                   % (name, before["connections"],
                      "; guests holding VFs: " + _describe_guests(guests) if guests else "", why))
            if not force:
                raise SriovError(msg, connections=before["connections"], guests=guests,
                                 network=_public(before), reasons=reasons)

    tracker.add_file("network %s" % name, pretty(current_def), after_def)
    tracker.add("active", before["active"], after_active)
    tracker.add("autostart", before["autostart"], after_autostart)
    if before["active"] or after_active:
        pool_before = before["vfs"] if before["active"] else []
        if after_active and ("start" in actions):
            pool_after = [str(a) for a in pool["current_vfs"]]
        elif after_active:
            pool_after = pool_before
        else:
            pool_after = []
        tracker.add("vfs", pool_before, pool_after)

    warnings = []
    if pool is not None and pool["pf"] is not None:
        operstate = host.read(CLASS_NET, pool["pf"], "operstate")
        if operstate == "down":
            warnings.append("PF %s is down: guests on network %s will fail to start (libvirt: "
                            "'the PF is not online') until its link is up." % (pool["pf"], name))
    if "stop" in actions and state != "absent" and before["connections"]:
        warnings.append("Network %s was restarted with force while %d guest connection(s) were "
                        "open: those guests keep their VFs, but libvirt no longer accounts for "
                        "them in the new pool." % (name, before["connections"]))
    if not check_mode and actions:
        _apply(conn, name, actions, after_def, network)
        network = lookup_network(conn, name)
    result = {
        "changed": bool(actions),
        "actions": actions,
        "network": _public(network_facts(network) if not check_mode else before),
    }
    if reasons:
        result["reasons"] = reasons
    if warnings:
        result["warnings"] = warnings
    result["diff"] = tracker.diff()
    return result


def _public(facts):
    return dict(facts)


def _apply(conn, name, actions, xml_text, network):
    """Carry out the plan. Stop comes before define, so the new definition is the one started
    (and libvirt's test driver, which loses a definition made while running, behaves too)."""
    step = None
    try:
        if "stop" in actions:
            step = "Stopping network %s" % name
            network.destroy()
        if "undefine" in actions:
            step = "Removing network %s" % name
            network.undefine()
            return
        if "define" in actions:
            step = "Defining network %s" % name
            try:
                network = conn.networkDefineXML(xml_text)
            except Exception:
                if "stop" in actions and network is not None:
                    try:  # put the old pool back rather than leave the guests' network down
                        network.create()
                    except Exception:
                        pass
                raise
        if "start" in actions:
            step = "Starting network %s" % name
            network.create()
        if "autostart" in actions or "no_autostart" in actions:
            step = "Setting autostart of network %s" % name
            network.setAutostart(1 if "autostart" in actions else 0)
    except SriovError:
        raise
    except Exception as exc:  # libvirt.libvirtError
        raise explain_libvirt_error(exc, step)
