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
from ansible_collections.virt.sriov.plugins.module_utils._host import find_binary
from ansible_collections.virt.sriov.plugins.module_utils._pci import (
    parse_pci_address,
    pci_address_from_parts,
)
from ansible_collections.virt.sriov.plugins.module_utils._pool_vf_settings import (
    apply_pool_settings,
    normalize_pool_settings,
    plan_pool_settings,
    report_pool_settings,
    undo_pool_settings,
    verify_rule_text,
    write_pool_rules,
)
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    describe_pfs,
    resolve_pf,
    vf_addresses,
)
from ansible_collections.virt.sriov.plugins.module_utils._systemd import (
    apply_boot_order,
    boot_order_diff,
    plan_boot_order,
)
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label, validate_vlan
from ansible_collections.virt.sriov.plugins.module_utils._xml import pretty_xml

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


def _planned_addresses(planned_vfs, pf=None):
    """VF addresses the VF stage would create (check mode): of one PF netdev, or of all."""
    if not planned_vfs:
        return None if pf is not None else []
    if not isinstance(planned_vfs, dict):
        raise SriovError("Invalid planned_vfs %r: expected a dictionary of PF interface name -> list of VF "
                         "PCI addresses." % (planned_vfs,))
    if pf is not None:
        if pf not in planned_vfs:
            return None
        values = planned_vfs[pf] or []
    else:
        values = [v for vs in planned_vfs.values() for v in (vs or [])]
    if not isinstance(values, (list, tuple)):
        raise SriovError("Invalid planned_vfs entry %r: expected a list of VF PCI addresses." % (values,))
    return sorted(set(parse_pci_address(v) for v in values))


def parse_vf_range(value):
    """``vf_range`` '2-5' (or '3') -> (first, last) VF indexes, or None."""
    if value is None:
        return None
    match = re.match(r"^\s*(\d{1,4})\s*(?:-\s*(\d{1,4})\s*)?$", str(value)) if not isinstance(value, bool) else None
    if match is None or (match.group(2) is not None and int(match.group(2)) < int(match.group(1))):
        raise SriovError("Invalid vf_range %r: expected a VF index or an ascending range of VF indexes such "
                         "as '2-5'." % (value,))
    first = int(match.group(1))
    return first, int(match.group(2)) if match.group(2) is not None else first


def resolve_pool(host, pf=None, vfs=None, planned_vfs=None, vf_range=None):
    """Check the pool against sysfs. Return a dict describing it.

    ``{'pf': netdev or None, 'pf_address': PciAddress or None, 'vfs': sorted [PciAddress] or
    None, 'current_vfs': sorted [PciAddress]}``: ``current_vfs`` is what a start of the network
    would put into its pool now (the PF's VFs, or the listed addresses).

    ``planned_vfs`` (check mode only): PF netdev -> VF addresses the VF stage would create; a
    PF listed there is judged by those VFs, and listed addresses among them need not exist yet.
    ``vf_range`` with ``pf``: the pool is the PF's VFs with those indexes, as a list of
    addresses (libvirt takes either ``<pf dev>`` or addresses, never both).
    """
    if (pf is None) == (vfs is None):
        raise SriovError("Exactly one of pf (the PF's interface name) or vfs (a list of VF PCI "
                         "addresses) is required to describe the pool.")
    if vf_range is not None and pf is None:
        raise SriovError("Option vf_range selects VFs of a PF: it needs pf (not vfs).")
    if pf is not None:
        if not isinstance(pf, str) or "," in pf or " " in pf.strip():
            raise SriovError("Invalid pf %r: a hostdev pool takes exactly one PF, given by its "
                             "interface name (for example 'enp1s0')." % (pf,),
                             valid_pfs=describe_pfs(host))
        address = resolve_pf(host, pf=pf)
        by_index = vf_addresses(host, address)
        planned = _planned_addresses(planned_vfs, pf)
        if planned is not None:
            by_index = dict(enumerate(planned))
        current = sorted(by_index.values())
        if vf_range is None:
            return {"pf": pf, "pf_address": address, "vfs": None, "current_vfs": current}
        first, last = parse_vf_range(vf_range)
        missing = [i for i in range(first, last + 1) if i not in by_index]
        if missing:
            raise SriovError(
                "vf_range %s of PF %s names VF(s) %s, which do not exist: the PF has %s. Create the VFs "
                "first (virt.sriov.sriov_vfs)." % (vf_range, pf_label({"pci_address": address, "netdev": pf}),
                                                   ", ".join(str(i) for i in missing),
                                                   "VFs 0-%d" % (len(by_index) - 1) if by_index else "no VFs"),
                pf=pf, vf_range=str(vf_range))
        chosen = sorted(by_index[i] for i in range(first, last + 1))
        return {"pf": None, "pf_address": address, "vfs": chosen, "current_vfs": list(chosen),
                "range_of": pf, "vf_range": "%d-%d" % (first, last)}
    if not isinstance(vfs, (list, tuple)) or not vfs:
        raise SriovError("Invalid vfs %r: expected a non-empty list of VF PCI addresses "
                         "(for example ['0000:01:10.0', '0000:01:10.2'])." % (vfs,))
    planned = _planned_addresses(planned_vfs)
    found = []
    for value in vfs:
        address = parse_pci_address(value)
        name = str(address)
        if address in planned and not host.exists(PCI_DEVICES, name):
            found.append(address)  # check mode: the VF stage would create it
            continue
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
    found = sorted(set(found))
    return {"pf": None, "pf_address": None, "vfs": found, "current_vfs": list(found)}


def require_vfs(host, pool):
    """A pool to be started must have VFs: say so in plain words otherwise."""
    if pool["pf"] is not None and not pool["current_vfs"]:
        raise SriovError(
            "No VFs on PF %s: create them first (virt.sriov.sriov_vfs or the sriov_vfs role), "
            "then start the network." % pf_label({"pci_address": pool["pf_address"], "netdev": pool["pf"]}),
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
    return pretty_xml(root)


def pretty(xml_text):
    """Re-serialise libvirt's XML the way build_network_xml does, for a clean diff."""
    return pretty_xml(xml_text)


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


def _holders(usage, name, live_xml):
    """Running guests that hold VFs of network ``name`` (names and VFs), for refusals."""
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


def _persistent_users(usage, name):
    """Domains whose persistent definition says <source network='name'/>: they fail at their
    next start once the network is gone. Sorted names."""
    return sorted(set(u["domain"] for u in usage.network_users(name) if u.get("config") == "persistent"))


def _describe_guests(guests):
    parts = []
    for guest in guests:
        if guest["vfs"]:
            parts.append("%s (VF %s)" % (guest["domain"], ", ".join(guest["vfs"])))
        else:
            parts.append(guest["domain"])
    return ", ".join(parts)


# -- one network: parse, discover, plan, guard, apply, report ----------------------------------

def parse_network(params):
    """Validate one network's options (no host, no libvirt). Return the spec dict."""
    name = validate_name(params.get("name"))
    state = params.get("state") or "active"
    if state not in STATES:
        raise SriovError("Invalid state %r for network %s: expected one of %s."
                         % (state, name, ", ".join(STATES)))
    driver = params.get("driver") or "vfio"
    if driver not in DRIVERS:
        raise SriovError("Invalid driver %r for network %s: expected one of %s."
                         % (driver, name, ", ".join(DRIVERS)))
    if params.get("vf_range") is not None:
        parse_vf_range(params["vf_range"])
    return {
        "name": name,
        "state": state,
        "force": bool(params.get("force")),
        "autostart": params.get("autostart"),
        "vlan": validate_vlan(params.get("vlan")),
        "driver": driver,
        "managed": True if params.get("managed") is None else bool(params.get("managed")),
        "pf": params.get("pf"),
        "vfs": params.get("vfs"),
        "vf_range": params.get("vf_range"),
        "vf_settings": normalize_pool_settings(params.get("vf_settings"), name),
    }


def resolve_network_pool(host, spec, planned_vfs=None):
    """The pool of a network to keep (None for state=absent), checked against sysfs."""
    if spec["state"] == "absent":
        return None
    pool = resolve_pool(host, pf=spec["pf"], vfs=spec["vfs"], planned_vfs=planned_vfs,
                        vf_range=spec["vf_range"])
    if spec["state"] == "active":
        require_vfs(host, pool)
    return pool


def discover_network(conn, name):
    """What libvirt has now: {network, facts, definition, live_xml}."""
    network = lookup_network(conn, name)
    facts = network_facts(network)
    return {
        "network": network,
        "facts": facts,
        "definition": persistent_xml(network) if network is not None else None,
        "live_xml": facts["xml"] if facts["active"] else None,
    }


def _restart_reasons(pool, desired, current):
    """Why a running network must be restarted (empty when it need not)."""
    reasons = []
    live = canonical_network(current["live_xml"])
    if pool["pf"] is not None:
        live["vfs"] = None  # the expanded list is judged below, as staleness
    if live != desired:
        reasons.append("the running network has another definition")
    if pool["pf"] is not None:
        # libvirt lists the VFs of a running <pf> pool (it refuses to start one without VFs); a
        # driver that lists none (libvirt's test driver) cannot be judged stale.
        running_pool = pool_addresses(current["live_xml"])
        if running_pool and running_pool != pool["current_vfs"]:
            reasons.append(
                "the running pool is stale: it holds %d VF(s) (%s) but PF %s now has %d (%s)"
                % (len(running_pool), ", ".join(str(a) for a in running_pool) or "none",
                   pool["pf"], len(pool["current_vfs"]),
                   ", ".join(str(a) for a in pool["current_vfs"]) or "none"))
    return reasons


def plan_network(spec, pool, current):
    """Decide the actions for one network. Return the plan dict (nothing is touched)."""
    before = current["facts"]
    plan = {"actions": [], "reasons": [], "after_def": None, "after_active": False,
            "after_autostart": False, "pool_before": before["vfs"] if before["active"] else [],
            "pool_after": []}
    if spec["state"] == "absent":
        if current["network"] is not None:
            if before["active"]:
                plan["actions"].append("stop")
            if before["persistent"]:
                plan["actions"].append("undefine")
        return plan
    desired = desired_canonical(spec["name"], pool, spec["managed"], spec["driver"], spec["vlan"])
    existing = canonical_network(current["definition"]) if current["definition"] is not None else None
    if existing is not None and existing["forward_mode"] != "hostdev":
        raise SriovError(
            "Network %r exists with forward mode %r: it is not a hostdev pool. Choose another name, "
            "or remove that network first (state=absent)." % (spec["name"], existing["forward_mode"]),
            forward_mode=existing["forward_mode"])
    needs_define = existing != desired or not before["persistent"]
    plan["reasons"] = _restart_reasons(pool, desired, current) if before["active"] else []
    if plan["reasons"]:
        plan["actions"].append("stop")
    if needs_define:
        plan["actions"].append("define")
    if plan["reasons"] or (spec["state"] == "active" and not before["active"]):
        plan["actions"].append("start")
    plan["after_active"] = before["active"] or spec["state"] == "active"
    plan["after_autostart"] = before["autostart"] if spec["autostart"] is None else bool(spec["autostart"])
    if plan["after_autostart"] != before["autostart"]:
        plan["actions"].append("autostart" if plan["after_autostart"] else "no_autostart")
    plan["after_def"] = build_network_xml(desired, base_xml=current["definition"], uuid=before["uuid"]) \
        if needs_define else pretty(current["definition"])
    if plan["after_active"]:
        plan["pool_after"] = [str(a) for a in pool["current_vfs"]] if "start" in plan["actions"] \
            else plan["pool_before"]
    return plan


def guard_network(usage, host, spec, pool, plan, current):
    """Refuse what would harm a guest (unless force). Return warnings."""
    name, before = spec["name"], current["facts"]
    warnings = []
    if plan["reasons"]:
        require_vfs(host, pool)  # a restart starts the network again: it needs VFs
    if "stop" in plan["actions"]:
        # Never pull a VF from under a running guest: a stop with connections needs force.
        guests = _holders(usage(), name, current["live_xml"])
        if before["connections"] or guests:
            why = "remove it" if spec["state"] == "absent" else "restart it (%s)" % "; ".join(plan["reasons"])
            msg = ("Network %s is in use: %d connection(s)%s. Refusing to %s while guests hold its VFs: "
                   "shut them down (or move them off the network) and run again, or set force=true to do "
                   "it anyway." % (name, before["connections"],
                                   "; guests holding VFs: " + _describe_guests(guests) if guests else "", why))
            if not spec["force"]:
                raise SriovError(msg, connections=before["connections"], guests=guests,
                                 network=dict(before), reasons=plan["reasons"])
        if spec["state"] != "absent" and before["connections"]:
            warnings.append("Network %s was restarted with force while %d guest connection(s) were open: "
                            "those guests keep their VFs, but libvirt no longer accounts for them in the new "
                            "pool." % (name, before["connections"]))
    if "undefine" in plan["actions"]:
        # Guests whose definition names the network fail at their next start once it is gone.
        users = _persistent_users(usage(), name)
        if users and not spec["force"]:
            raise SriovError(
                "Network %s is named by the persistent definition of domain(s) %s (<source network='%s'/>): "
                "removing it makes them fail at their next start. Remove the interface from those guests "
                "first (virt.sriov.libvirt_hostdev_interface state=absent), or set force=true."
                % (name, ", ".join(users), name), domains=users, network=dict(before))
    if pool is not None and pool["pf"] is not None:
        operstate = host.read(CLASS_NET, pool["pf"], "operstate")
        if operstate == "down":
            warnings.append("PF %s is down: guests on network %s will fail to start (libvirt: 'the PF is not "
                            "online') until its link is up." % (pool["pf"], name))
    return warnings


def _libvirt_step(step, func, *args):
    try:
        return func(*args)
    except SriovError:
        raise
    except Exception as exc:  # libvirt.libvirtError
        raise explain_libvirt_error(exc, step)


def _rollback(conn, name, old_xml, network, first_error):
    """A restart whose start failed: put the old definition back and start it, then fail with
    both errors (or with the rollback's error as well when that fails too)."""
    try:
        if old_xml is not None:
            network = conn.networkDefineXML(old_xml)
        network.create()
    except Exception as exc:  # libvirt.libvirtError
        second = explain_libvirt_error(exc, "Rolling back network %s to its previous definition" % name)
        raise SriovError("%s. %s: network %s is down." % (first_error.msg.rstrip("."), second.msg, name),
                         libvirt_error=first_error.details.get("libvirt_error"),
                         rollback_error=second.details.get("libvirt_error"))
    raise SriovError("%s. Network %s was rolled back to its previous definition and started again."
                     % (first_error.msg.rstrip("."), name),
                     libvirt_error=first_error.details.get("libvirt_error"), rolled_back=True)


def apply_network(conn, spec, plan, current):
    """Carry out the plan. Stop comes before define, so the new definition is the one started
    (and libvirt's test driver, which loses a definition made while running, behaves too)."""
    name, actions, network = spec["name"], plan["actions"], current["network"]
    if "stop" in actions:
        _libvirt_step("Stopping network %s" % name, network.destroy)
    if "undefine" in actions:
        _libvirt_step("Removing network %s" % name, network.undefine)
        return
    if "define" in actions:
        try:
            network = _libvirt_step("Defining network %s" % name, conn.networkDefineXML, plan["after_def"])
        except SriovError:
            if "stop" in actions and network is not None:
                try:  # put the old pool back rather than leave the guests' network down
                    network.create()
                except Exception:  # pylint: disable=broad-except
                    pass
            raise
    if "start" in actions:
        try:
            _libvirt_step("Starting network %s" % name, network.create)
        except SriovError as exc:
            if "stop" not in actions:
                raise
            _rollback(conn, name, current["definition"] if "define" in actions else None, network, exc)
    if "autostart" in actions or "no_autostart" in actions:
        _libvirt_step("Setting autostart of network %s" % name, network.setAutostart,
                      1 if "autostart" in actions else 0)


def report_network(spec, plan, current, facts_after, warnings, settings_plan=None, check_mode=False):
    """The single form's result dict for one network (changed, actions, network, diff, ...)."""
    before = current["facts"]
    tracker = ChangeTracker()
    tracker.add_file("network %s" % spec["name"], pretty(current["definition"]), plan["after_def"])
    tracker.add("active", before["active"], plan["after_active"])
    tracker.add("autostart", before["autostart"], plan["after_autostart"])
    if before["active"] or plan["after_active"]:
        tracker.add("vfs", plan["pool_before"], plan["pool_after"])
    settings, settings_diff = report_pool_settings(settings_plan, check_mode)
    for key in sorted(settings_diff):
        tracker.add(key, settings_diff[key][0], settings_diff[key][1])
    if settings_plan is not None and settings_plan["rule_changed"]:
        tracker.add_file(settings_plan["rule_path"], settings_plan["rule_before"], settings_plan["rule_after"])
    result = {
        "changed": bool(plan["actions"]) or bool(settings and settings["changed"]),
        "actions": list(plan["actions"]),
        "network": dict(facts_after),
        "diff": tracker.diff(),
    }
    if plan["reasons"]:
        result["reasons"] = list(plan["reasons"])
    if settings is not None:
        result["vf_settings"] = settings
    if warnings:
        result["warnings"] = list(warnings)
    return result


class _LazyUsage(object):
    """collect_vf_usage once per run, and only when a guard needs it."""

    def __init__(self, conn, host):
        self._conn, self._host, self._usage = conn, host, None

    def __call__(self):
        if self._usage is None:
            # imported here: a run that no guard asks (a no-op) does not load the usage scan
            from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

            self._usage = collect_vf_usage(self._conn, self._host)
        return self._usage


# -- entry points ------------------------------------------------------------------------------

def ensure_vf_pool_network(conn, host, params, check_mode=False, planned_vfs=None):
    """Make network ``params['name']`` match ``params``. Return the module result dict.

    ``params``: name, pf | vfs (+ vf_range), managed, driver, vlan, state, autostart (None:
    leave), force. ``planned_vfs`` is used in check mode only (see resolve_pool).
    """
    results, _boot, _warnings = _converge(conn, host, [params], check_mode, planned_vfs, boot_order=False)
    single = results[0]
    single.pop("name", None)
    return single


def _check_overlaps(host, specs, pools, usage):
    """Refuse a VF claimed twice: by two networks of this call, or by a network of this call
    and another hostdev network or a guest's fixed hostdev interface."""
    claimed = {}
    for spec, pool in zip(specs, pools):
        if pool is None:
            continue
        for address in pool["current_vfs"]:
            claimed.setdefault(str(address), []).append(spec["name"])
    clashes = ["VF %s: networks %s" % (vf, ", ".join(names)) for vf, names in sorted(claimed.items())
               if len(names) > 1]
    if clashes:
        raise SriovError("A VF can be in one pool only; these are claimed by several networks of this "
                         "run: %s." % "; ".join(clashes), overlaps=clashes)
    ranged = [(s, p) for s, p in zip(specs, pools) if p is not None and p.get("range_of")]
    if not ranged:
        return
    names = set(s["name"] for s in specs)
    found = usage()
    for spec, pool in ranged:
        for address in pool["current_vfs"]:
            others = [n for n in found.networks_of(address) if n not in names]
            fixed = [u["domain"] for u in found.users_of(address) if u["via"] == "hostdev"]
            if others or fixed:
                raise SriovError(
                    "VF %s (vf_range %s of PF %s) of network %s is already %s: a VF can be in one pool, or "
                    "given to one guest, never both." % (
                        address, pool["vf_range"], pool["range_of"], spec["name"],
                        " and ".join(filter(None, [
                            "in the pool of network(s) %s" % ", ".join(others) if others else "",
                            "assigned to domain(s) %s" % ", ".join(sorted(set(fixed))) if fixed else ""]))),
                    vf=str(address), networks=others, domains=sorted(set(fixed)))


def _converge(conn, host, items, check_mode, planned_vfs, boot_order):
    """Validate every item, check every pool against sysfs, read libvirt once per network, plan
    every network, check every guard; only then act (outside check mode) and report.
    Returns (per-network results, boot-order changes, warnings of the boot-order step)."""
    planned = planned_vfs if check_mode else None
    specs = [parse_network(item) for item in items]
    seen = set()
    for spec in specs:
        if spec["name"] in seen:
            raise SriovError("Network %s is listed twice: give each network once." % spec["name"])
        seen.add(spec["name"])
    pools = [resolve_network_pool(host, spec, planned) for spec in specs]
    usage = _LazyUsage(conn, host)
    _check_overlaps(host, specs, pools, usage)
    currents = [discover_network(conn, spec["name"]) for spec in specs]
    plans = [plan_network(spec, pool, current) for spec, pool, current in zip(specs, pools, currents)]
    warnings = [guard_network(usage, host, spec, pool, plan, current)
                for spec, pool, plan, current in zip(specs, pools, plans, currents)]
    settings_plans = [plan_pool_settings(host, spec, pool) for spec, pool in zip(specs, pools)]
    for settings_plan in settings_plans:
        verify_rule_text(host, settings_plan)
    autostarted = [s["name"] for s, p in zip(specs, plans) if s["state"] != "absent" and p["after_autostart"]]
    boot_changes = plan_boot_order(host) if boot_order and autostarted else []

    if not check_mode:
        _apply_all(conn, host, specs, plans, currents, settings_plans)
    results = []
    for spec, plan, current, warns, settings_plan in zip(specs, plans, currents, warnings, settings_plans):
        after = current["facts"]
        if not check_mode and plan["actions"]:
            after = network_facts(lookup_network(conn, spec["name"]))
        result = report_network(spec, plan, current, after, warns, settings_plan, check_mode)
        result["name"] = spec["name"]
        results.append(result)
    boot_warnings = apply_boot_order(host, boot_changes) if not check_mode else []
    return results, boot_changes, boot_warnings


def _apply_all(conn, host, specs, plans, currents, settings_plans):
    """VF settings first (rolled back when anything later fails), then libvirt, then the
    settings rule files."""
    journal = apply_pool_settings(host, settings_plans)
    try:
        for spec, plan, current in zip(specs, plans, currents):
            if plan["actions"]:
                apply_network(conn, spec, plan, current)
    except SriovError as exc:
        if not journal:
            raise
        raise SriovError(exc.msg.rstrip(".") + "." + undo_pool_settings(host, settings_plans, journal),
                         **exc.details)
    if write_pool_rules(host, settings_plans):
        udevadm = find_binary(host, ["udevadm"])
        if udevadm is not None:
            host.run([udevadm, "control", "--reload"])


def ensure_vf_pool_networks(conn, host, items, check_mode=False, planned_vfs=None, boot_order=True):
    """Every network of ``items`` (dicts as for ensure_vf_pool_network) in one run.

    With ``boot_order``, the systemd drop-ins that start libvirt after udev are written when at
    least one kept network is autostarted. Returns {changed, networks[], boot_order, diff,
    warnings}; each entry of ``networks`` has the single form's keys plus ``name``.
    """
    results, boot_changes, boot_warnings = _converge(conn, host, items, check_mode, planned_vfs, boot_order)
    diff = []
    for result in results:
        parts = result.pop("diff")
        for part in parts if isinstance(parts, list) else [parts]:
            if "before_header" not in part:
                part = dict(part, before_header="network %s" % result["name"],
                            after_header="network %s" % result["name"])
            diff.append(part)
    if boot_changes:
        section = boot_order_diff(boot_changes)
        section.update(before_header="systemd drop-ins (libvirt after udev)",
                       after_header="systemd drop-ins (libvirt after udev)")
        diff.append(section)
    all_warnings = [w for r in results for w in r.pop("warnings", [])] + boot_warnings
    return {
        "changed": any(r["changed"] for r in results) or bool(boot_changes),
        "networks": results,
        "boot_order": {"changed": bool(boot_changes), "files": [path for path, _o, _n in boot_changes]},
        "diff": diff,
        "warnings": all_warnings,
    }
