# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Choosing PFs by hardware (``select``) and keeping the management NIC out of reach.

Selection is resolved on the host from sysfs: every SR-IOV capable network PF whose vendor ID,
device ID, driver, netdev name (glob) and PCI address (glob) match all the keys given.

The management guard finds the PFs that carry the Ansible connection (the server address of
``SSH_CONNECTION`` in the module's environment, or in the environment of its nearest ancestor
process that has one when privilege escalation reset it, looked up in ``ip -j addr show``) or a default
route (``ip -j -4|-6 route show table all default``). An address or route on a VLAN, bridge,
bond or macvlan counts for the devices below it (``link`` and ``master`` of ``ip -j addr``), and
one on a VF's netdev counts for the VF's PF. IPv6 default routes that the kernel learned from a
router advertisement (``proto ra``) do not count: the kernel installs one on any port that is up
on a network with an IPv6 router (the lab's igb ports get ``default via fe80::2`` as soon as
their link is up), so they say nothing about management; a PF that carries the SSH session is
still found by its address. A read that fails raises SriovError: the caller refuses rather than
guesses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import ipaddress
import json
import os
import re

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    describe_pfs,
    list_sriov_pfs,
    read_device,
)

SELECT_KEYS = ("vendor_id", "device_id", "driver", "netdev", "pci_address")

_HEX_ID_RE = re.compile(r"^(?:0[xX])?([0-9a-fA-F]{1,4})\Z")
_DRIVER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
_NETDEV_GLOB_RE = re.compile(r"^[^/\s:'\"\\]{1,64}\Z")
_PCI_GLOB_RE = re.compile(r"^[0-9a-fA-F:.*?\[\]!-]{1,64}\Z")

# Present whenever the kernel has IPv6 (absent with ipv6.disable=1).
IPV6_PROC = "/proc/net/if_inet6"
ADDR_ARGV = ["ip", "-j", "addr", "show"]
ROUTE_ARGVS = (["ip", "-j", "-4", "route", "show", "table", "all", "default"],
               ["ip", "-j", "-6", "route", "show", "table", "all", "default"])


# ------------------------------------------------------------------------------------ selection
def _pci_id(value, where):
    """``10c9``, ``0x10c9``, ``0X10C9`` -> ``10c9``."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise SriovError(
            "Invalid %s %r: give the PCI ID as a quoted string of 1-4 hex digits, for example "
            "\"10c9\" or \"0x10c9\" (YAML reads unquoted 8086 or 0x10c9 as a number)." % (where, value))
    match = _HEX_ID_RE.match(value.strip())
    if not match:
        raise SriovError("Invalid %s %r: expected 1-4 hex digits, for example \"10c9\" or \"0x10c9\"."
                         % (where, value))
    return match.group(1).lower().zfill(4)


def _string(value, pattern, where, example):
    if isinstance(value, bool) or not isinstance(value, str) or not pattern.match(value):
        raise SriovError("Invalid %s %r: expected %s." % (where, value, example))
    return value


def normalize_select(select, where):
    """The selector with its given keys only, IDs normalised; bad input fails naming the value."""
    if not isinstance(select, dict):
        raise SriovError("Invalid %s %r: expected a dict with any of %s." % (where, select, ", ".join(SELECT_KEYS)))
    unknown = sorted(str(key) for key in set(select) - set(SELECT_KEYS))
    if unknown:
        raise SriovError("Invalid %s: unknown key(s) %s; valid keys: %s."
                         % (where, ", ".join(unknown), ", ".join(SELECT_KEYS)))
    given = dict((key, value) for key, value in select.items() if value is not None)
    if not given:
        raise SriovError("Invalid %s: it sets no key, and an empty selector would choose every PF; give "
                         "at least one of %s." % (where, ", ".join(SELECT_KEYS)))
    result = {}
    for key in SELECT_KEYS:
        if key not in given:
            continue
        value, name = given[key], "%s.%s" % (where, key)
        if key in ("vendor_id", "device_id"):
            result[key] = _pci_id(value, name)
        elif key == "driver":
            result[key] = _string(value, _DRIVER_RE, name, "a driver name such as 'igb'")
        elif key == "netdev":
            result[key] = _string(value, _NETDEV_GLOB_RE, name, "an interface name or glob such as 'enp*s0f0'")
        else:
            result[key] = _string(value, _PCI_GLOB_RE, name, "a PCI address or glob such as '0000:3b:00.*'").lower()
    return result


def selector_label(select):
    """``device_id=10c9 driver=igb`` (keys in SELECT_KEYS order)."""
    return " ".join("%s=%s" % (key, select[key]) for key in SELECT_KEYS if key in select)


def _pf_facts(host, address):
    device = read_device(host, address)
    return {
        "pci_address": str(address),
        "vendor_id": _sysfs_id(device["vendor_id"]),
        "device_id": _sysfs_id(device["device_id"]),
        "driver": device["driver"],
        "netdevs": device["netdevs"],
    }


def _sysfs_id(text):
    try:
        return _pci_id(text, "sysfs ID")
    except SriovError:
        return None


def _pci_glob_matches(pattern, address):
    if pattern.count(":") < 2:  # no PCI domain in the pattern: bus:slot.function
        address = address.split(":", 1)[1]
    return fnmatch.fnmatchcase(address, pattern)


def matches(select, facts):
    """True when the PF's facts match every key of the (normalised) selector."""
    for key in ("vendor_id", "device_id", "driver"):
        if key in select and facts.get(key) != select[key]:
            return False
    if "netdev" in select and not any(fnmatch.fnmatchcase(name, select["netdev"]) for name in facts["netdevs"]):
        return False
    if "pci_address" in select and not _pci_glob_matches(select["pci_address"], facts["pci_address"]):
        return False
    return True


def resolve_select(host, select, where):
    """PCI addresses (PciAddress) of the SR-IOV PFs the selector chooses, sorted; none fails,
    naming the selector and listing the SR-IOV PFs of the host with their IDs and driver."""
    candidates = [_pf_facts(host, address) for address in list_sriov_pfs(host)]
    chosen = [parse_pci_address(facts["pci_address"]) for facts in candidates if matches(select, facts)]
    if not chosen:
        listed = ["%s [%s:%s %s]" % (label, facts["vendor_id"], facts["device_id"], facts["driver"] or "no driver")
                  for label, facts in zip(describe_pfs(host), candidates)]
        raise SriovError("%s (%s) matches no SR-IOV PF of this host. SR-IOV capable PFs: %s."
                         % (where, selector_label(select), ", ".join(listed) or "none found"),
                         valid_pfs=describe_pfs(host))
    return chosen


# ---------------------------------------------------------------------------- management guard
def _environ_value(host, pid, name):
    """``name`` from the environment process ``pid`` started with, or None."""
    try:
        with open(host.path("/proc/%d/environ" % pid), "rb") as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    prefix = name.encode("ascii") + b"="
    for item in data.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix):].decode("ascii", "replace")
    return None


def _parent_pid(host, pid):
    stat = host.read("/proc/%d/stat" % pid)
    try:  # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        return int(stat.rsplit(")", 1)[1].split()[1])
    except (AttributeError, IndexError, ValueError):
        return None


def inherited_ssh_connection(host, pid, limit=32):
    """``SSH_CONNECTION`` of the nearest ancestor of process ``pid`` that has one, or None.

    Privilege escalation (sudo with its default ``env_reset``, su) starts the module with a
    fresh environment, but the escalating process itself and the login shell above it keep
    the one sshd gave them (``/proc/PID/environ`` is the environment a process started with)."""
    for _step in range(limit):
        pid = _parent_pid(host, pid)
        if pid is None or pid <= 1:
            return None
        value = _environ_value(host, pid, "SSH_CONNECTION")
        if value:
            return value
    return None


def connection_address(environ, host=None, pid=None):
    """The host's own address of the SSH connection (``SSH_CONNECTION`` of the module's
    environment, else of its nearest ancestor process when ``host`` is given), or None."""
    text = (environ or {}).get("SSH_CONNECTION")
    if (not text or not text.strip()) and host is not None:
        text = inherited_ssh_connection(host, os.getpid() if pid is None else pid)
    if not text or not text.strip():
        return None
    fields = text.split()
    try:
        if len(fields) != 4:
            raise ValueError(text)
        return _address(fields[2])
    except ValueError:
        raise SriovError("Cannot tell which interface carries the Ansible connection: SSH_CONNECTION "
                         "%r is not 'client-address client-port server-address server-port'." % (text,))


def _address(text):
    address = ipaddress.ip_address(text.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _read_json(host, argv, what):
    rc, out, err = host.run(argv, check=False)
    if rc != 0:
        raise SriovError("Cannot tell which interfaces carry %s: '%s' failed with exit code %d: %s"
                         % (what, " ".join(argv), rc, (err or out or "").strip()))
    try:
        data = json.loads(out) if out and out.strip() else []
    except ValueError as exc:
        raise SriovError("Cannot tell which interfaces carry %s: the output of '%s' is not JSON "
                         "(iproute2 too old for -j?): %s" % (what, " ".join(argv), exc))
    if not isinstance(data, list):
        raise SriovError("Cannot tell which interfaces carry %s: '%s' printed %s, not a list."
                         % (what, " ".join(argv), type(data).__name__))
    return [item for item in data if isinstance(item, dict)]


def _lower_devices(links, name, seen=None):
    """``name`` and every device below it: its ``link`` (VLAN, macvlan) and its ports (the
    devices whose ``master`` it is: bond, bridge, team), recursively."""
    seen = seen if seen is not None else []
    if name in seen:
        return seen
    seen.append(name)
    link = links.get(name, {}).get("link")
    if isinstance(link, str) and link in links:
        _lower_devices(links, link, seen)
    for other, info in sorted(links.items()):
        if info.get("master") == name:
            _lower_devices(links, other, seen)
    return seen


def _pf_of_netdev(host, netdev):
    """PCI address of the PF behind a netdev (the PF itself, or the PF of a VF), or None."""
    device = host.realpath_name(CLASS_NET, netdev, "device")
    if not device:
        return None
    try:
        address = str(parse_pci_address(device))
    except SriovError:
        return None  # not a PCI device (virtio, USB, ...)
    return host.link_name(PCI_DEVICES, address, "physfn") or address


def _route_devices(route):
    devices = [route.get("dev")]
    for hop in route.get("nexthops") or []:
        if isinstance(hop, dict):
            devices.append(hop.get("dev"))
    return [dev for dev in devices if isinstance(dev, str)]


def _route_text(route, dev):
    parts = ["default"]
    if route.get("gateway"):
        parts.append("via %s" % route["gateway"])
    parts.append("dev %s" % dev)
    if route.get("table") not in (None, "main"):
        parts.append("table %s" % route["table"])
    return " ".join(parts)


def _over(top, netdev):
    return "" if top == netdev else ", over %s" % netdev


def management_pfs(host, environ, pid=None):
    """Map PF PCI address -> [reasons] for every PF that carries the Ansible connection or a
    default route. Raises SriovError when ``ip`` cannot be read. ``pid``: the process whose
    ancestors may hold ``SSH_CONNECTION`` (default: this one)."""
    server = connection_address(environ, host=host, pid=pid)
    links = dict((item.get("ifname"), item) for item in _read_json(host, ADDR_ARGV, "the Ansible connection")
                 if isinstance(item.get("ifname"), str))
    found = {}

    def mark(top, reason):
        for netdev in _lower_devices(links, top):
            address = _pf_of_netdev(host, netdev)
            if address is not None:
                text = "%s%s)" % (reason, _over(top, netdev))
                if text not in found.setdefault(address, []):
                    found[address].append(text)

    if server is not None:
        for name, item in sorted(links.items()):
            for info in item.get("addr_info") or []:
                local = info.get("local") if isinstance(info, dict) else None
                try:
                    same = local is not None and _address(local) == server
                except ValueError:
                    same = False
                if same:
                    mark(name, "the Ansible connection (%s, the server address of SSH_CONNECTION, is on %s"
                         % (server, name))
    for argv in ROUTE_ARGVS:
        if "-6" in argv and not host.exists(IPV6_PROC):
            continue  # IPv6 disabled in the kernel (ipv6.disable=1): no IPv6 routes to read
        for route in _read_json(host, argv, "a default route"):
            if route.get("protocol") == "ra":
                continue  # learned by the kernel from a router advertisement: see the module docstring
            for dev in _route_devices(route):
                mark(dev, "a default route (%s" % _route_text(route, dev))
    return found
