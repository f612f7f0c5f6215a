# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read-only discovery of SR-IOV physical and virtual functions from sysfs.

Semantics: a PF is a PCI network device with ``sriov_totalvfs`` and
no ``physfn`` link; its VFs are found only through its ``virtfnN`` links (never computed from
offset and stride); a VF's netdev exists only while a host net driver is bound.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import select
import time

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._pci import PciAddress, parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label

PCI_DEVICES = "/sys/bus/pci/devices"
CLASS_NET = "/sys/class/net"

# Drivers the RHEL Virtualization Deployment Guide (section 17.2) names as tested.
TESTED_DRIVERS = ("igb", "ixgbe")

# Linux interface names: 1-15 characters, no '/', no whitespace, not '.' or '..'.
_NETDEV_RE = re.compile(r"^(?!\.{1,2}\Z)[^/\s:'\"\\]{1,15}\Z")

_VIRTFN_RE = re.compile(r"^virtfn(\d+)$")

PCI_ID_DATABASES = ("/usr/share/hwdata/pci.ids", "/usr/share/misc/pci.ids", "/usr/share/pci.ids")


def validate_netdev_name(name):
    """Raise SriovError unless ``name`` is a possible Linux interface name."""
    if not isinstance(name, str) or not _NETDEV_RE.match(name):
        raise SriovError(
            "Invalid network interface name %r: expected 1-15 characters without '/', quotes, "
            "':', backslash or white space (for example 'enp1s0')." % (name,)
        )
    return name


def is_sriov_pf(host, address):
    """True for a device that can have VFs and is not itself a VF."""
    name = str(address)
    return host.exists(PCI_DEVICES, name, "sriov_totalvfs") and not host.exists(
        PCI_DEVICES, name, "physfn"
    )


def _is_network_class(host, name):
    pci_class = host.read_int(PCI_DEVICES, name, "class")
    return pci_class is not None and (pci_class >> 16) == 0x02


def list_sriov_pfs(host):
    """PCI addresses (PciAddress) of every SR-IOV capable network PF, sorted."""
    result = []
    for name in host.listdir(PCI_DEVICES):
        try:
            address = parse_pci_address(name)
        except SriovError:
            continue
        if is_sriov_pf(host, address) and _is_network_class(host, name):
            result.append(address)
    return sorted(result)


def netdevs_of(host, address):
    """Network interface names of a PCI device (empty without a bound net driver)."""
    return host.listdir(PCI_DEVICES, str(address), "net")


def read_device(host, address):
    """Facts common to PFs and VFs: driver, IDs, IOMMU group, netdevs, VF/PF relation."""
    name = str(address)
    if not host.exists(PCI_DEVICES, name):
        raise SriovError("PCI device %s does not exist on this host." % name)
    group = host.link_name(PCI_DEVICES, name, "iommu_group")
    physfn = host.link_name(PCI_DEVICES, name, "physfn")
    return {
        "pci_address": name,
        "nodedev_name": parse_pci_address(name).nodedev_name,
        "driver": host.link_name(PCI_DEVICES, name, "driver"),
        "vendor_id": host.read(PCI_DEVICES, name, "vendor"),
        "device_id": host.read(PCI_DEVICES, name, "device"),
        "iommu_group": int(group) if group is not None and group.isdigit() else None,
        "netdevs": netdevs_of(host, address),
        "physfn": physfn,
        "is_vf": physfn is not None,
    }


def vf_addresses(host, pf_address):
    """Map VF index -> PciAddress from the PF's ``virtfnN`` links, in index order."""
    found = {}
    for entry in host.listdir(PCI_DEVICES, str(pf_address)):
        match = _VIRTFN_RE.match(entry)
        if match:
            target = host.link_name(PCI_DEVICES, str(pf_address), entry)
            if target:
                found[int(match.group(1))] = parse_pci_address(target)
    return dict(sorted(found.items()))


def predict_vf_addresses(host, address, count):
    """The addresses ``count`` VFs of the PF will have, from its SR-IOV capability's First VF
    Offset and VF Stride (``sriov_offset``, ``sriov_stride``), or None when sysfs lacks them.

    The kernel computes a VF's routing ID the same way (pci_iov_virtfn_bus/devfn); the real
    addresses come from the ``virtfnN`` links once the VFs exist."""
    offset = host.read_int(PCI_DEVICES, str(address), "sriov_offset")
    stride = host.read_int(PCI_DEVICES, str(address), "sriov_stride")
    if offset is None or stride is None:
        return None
    routing = (address.bus << 8) | (address.slot << 3) | address.function
    found = []
    for index in range(count):
        rid = routing + offset + index * stride
        found.append(str(PciAddress(address.domain, (rid >> 8) & 0xFF, (rid >> 3) & 0x1F, rid & 7)))
    return found


def read_vfs(host, pf_address):
    """One dict per VF of the PF, ordered by index (sysfs facts only).

    Reads only what a VF entry reports (driver, IOMMU group, netdev): three look-ups per VF,
    since this walk is the cost of discovery on hosts with hundreds of VFs.
    """
    vfs = []
    for index, address in vf_addresses(host, pf_address).items():
        name = str(address)
        group = host.link_name(PCI_DEVICES, name, "iommu_group")
        netdevs = netdevs_of(host, address)
        vfs.append({
            "pci_address": name,
            "nodedev_name": address.nodedev_name,
            "driver": host.link_name(PCI_DEVICES, name, "driver"),
            "iommu_group": int(group) if group is not None and group.isdigit() else None,
            "index": index,
            "netdev": netdevs[0] if netdevs else None,
        })
    return vfs


# While a write of sriov_numvfs is stuck in the kernel (a guest that never releases a VF held
# by vfio-pci), every read of that PF's sriov_numvfs blocks too: the kernel holds the device
# lock. Read-only callers read it from forked children with one deadline for all PFs.
NUMVFS_READ_TIMEOUT = 10


def _read_in_child(paths, first, write_fd):
    """Child side of read_bounded_many: read ``paths[first:]`` in order, report each as
    ``<index> ok <text>`` or ``<index> err <errno>`` on ``write_fd``, exit. Only os calls: no
    locks of the parent are needed after the fork."""
    status = 0
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(devnull, std)  # never hold the module's stdout open while stuck
        for entry in os.listdir("/proc/self/fd"):
            fd = int(entry)
            if fd > 2 and fd != write_fd:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for index in range(first, len(paths)):
            try:
                fd = os.open(paths[index], os.O_RDONLY)
                try:
                    data = os.read(fd, 4096)
                finally:
                    os.close(fd)
                line = b"%d ok " % index + data.replace(b"\n", b" ").strip() + b"\n"
            except OSError as exc:
                line = b"%d err %d\n" % (index, exc.errno or 0)
            os.write(write_fd, line)
    except BaseException:  # pylint: disable=broad-except
        status = 1
    finally:
        os._exit(status)  # pylint: disable=protected-access


def _collect(read_fd, results, pending, deadline, clock):
    """Read the children's lines into ``results`` until every index in ``pending`` answered, the
    child exited, or the deadline passed."""
    buffer = b""
    while pending:
        remaining = deadline - clock()
        if remaining <= 0:
            return
        ready, _w, _x = select.select([read_fd], [], [], min(remaining, 0.5))
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:  # the child has exited
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            index, kind, value = (line.split(b" ", 2) + [b""])[:3]
            index = int(index)
            pending.discard(index)
            results[index] = value.decode("utf-8", "replace").strip() if kind == b"ok" else None


def read_bounded_many(paths, timeout, clock=time.monotonic):
    """Read small files that the kernel may block on, from a forked child, ``timeout`` seconds
    at most per file that does not answer.

    Returns a list parallel to ``paths``: the stripped text, None when the file cannot be read,
    or TIMED_OUT. One child reads them in order (one fork for the usual case); when it stalls on
    a file, that file is TIMED_OUT and a new child goes on with the next one. A stalled child is
    left behind: a read stuck in the kernel cannot be interrupted; it ends when the kernel lets it.
    """
    results = [None] * len(paths)
    first = 0
    while first < len(paths):
        read_fd, write_fd = os.pipe()
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child ends in os._exit
                os.close(read_fd)
                _read_in_child(paths, first, write_fd)
            os.close(write_fd)
            write_fd = None
            pending = set(range(first, len(paths)))
            _collect(read_fd, results, pending, clock() + timeout, clock)
        finally:
            if write_fd is not None:
                os.close(write_fd)
            os.close(read_fd)
        try:
            os.waitpid(pid, os.WNOHANG)  # reap it when it ended; a stuck one stays
        except OSError:
            pass
        if not pending:
            break
        stalled = min(pending)
        results[stalled] = TIMED_OUT
        first = stalled + 1
    return results


class _TimedOut(object):
    def __repr__(self):
        return "TIMED_OUT"


TIMED_OUT = _TimedOut()


def read_numvfs_bounded(host, addresses, timeout=None):
    """{address: sriov_numvfs as int, None (unreadable) or TIMED_OUT} for every PF address,
    within ``timeout`` seconds (default NUMVFS_READ_TIMEOUT)."""
    if timeout is None:
        timeout = NUMVFS_READ_TIMEOUT
    paths = [host.path(PCI_DEVICES, str(address), "sriov_numvfs") for address in addresses]
    found = {}
    for address, text in zip(addresses, read_bounded_many(paths, timeout)):
        if text is None or text is TIMED_OUT:
            found[str(address)] = text
            continue
        try:
            found[str(address)] = int(text, 0)
        except ValueError:
            found[str(address)] = None
    return found


_UNSET = object()


def read_pf(host, address, numvfs=_UNSET):
    """Facts about a PF (sysfs only; the VF list is read by read_vfs). ``numvfs``: a value read
    already (read_numvfs_bounded), so that this function does not read the attribute itself."""
    name = str(address)
    device = read_device(host, address)
    netdevs = device["netdevs"]
    netdev = netdevs[0] if netdevs else None
    autoprobe = host.read_int(PCI_DEVICES, name, "sriov_drivers_autoprobe")
    numa_node = host.read_int(PCI_DEVICES, name, "numa_node")  # -1: no NUMA affinity known
    return {
        "pci_address": name,
        "netdevs": netdevs,
        "netdev": netdev,
        "driver": device["driver"],
        "vendor_id": device["vendor_id"],
        "device_id": device["device_id"],
        "iommu_group": device["iommu_group"],
        "numa_node": numa_node if numa_node is not None and numa_node >= 0 else None,
        "local_cpulist": host.read(PCI_DEVICES, name, "local_cpulist"),
        "totalvfs": host.read_int(PCI_DEVICES, name, "sriov_totalvfs", default=0),
        "numvfs": host.read_int(PCI_DEVICES, name, "sriov_numvfs", default=0) if numvfs is _UNSET else numvfs,
        "drivers_autoprobe": None if autoprobe is None else bool(autoprobe),
        "link_state": host.read(CLASS_NET, netdev, "operstate") if netdev else None,
        "mac": host.read(CLASS_NET, netdev, "address") if netdev else None,
        "tested_driver": device["driver"] in TESTED_DRIVERS,
    }


def describe_pfs(host):
    """Short human list of the SR-IOV PFs, for error messages."""
    items = []
    for address in list_sriov_pfs(host):
        netdevs = netdevs_of(host, address)
        items.append(pf_label({"pci_address": address, "netdev": netdevs[0] if netdevs else None}))
    return items


def _unknown(what, value, host):
    valid = describe_pfs(host)
    return SriovError(
        "%s %r is not an SR-IOV capable PF on this host. SR-IOV capable PFs: %s."
        % (what, value, ", ".join(valid) if valid else "none found"),
        valid_pfs=valid,
    )


def resolve_pf(host, pf=None, pci_address=None):
    """Return the PciAddress of the PF named by netdev ``pf`` or by ``pci_address``.

    Fails with a message naming the value and listing the PFs that exist when the device is
    unknown, is a VF (naming its PF) or has no SR-IOV capability.
    """
    if (pf is None) == (pci_address is None):
        raise SriovError("Exactly one of pf or pci_address is required to select a PF.")
    if pf is not None:
        validate_netdev_name(pf)
        if not host.exists(CLASS_NET, pf):
            raise _unknown("Network interface", pf, host)
        device_name = host.realpath_name(CLASS_NET, pf, "device")
        if device_name is None:
            raise SriovError(
                "Network interface %r is not a PCI device (no device link): it cannot be an "
                "SR-IOV PF. SR-IOV capable PFs: %s." % (pf, ", ".join(describe_pfs(host)) or "none found"),
                valid_pfs=describe_pfs(host),
            )
        address = parse_pci_address(device_name)
        label = "Network interface %r (%s)" % (pf, address)
    else:
        address = parse_pci_address(pci_address)
        if not host.exists(PCI_DEVICES, str(address)):
            raise _unknown("PCI address", str(address), host)
        label = "PCI device %s" % address
    physfn = host.link_name(PCI_DEVICES, str(address), "physfn")
    if physfn is not None:
        raise SriovError(
            "%s is a virtual function of PF %s, not a PF." % (label, physfn),
            valid_pfs=describe_pfs(host),
        )
    if not host.exists(PCI_DEVICES, str(address), "sriov_totalvfs"):
        raise SriovError(
            "%s has no SR-IOV capability (no sriov_totalvfs). SR-IOV capable PFs: %s."
            % (label, ", ".join(describe_pfs(host)) or "none found"),
            valid_pfs=describe_pfs(host),
        )
    return address


class PciNames(object):
    """Vendor and device names from the host's PCI ID database, read once per instance."""

    def __init__(self, host):
        self._host = host
        self._cache = {}

    def lookup(self, vendor_id, device_id):
        """Return (vendor_name, device_name); None where the database is absent or silent."""
        if not vendor_id:
            return None, None
        key = (vendor_id, device_id)
        if key not in self._cache:
            self._cache[key] = self._scan(vendor_id.lower().replace("0x", ""),
                                          (device_id or "").lower().replace("0x", ""))
        return self._cache[key]

    def _scan(self, vendor, device):
        """Find the vendor line (``vvvv  Name``) with one bytes search, then its device lines
        (``\tdddd  Name``) - the database is large (over 1 MB), so no per-line decoding."""
        for candidate in PCI_ID_DATABASES:
            try:
                with open(self._host.path(candidate), "rb") as handle:
                    data = handle.read()
            except (IOError, OSError):
                continue
            needle = b"\n" + vendor.encode("ascii", "replace") + b"  "
            start = data.find(needle)
            if start < 0:
                return None, None
            start += 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            vendor_name = data[start + 4:end].decode("utf-8", "replace").strip()
            device_name = None
            position = end + 1
            while device and position < len(data):
                line_end = data.find(b"\n", position)
                line_end = len(data) if line_end < 0 else line_end
                raw, position = data[position:line_end], line_end + 1
                if not raw or raw.startswith(b"#"):
                    continue
                if not raw.startswith(b"\t"):
                    break  # the next vendor (or the class list)
                if raw.startswith(b"\t\t"):
                    continue
                if raw[1:5].decode("ascii", "replace").lower() == device:
                    device_name = raw[5:].decode("utf-8", "replace").strip()
                    break
            return vendor_name, device_name
        return None, None


__all__ = [
    "PciAddress",
    "TESTED_DRIVERS",
    "describe_pfs",
    "is_sriov_pf",
    "list_sriov_pfs",
    "predict_vf_addresses",
    "read_device",
    "read_pf",
    "read_vfs",
    "resolve_pf",
    "validate_netdev_name",
    "vf_addresses",
    "PciNames",
]
