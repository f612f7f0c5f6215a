# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small libvirt fakes for the unit tests (one home, beside fakehost.py).

libvirt's own test driver (``test:///path/node.xml``) is real for networks but cannot run
guests or attach devices; these fakes do what the QEMU driver was seen doing in the lab:

- ``FakeDomain``: a persistent and a live XML tree; attach adds the element (with a guest
  address, and an alias live), detach removes it from the config at once and from the live XML
  only when the guest cooperates (``releases=False`` models the lab's OS-less guest); shutdown
  (only when the guest answers ACPI, ``shuts_down``), destroy and start; ``undefined`` models a
  domain that disappears between a listing and a read. ``guest(name)`` builds one by name;
- ``FakeNetwork``: live and persistent XML, start/stop/undefine/autostart recorded in ``calls``;
  ``hostdev_pool()`` builds a hostdev pool network on a PF;
- ``Vanishing``: an object listed by libvirt that is gone (or broken) when it is read;
- ``FakeConn``: lookups, listings (with libvirt's active/inactive flags) and ``networkDefineXML``
  over lists of domains and networks; ``usage_of`` runs the real ``collect_vf_usage`` on one;
- ``NetworkControl``: the start/stop callback of a hostdev network, recorded;
- ``Clock``: fake time whose ``sleep`` advances it, so bounded waits end at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import xml.etree.ElementTree as ET

from ansible_collections.virt.sriov.plugins.module_utils._libvirt_interface import (
    FLAGS,
    VIR_DOMAIN_AFFECT_CONFIG,
    VIR_DOMAIN_AFFECT_LIVE,
    VIR_DOMAIN_XML_INACTIVE,
    _pci_of,
)
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address

VIR_ERR_NO_DOMAIN = 42
VIR_ERR_NO_NETWORK = 43
VIR_CONNECT_LIST_ACTIVE = 1  # VIR_CONNECT_LIST_DOMAINS_ACTIVE, VIR_CONNECT_LIST_NETWORKS_INACTIVE is 1 too
VIR_CONNECT_LIST_INACTIVE = 2
UUID = "5a1c0f2e-6b7d-4e8a-9c3b-2d4f6a8b0c1e"

GUEST = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>131072</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
{ports}    <memballoon model='none'/>
  </devices>
</domain>"""

PORT = ("    <controller type='pci' index='{i}' model='pcie-root-port'><address type='pci' domain='0x0000' "
        "bus='0x00' slot='0x01' function='0x{f:x}'/></controller>\n")


def guest_xml(name="guestVM", uuid=UUID, ports=6):
    """A q35 guest without an OS, with ``ports`` spare pcie-root-port controllers."""
    return GUEST.format(name=name, uuid=uuid, ports="".join(PORT.format(i=i, f=i - 1) for i in range(1, ports + 1)))


def set_pf_up(fake, up, pf="0000:01:00.0", netdev="enp1s0"):
    """Administrative state of a PF of a FakeHost (IFF_UP in its flags)."""
    fake.write("sys/devices/pci0000:00/%s/net/%s/flags" % (pf, netdev), "0x1003\n" if up else "0x1002\n")


class FakeLibvirtError(Exception):
    """libvirt.libvirtError as the code sees it: a message and an error code (None: no code)."""

    def __init__(self, message, code=None):
        super(FakeLibvirtError, self).__init__(message)
        self.code = code

    def get_error_message(self):
        return str(self)

    def get_error_code(self):
        return self.code


def _match(element, candidate):
    """libvirt's device matching for detach: by host source address, else by MAC."""
    src = _pci_of(element)
    if src is not None:
        return _pci_of(candidate) == src
    mac = element.find("mac").get("address")
    other = candidate.find("mac")
    return other is not None and other.get("address") == mac


class FakeDomain(object):
    """``xml``: the persistent definition; ``live_xml``: the live XML when it differs from it.

    ``shuts_down=False`` is a guest that does not answer ACPI (no OS, like the lab's guestVM);
    ``start_error``: the message ``create()`` fails with. ``calls`` records every change as a
    tuple, the name first (``actions`` lists the names).
    """

    def __init__(self, xml, active=True, persistent=True, releases=True, shuts_down=True, fake=None,
                 pool=None, live_xml=None, start_error=None):
        self.config = ET.fromstring(xml)
        self.live = (ET.fromstring(live_xml) if live_xml else copy.deepcopy(self.config)) if active else None
        self.persistent = persistent
        self.releases = releases
        self.shuts_down = shuts_down
        self.start_error = start_error
        self.fake = fake  # FakeHost: VF drivers follow attach/detach like managed='yes'
        self.pool = pool  # (network name, [VF addresses]) to hand out for type='network'
        self.calls = []
        self.fail_attach = None
        self.undefined = False  # gone from libvirt: every call that asks libvirt fails

    @property
    def actions(self):
        return [call[0] for call in self.calls]

    @property
    def active(self):
        """Running or not, for assertions (isActive() is what the code under test calls)."""
        return self.live is not None

    def _alive(self):
        if self.undefined:
            raise FakeLibvirtError("Domain not found: no domain with matching uuid '%s'" % self.UUIDString(),
                                   VIR_ERR_NO_DOMAIN)

    # -- identity and state --
    def name(self):
        return self.config.findtext("name")

    def UUIDString(self):
        return self.config.findtext("uuid") or "uuid-" + self.name()

    def isActive(self):
        self._alive()
        return self.live is not None

    def isPersistent(self):
        self._alive()
        return self.persistent

    def XMLDesc(self, flags):
        self._alive()
        tree = self.config if (flags & VIR_DOMAIN_XML_INACTIVE or self.live is None) else self.live
        return ET.tostring(tree, encoding="unicode")

    # -- devices --
    def _free_bus(self, tree):
        used = set(int(a.get("bus"), 0) for d in tree.find("devices") for a in d.findall("address")
                   if a.get("type") == "pci")
        ports = [int(c.get("index")) for c in tree.find("devices").findall("controller")
                 if c.get("model") == "pcie-root-port"]
        free = [p for p in ports if p not in used]
        if not free:
            raise FakeLibvirtError("internal error: No more available PCI slots")
        return free[0]

    def attachDeviceFlags(self, xml, flags):
        self.calls.append(("attach", flags, xml))
        if self.fail_attach:
            raise FakeLibvirtError(self.fail_attach)
        if flags & VIR_DOMAIN_AFFECT_LIVE and self.live is None:
            raise FakeLibvirtError("Requested operation is not valid: domain is not running")
        if flags & VIR_DOMAIN_AFFECT_CONFIG and not self.persistent:
            raise FakeLibvirtError("Requested operation is not valid: cannot modify device on transient domain")
        element = ET.fromstring(xml)
        targets = []
        if flags & VIR_DOMAIN_AFFECT_LIVE:
            targets.append(("live", self.live))
        if flags & VIR_DOMAIN_AFFECT_CONFIG:
            targets.append(("config", self.config))
        for which, tree in targets:
            new = copy.deepcopy(element)
            if which == "live":
                self._actual(new)
            bus = self._free_bus(tree)
            ET.SubElement(new, "address", {"type": "pci", "domain": "0x0000", "bus": "0x%02x" % bus,
                                           "slot": "0x00", "function": "0x0"})
            if which == "live":
                ET.SubElement(new, "alias", {"name": "hostdev0"})
                vf = _pci_of(new)
                if self.fake is not None and vf is not None:
                    self.fake.bind_vfio(str(vf))
            tree.find("devices").insert(3, new)

    def _actual(self, iface):
        """Live view of an interface of a hostdev network: type hostdev with the VF it got."""
        if iface.get("type") != "network" or not self.pool:
            return
        vf = self.pool[1].pop(0)
        iface.set("type", "hostdev")
        iface.set("managed", "yes")
        iface.remove(iface.find("source"))
        source = ET.SubElement(iface, "source")
        ET.SubElement(source, "address", parse_pci_address(vf).libvirt_attrs())

    def detachDeviceFlags(self, xml, flags):
        self.calls.append(("detach", flags, xml))
        element = ET.fromstring(xml)
        for which, tree in (("config", self.config), ("live", self.live)):
            if not flags & FLAGS[which] or tree is None:
                continue
            found = [i for i in tree.find("devices").findall("interface") if _match(element, i)]
            if not found:
                raise FakeLibvirtError("device not found: no device matching MAC address")
            if which == "live" and not self.releases:
                continue  # the unplug request stays pending: the guest has no OS to acknowledge it
            tree.find("devices").remove(found[0])
            vf = _pci_of(found[0])
            if which == "live" and self.fake is not None and vf is not None:
                self.fake.bind(str(vf), "igbvf")

    def shutdown(self):
        self.calls.append(("shutdown",))
        if self.shuts_down:
            self.live = None

    def destroy(self):
        self.calls.append(("destroy",))
        self.live = None

    def create(self):
        self.calls.append(("create",))
        if self.start_error:
            raise FakeLibvirtError(self.start_error, 1)
        self.live = copy.deepcopy(self.config)
        for iface in self.live.find("devices").findall("interface"):
            self._actual(iface)


def guest(name, vfs=(), running=True, **kwargs):
    """A FakeDomain named ``name`` (UUID ``uuid-<name>``) with hostdev interfaces for ``vfs``."""
    xml = ET.fromstring(guest_xml(name, uuid="uuid-" + name, ports=6))
    devices = xml.find("devices")
    for vf in vfs:
        iface = ET.Element("interface", {"type": "hostdev", "managed": "yes"})
        ET.SubElement(ET.SubElement(iface, "source"), "address", parse_pci_address(vf).libvirt_attrs())
        devices.insert(2, iface)
    return FakeDomain(ET.tostring(xml, encoding="unicode"), active=running, **kwargs)


class FakeNetwork(object):
    """A network: ``xml`` is its live XML, ``inactive`` its persistent definition (default: the same)."""

    def __init__(self, xml, active=True, autostart=True, inactive=None, persistent=True):
        self.xml, self.active, self._autostart = xml, active, autostart
        self.inactive = inactive if inactive is not None else xml
        self.persistent = persistent
        self.calls = []
        self.fail_create = None

    def name(self):
        return ET.fromstring(self.inactive).findtext("name")

    def UUIDString(self):
        return ET.fromstring(self.inactive).findtext("uuid") or "uuid-" + self.name()

    def isActive(self):
        return self.active

    def isPersistent(self):
        return self.persistent

    def autostart(self):
        return self._autostart

    def XMLDesc(self, flags):
        return self.inactive if (flags or not self.active) else self.xml

    def destroy(self):
        self.calls.append("destroy")
        self.active = False

    def create(self):
        self.calls.append("create")
        if self.fail_create:
            raise FakeLibvirtError(self.fail_create.pop(0) if isinstance(self.fail_create, list)
                                   else self.fail_create)
        self.active = True
        self.xml = self.inactive

    def undefine(self):
        self.calls.append("undefine")
        self.persistent = False

    def setAutostart(self, value):
        self.calls.append("autostart=%d" % value)
        self._autostart = bool(value)


def hostdev_pool(name="passthrough", pf="enp1s0", connections=0, active=True):
    """A FakeNetwork: hostdev pool network on PF ``pf`` with ``connections`` guests using it."""
    xml = ("<network connections='%d'><name>%s</name><forward mode='hostdev' managed='yes'>"
           "<pf dev='%s'/></forward></network>" % (connections, name, pf))
    return FakeNetwork(xml, active=active)


class Vanishing(object):
    """A domain or network that libvirt listed but that is gone (or broken) when it is read:
    its name is known (libvirt keeps it in the object), every other call raises ``error``."""

    def __init__(self, name, error):
        self._name = name
        self.error = error
        self.undefined = True

    def name(self):
        return self._name

    def UUIDString(self):
        return "uuid-" + self._name

    def __getattr__(self, attribute):
        def call(*_args):
            raise self.error
        return call


def _listed(obj, flags):
    """libvirt's listing flags: ACTIVE, INACTIVE, both or none (0) = all."""
    if getattr(obj, "undefined", False):
        return True  # listed a moment before it went away
    wanted = flags & (VIR_CONNECT_LIST_ACTIVE | VIR_CONNECT_LIST_INACTIVE)
    if wanted in (0, VIR_CONNECT_LIST_ACTIVE | VIR_CONNECT_LIST_INACTIVE):
        return True
    return obj.isActive() == bool(wanted & VIR_CONNECT_LIST_ACTIVE)


class FakeConn(object):
    """A connection; ``list_error``: the exception every listing raises (a connection that
    breaks mid-scan). A context manager, like ``_libvirt.open_connection``."""

    def __init__(self, domains=(), networks=(), list_error=None):
        self.domains = list(domains)
        self.networks = list(networks)
        self.list_error = list_error
        self.defined = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    @property
    def network(self):
        """The first network (tests with one network)."""
        return self.networks[0]

    def listAllDomains(self, flags):
        if self.list_error is not None:
            raise self.list_error
        return [d for d in self.domains if _listed(d, flags)]

    def listAllNetworks(self, flags):
        if self.list_error is not None:
            raise self.list_error
        return [n for n in self.networks if _listed(n, flags)]

    def _domain(self, match, what):
        for dom in self.domains:
            if match(dom) and not dom.undefined:
                return dom
        raise FakeLibvirtError("Domain not found: no domain with matching %s" % what, VIR_ERR_NO_DOMAIN)

    def lookupByName(self, name):
        return self._domain(lambda d: d.name() == name, "name '%s'" % name)

    def lookupByUUIDString(self, uuid):
        return self._domain(lambda d: d.UUIDString() == uuid, "uuid '%s'" % uuid)

    def networkLookupByName(self, name):
        for net in self.networks:
            if net.name() == name:
                return net
        raise FakeLibvirtError("Network not found: no network with matching name '%s'" % name, VIR_ERR_NO_NETWORK)

    def networkDefineXML(self, xml):
        """Like libvirt: a new network is defined inactive; an existing one keeps running with
        its old live XML until it is restarted."""
        self.defined.append(xml)
        name = ET.fromstring(xml).findtext("name")
        for net in self.networks:
            if net.name() == name:
                net.inactive = xml
                net.persistent = True
                return net
        net = FakeNetwork(xml, active=False, autostart=False)
        self.networks.append(net)
        return net


def usage_of(fake, networks=(), domains=()):
    """The real VfUsage (``collect_vf_usage``) of a FakeHost and fake libvirt objects."""
    from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

    return collect_vf_usage(FakeConn(domains=domains, networks=networks), fake.host())


class NetworkControl(object):
    """The network_control callback of _numvfs: records (action, name) in ``calls`` (or in the
    shared ``log``); ``fail_start`` makes every start fail like libvirt without usable VFs."""

    def __init__(self, fail_start=False, log=None):
        self.calls = log if log is not None else []
        self.fail_start = fail_start

    def __call__(self, name, action):
        self.calls.append((action, name))
        if action == "start" and self.fail_start:
            raise SriovError("Cannot start the hostdev network %s: No usable Vf's" % name)


class Clock(object):
    """Fake time: sleep() advances it, so bounded waits end at once."""

    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
