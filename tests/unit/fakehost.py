# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Realistic fake host trees for unit tests.

The layout mirrors the kernel's: device directories live under /sys/devices/pci0000:00/, and
/sys/bus/pci/devices/*, /sys/class/net/*, ``driver``, ``iommu_group``, ``physfn`` and
``virtfnN`` are relative symlinks as on a real host, so the code under test resolves them the
way it does in production.

    fake = FakeHost(tmp_path)
    pf = fake.add_pf("0000:01:00.0", "enp1s0", driver="igb", totalvfs=7)
    fake.set_numvfs(pf, 4)                # creates virtfn0..3 like igb (offset 128, stride 2)
    host = fake.host()                    # a Host rooted at the fake tree

``FakeWriter`` stands in for the bounded writer of ``sriov_numvfs`` (``_numvfs.SubprocessWriter``)
and applies the kernel's rules for that write to the fake tree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.virt.sriov.plugins.module_utils._host import Host
from ansible_collections.virt.sriov.plugins.module_utils._numvfs import WriteResult
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address

DEVICES = "sys/devices/pci0000:00"

# (vendor, device, vf device, driver, vf driver) of the cards the tests model.
CARDS = {
    "igb": ("0x8086", "0x10c9", "0x10ca", "igb", "igbvf"),  # Intel 82576
    "ixgbe": ("0x8086", "0x10fb", "0x10ed", "ixgbe", "ixgbevf"),  # Intel 82599
    "mlx5_core": ("0x15b3", "0x1017", "0x1018", "mlx5_core", "mlx5_core"),  # ConnectX-5
    "e1000e": ("0x8086", "0x10d3", None, "e1000e", None),  # no SR-IOV
}


class FakeHost(object):
    def __init__(self, tmp_path):
        self.root = str(tmp_path)
        self._next_group = 10
        self._vf_netdev_counter = 0
        self.pfs = {}
        for sub in (DEVICES, "sys/bus/pci/devices", "sys/class/net", "sys/kernel/iommu_groups",
                    "sys/bus/pci/drivers", "sys/class/iommu", "proc"):
            self._mkdir(sub)

    # -- low level -----------------------------------------------------------------------------
    def p(self, *parts):
        return os.path.join(self.root, *[x.lstrip("/") for x in parts])

    def _mkdir(self, *parts):
        path = self.p(*parts)
        if not os.path.isdir(path):
            os.makedirs(path)
        return path

    def write(self, rel, content):
        path = self.p(rel)
        parent = os.path.dirname(path)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        with open(path, "w") as handle:
            handle.write(content)
        return path

    def add_program(self, rel):
        """An executable file (what find_binary looks for), e.g. ``usr/sbin/ip``."""
        path = self.write(rel, "#!/bin/sh\n")
        os.chmod(path, 0o755)
        return path

    def read(self, rel):
        with open(self.p(rel)) as handle:
            return handle.read()

    def _link(self, link_rel, target_rel):
        link = self.p(link_rel)
        parent = os.path.dirname(link)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.relpath(self.p(target_rel), parent), link)

    def host(self, run_command=None):
        return Host(root=self.root, run_command=run_command)

    # -- devices -------------------------------------------------------------------------------
    def _new_group(self):
        group = self._next_group
        self._next_group += 1
        self._mkdir("sys/kernel/iommu_groups", str(group), "devices")
        return group

    def add_device(self, address, vendor, device, driver=None, netdevs=(), pci_class="0x020000",
                   mac="52:54:00:00:00:01", operstate="up", iommu=True):
        address = str(parse_pci_address(address))
        base = "%s/%s" % (DEVICES, address)
        self._mkdir(base)
        self.write(base + "/vendor", vendor + "\n")
        self.write(base + "/device", device + "\n")
        self.write(base + "/class", pci_class + "\n")
        # what a host without NUMA topology (and the lab) shows
        self.write(base + "/numa_node", "-1\n")
        self.write(base + "/local_cpulist", "0-1\n")
        self._link("sys/bus/pci/devices/" + address, base)
        if driver:
            self.bind(address, driver)
        if iommu:
            group = self._new_group()
            self._link(base + "/iommu_group", "sys/kernel/iommu_groups/%d" % group)
            self._link("sys/kernel/iommu_groups/%d/devices/%s" % (group, address), base)
        for name in netdevs:
            self.add_netdev(address, name, mac=mac, operstate=operstate)
        return address

    def set_numa(self, address, node, cpulist):
        """The NUMA node and local CPUs of a device, as on a multi-socket host."""
        base = "%s/%s" % (DEVICES, str(parse_pci_address(address)))
        self.write(base + "/numa_node", "%d\n" % node)
        self.write(base + "/local_cpulist", cpulist + "\n")

    def bind(self, address, driver):
        """Bind ``driver`` (None unbinds), as a driver link to /sys/bus/pci/drivers/<driver>."""
        base = "%s/%s" % (DEVICES, address)
        link = self.p(base, "driver")
        if os.path.lexists(link):
            os.unlink(link)
        if driver:
            self._mkdir("sys/bus/pci/drivers", driver)
            self._link(base + "/driver", "sys/bus/pci/drivers/" + driver)

    def add_netdev(self, address, name, mac="52:54:00:00:00:01", operstate="up"):
        base = "%s/%s/net/%s" % (DEVICES, address, name)
        self.write(base + "/address", mac + "\n")
        self.write(base + "/operstate", operstate + "\n")
        self._link(base + "/device", "%s/%s" % (DEVICES, address))
        self._link("sys/class/net/" + name, base)

    def remove_netdevs(self, address):
        net = self.p(DEVICES, address, "net")
        if os.path.isdir(net):
            for name in os.listdir(net):
                link = self.p("sys/class/net", name)
                if os.path.lexists(link):
                    os.unlink(link)
                for leaf in os.listdir(os.path.join(net, name)):
                    os.unlink(os.path.join(net, name, leaf))  # files and the device link
                os.rmdir(os.path.join(net, name))

    def add_nic(self, address, netdev, card="e1000e"):
        """A NIC without SR-IOV."""
        vendor, device, _vfdev, driver, _vfdrv = CARDS[card]
        return self.add_device(address, vendor, device, driver=driver, netdevs=[netdev])

    def add_pf(self, address, netdev, card="igb", totalvfs=7, numvfs=0, autoprobe=1,
               operstate="up", mac="52:54:00:aa:00:01", driver=True):
        vendor, device, _vfdev, drv, _vfdrv = CARDS[card]
        address = self.add_device(address, vendor, device, driver=drv if driver else None,
                                  netdevs=[netdev] if netdev else [], mac=mac, operstate=operstate)
        base = "%s/%s" % (DEVICES, address)
        self.write(base + "/sriov_totalvfs", "%d\n" % totalvfs)
        self.write(base + "/sriov_numvfs", "0\n")
        self.write(base + "/sriov_offset", "128\n")
        self.write(base + "/sriov_stride", "2\n")
        self.write(base + "/sriov_drivers_autoprobe", "%d\n" % autoprobe)
        self.pfs[address] = {"card": card, "netdev": netdev}
        if numvfs:
            self.set_numvfs(address, numvfs)
        return address

    def vf_address(self, pf_address, index):
        """igb-like routing: VF n of the PF at bus B sits at B:10.(2n) onwards (offset 128, stride 2)."""
        pf = parse_pci_address(pf_address)
        routing = (pf.bus << 8 | pf.slot << 3 | pf.function) + 128 + 2 * index
        return "%04x:%02x:%02x.%x" % (pf.domain, routing >> 8, (routing >> 3) & 0x1F, routing & 7)

    def set_numvfs(self, pf_address, count, vf_driver=True):
        """Do what the kernel does on a successful write: tear down, then create ``count`` VFs."""
        pf_address = str(parse_pci_address(pf_address))
        info = self.pfs[pf_address]
        vendor, _device, vfdev, _drv, vfdrv = CARDS[info["card"]]
        # new VFs start with the driver's defaults: the PF forgets every VF setting
        for key in [key for key in self._admin() if key[0] == pf_address]:
            del self._admin()[key]
        base = "%s/%s" % (DEVICES, pf_address)
        for entry in os.listdir(self.p(base)):
            if entry.startswith("virtfn"):
                vf = os.path.basename(os.readlink(self.p(base, entry)))
                self.remove_netdevs(vf)
                os.unlink(self.p(base, entry))
                os.unlink(self.p("sys/bus/pci/devices", vf))
        for index in range(count):
            vf = self.vf_address(pf_address, index)
            netdev = None
            if vf_driver and vfdrv:
                self._vf_netdev_counter += 1
                netdev = "%sv%d" % (info["netdev"] or "pf", index)
            self.add_device(vf, vendor, vfdev, driver=vfdrv if vf_driver else None,
                            netdevs=[netdev] if netdev else [],
                            mac="00:00:00:00:00:00" if index == 0 else "02:00:00:00:%02x:%02x" % (self._vf_netdev_counter, index))
            self._link("%s/%s/physfn" % (DEVICES, vf), base)
            self.write("%s/%s/driver_override" % (DEVICES, vf), "(null)\n")
            self.write("%s/%s/modalias" % (DEVICES, vf),
                       "pci:v0000%sd0000%ssv00000000sd00000000bc02sc00i00\n"
                       % (vendor[2:].upper(), vfdev[2:].upper()))
            self._link("%s/virtfn%d" % (base, index), "%s/%s" % (DEVICES, vf))
        self.write(base + "/sriov_numvfs", "%d\n" % count)

    # -- VF drivers: what the kernel does on driver_override, unbind and drivers_probe ------------
    def probe(self, address):
        """/sys/bus/pci/drivers_probe of a VF: bind the driver driver_override names when it is
        loaded; without an override, the card's VF driver when it is loaded and the PF's
        sriov_drivers_autoprobe is 1 (the kernel's pci_device_can_probe)."""
        base = "%s/%s" % (DEVICES, address)
        if os.path.lexists(self.p(base, "driver")):
            return
        override = self.read(base + "/driver_override").strip()
        pf = os.path.basename(os.readlink(self.p(base, "physfn")))
        if override != "(null)":
            if os.path.isdir(self.p("sys/bus/pci/drivers", override)):
                self.bind(address, override)
            return
        if self.read("%s/%s/sriov_drivers_autoprobe" % (DEVICES, pf)).strip() != "1":
            return
        info = self.pfs[pf]
        vfdrv = CARDS[info["card"]][4]
        if vfdrv and os.path.isdir(self.p("sys/bus/pci/drivers", vfdrv)):
            self.bind(address, vfdrv)
            index = [e for e in os.listdir(self.p(DEVICES, pf)) if e.startswith("virtfn")
                     and os.path.basename(os.readlink(self.p(DEVICES, pf, e))) == address][0][6:]
            self.add_netdev(address, "%sv%s" % (info["netdev"] or "pf", index), mac="02:00:00:00:09:%02x" % int(index))

    def driver_writer(self, fail=None, hang=()):
        """Stand-in for the bounded sysfs writer (``path, value, timeout -> WriteResult``) that
        does what the kernel does for a VF's ``driver_override``, ``driver/unbind`` and
        ``/sys/bus/pci/drivers_probe``; records ``(path below the root, value)`` in
        ``self.driver_writes``. ``fail`` maps such a path to (errno, message); paths in ``hang``
        time out."""
        from ansible_collections.virt.sriov.plugins.module_utils._numvfs import WriteResult

        self.driver_writes = []
        fail = fail or {}

        def write(path, value, timeout):
            rel = os.path.relpath(path, self.root)
            self.driver_writes.append((rel, value))
            if rel in hang:
                return WriteResult(timed_out=True)
            if rel in fail:
                return WriteResult(err=fail[rel][0], message=fail[rel][1])
            parts = rel.split("/")
            if parts[-1] == "driver_override":
                self.write("%s/%s/driver_override" % (DEVICES, parts[-2]), (value.strip() or "(null)") + "\n")
            elif parts[-2:] == ["driver", "unbind"]:
                assert value == parts[-3], (rel, value)
                self.remove_netdevs(value)
                self.bind(value, None)
            elif rel == "sys/bus/pci/drivers_probe":
                self.probe(value)
            else:
                raise AssertionError("unexpected sysfs write %r" % (rel,))
            return WriteResult(ok=True)
        return write

    def bind_vfio(self, vf_address):
        """The VF is handed to a guest: vfio-pci bound, host netdev gone."""
        self.remove_netdevs(vf_address)
        self.bind(vf_address, "vfio-pci")

    # -- IOMMU and CPU -------------------------------------------------------------------------
    def set_cpu(self, vendor_id="GenuineIntel", flags=("vmx",)):
        text = "processor\t: 0\nvendor_id\t: %s\nflags\t\t: fpu %s\n\n" % (vendor_id, " ".join(flags))
        self.write("proc/cpuinfo", text)

    def set_cmdline(self, cmdline):
        self.write("proc/cmdline", cmdline + "\n")

    def set_firmware_table(self, name):
        """``DMAR`` (Intel VT-d) or ``IVRS`` (AMD-Vi)."""
        self.write("sys/firmware/acpi/tables/" + name, "table\n")

    def add_iommu_unit(self, name="dmar0"):
        self._mkdir("sys/class/iommu", name)

    # -- VF admin settings as the PF reports them (ip -j -d link show) ------------------------
    # The settings live in ``self._vf_admin`` (created on first use); ip_link_json() reports them.
    def _admin(self):
        if not hasattr(self, "_vf_admin"):
            self._vf_admin = {}
        return self._vf_admin

    def set_vf_admin(self, pf_address, index, **settings):
        """What ``ip link set PF vf INDEX ...`` would set: mac, vlan, qos, spoofchk, trust,
        link_state (auto|enable|disable), max_tx_rate, min_tx_rate."""
        key = (str(parse_pci_address(pf_address)), index)
        self._admin().setdefault(key, {}).update(settings)

    def ip_link_json(self, netdev, legacy=False):
        """The text ``ip -j -d link show dev NETDEV`` prints for a netdev of the fake tree:
        iproute2 6.1 on a 6.1 kernel (``address``, ``vlan_list``, ``rate``), or with
        ``legacy`` an iproute2 4.x (``mac``, flat ``vlan``/``qos``, ``tx_rate``)."""
        import json

        device = os.path.basename(os.path.realpath(self.p("sys/class/net", netdev, "device")))
        with open(self.p("sys/class/net", netdev, "address")) as handle:
            mac = handle.read().strip()
        link = {
            "ifindex": 2 + sorted(os.listdir(self.p("sys/class/net"))).index(netdev),
            "ifname": netdev, "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
            "mtu": 1500, "qdisc": "mq", "operstate": "UP", "linkmode": "DEFAULT",
            "group": "default", "txqlen": 1000, "link_type": "ether", "address": mac,
            "broadcast": "ff:ff:ff:ff:ff:ff", "promiscuity": 0, "min_mtu": 68, "max_mtu": 9216,
            "inet6_addr_gen_mode": "eui64", "num_tx_queues": 8, "num_rx_queues": 8,
            "gso_max_size": 65536, "gso_max_segs": 65535, "parentbus": "pci", "parentdev": device,
        }
        virtfns = sorted((int(e[6:]) for e in os.listdir(self.p("sys/bus/pci/devices", device))
                          if e.startswith("virtfn")))
        if virtfns:
            entries = []
            for index in virtfns:
                admin = {"mac": "00:00:00:00:00:00", "vlan": 0, "qos": 0, "spoofchk": True,
                         "trust": False, "link_state": "auto", "max_tx_rate": 0, "min_tx_rate": 0}
                admin.update(self._admin().get((device, index), {}))
                entry = {"vf": index}
                if legacy:
                    entry["mac"] = admin["mac"]
                    if admin["vlan"]:
                        entry["vlan"] = admin["vlan"]
                    if admin["qos"]:
                        entry["qos"] = admin["qos"]
                    if admin["max_tx_rate"]:
                        entry["tx_rate"] = admin["max_tx_rate"]
                else:
                    entry.update({"link_type": "ether", "address": admin["mac"],
                                  "broadcast": "ff:ff:ff:ff:ff:ff"})
                    vlan = {}
                    if admin["vlan"]:
                        vlan["vlan"] = admin["vlan"]
                    if admin["qos"]:
                        vlan["qos"] = admin["qos"]
                    if admin.get("vlan_protocol") == "802.1ad":
                        vlan["protocol"] = "802.1ad"
                    entry["vlan_list"] = [vlan]
                    entry["rate"] = {"max_tx": admin["max_tx_rate"], "min_tx": admin["min_tx_rate"]}
                for key in ("spoofchk", "link_state", "trust"):
                    if admin[key] is not None:
                        entry[key] = admin[key]
                entries.append(entry)
            link["num_vf"] = len(entries)
            link["vfinfo_list"] = entries
        return json.dumps([link])

    def ip_commands(self, legacy=False, failing=()):
        """A ``commands`` callable for run_module that answers ``ip -j -d link show dev X`` from
        the fake tree (exit code 1 and iproute2's message for netdevs in ``failing`` or unknown)."""
        def answer(argv):
            if argv[:6] == ["ip", "-j", "-d", "link", "show", "dev"] and len(argv) == 7:
                netdev = argv[6]
                if netdev in failing or not os.path.lexists(self.p("sys/class/net", netdev)):
                    return 1, "", 'Device "%s" does not exist.\n' % netdev
                return 0, self.ip_link_json(netdev, legacy=legacy) + "\n", ""
            raise AssertionError("unexpected command %r" % (argv,))
        return answer

    def ip_set_commands(self, refuse=None, udevadm_version="252"):
        """A ``commands`` callable that also applies ``<path>/ip link set dev PF vf N <setting>``
        to the fake PF (what the kernel keeps is read back by ``ip -j -d link show``), answers
        ``udevadm --version``, ``udevadm control --reload`` and ``modprobe`` (``modprobe
        vfio-pci`` registers the vfio-pci driver), and records every argv in ``self.ip_calls``.

        ``refuse`` maps a keyword of the setting (``min_tx_rate``, ``state``, ``802.1ad``, ...) to
        the stderr of a refusal (exit code 2), like igb's ``RTNETLINK answers: Invalid argument``.
        """
        show = self.ip_commands()
        refuse = refuse or {}
        self.ip_calls = []

        def answer(argv):
            self.ip_calls.append(list(argv))
            name = os.path.basename(argv[0])
            if name == "modprobe":
                if argv[-1] == "vfio-pci":
                    self._mkdir("sys/bus/pci/drivers", "vfio-pci")
                return 0, "", ""
            if name == "udevadm":
                if argv[1:] == ["--version"]:
                    return 0, udevadm_version + "\n", ""
                if argv[1:] == ["control", "--reload"]:
                    return 0, "", ""
                raise AssertionError("unexpected command %r" % (argv,))
            if name == "ip" and argv[1:4] == ["link", "set", "dev"] and argv[5] == "vf":
                netdev, index, args = argv[4], int(argv[6]), argv[7:]
                for keyword, message in refuse.items():
                    if keyword in args:
                        return 2, "", message + "\n"
                device = os.path.basename(os.path.realpath(self.p("sys/class/net", netdev, "device")))
                key, value = args[0], args[1]
                if key == "mac":
                    self.set_vf_admin(device, index, mac=value)
                elif key == "vlan":
                    self.set_vf_admin(device, index, vlan=int(value), qos=int(args[3]),
                                      vlan_protocol=args[5] if int(value) else "802.1Q")
                elif key in ("spoofchk", "trust"):
                    self.set_vf_admin(device, index, **{key: value == "on"})
                elif key in ("max_tx_rate", "min_tx_rate"):
                    self.set_vf_admin(device, index, **{key: int(value)})
                elif key == "state":
                    self.set_vf_admin(device, index, link_state=value)
                else:
                    raise AssertionError("unexpected ip arguments %r" % (argv,))
                return 0, "", ""
            return show(list(argv))
        return answer

    # -- addresses and default routes (ip -j addr show, ip -j -4|-6 route show table all default) --
    # The state lives in ``self._ip_state`` (created on first use); ip_management_answer() reports it.
    def _ip(self):
        if not hasattr(self, "_ip_state"):
            self._ip_state = {"addrs": {}, "links": {}, "routes": [], "failing": set()}
        return self._ip_state

    def add_address(self, netdev, address, prefixlen=24):
        """An address on a netdev (of the tree or a virtual one: see add_virtual_link)."""
        family = "inet6" if ":" in address else "inet"
        self._ip()["addrs"].setdefault(netdev, []).append(
            {"family": family, "local": address, "prefixlen": prefixlen, "scope": "global"})

    def add_virtual_link(self, name, link=None, ports=()):
        """A netdev without a device of its own: a VLAN or macvlan on ``link``, or a bond or
        bridge whose ports are ``ports`` (their ``master``)."""
        self._ip()["links"][name] = {"link": link}
        for port in ports:
            self._ip()["links"].setdefault(port, {})["master"] = name

    def add_default_route(self, dev, gateway="192.0.2.1", table=None, protocol=None):
        route = {"dst": "default", "gateway": gateway, "dev": dev, "flags": []}
        if table:
            route["table"] = table
        if protocol:  # "ra": learned from a router advertisement, as ip -j prints it
            route["protocol"] = protocol
        self._ip()["routes"].append(route)

    def enable_ipv6(self):
        self.write("proc/net/if_inet6", "")

    def fail_ip(self, word):
        """Make ``ip -j addr`` (word ``addr``) or ``ip -j ... route`` (word ``route``) fail."""
        self._ip()["failing"].add(word)

    def ip_management_answer(self, argv):
        """(rc, out, err) of ``ip -j addr show`` or ``ip -j -4|-6 route show table all default``
        on the fake host, or None for any other command."""
        import json

        state = self._ip()
        if argv == ["ip", "-j", "addr", "show"]:
            if "addr" in state["failing"]:
                return 255, "", "Cannot open netlink socket: Operation not permitted\n"
            names = sorted(set(os.listdir(self.p("sys/class/net"))) | set(state["links"]) | set(state["addrs"]))
            links = []
            for index, name in enumerate(["lo"] + names):
                item = {"ifindex": index + 1, "ifname": name, "flags": ["UP"], "addr_info": list(state["addrs"].get(name, []))}
                item.update((k, v) for k, v in state["links"].get(name, {}).items() if v)
                if name == "lo":
                    item["addr_info"] = [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]
                links.append(item)
            return 0, json.dumps(links) + "\n", ""
        if argv[:3] == ["ip", "-j", "-4"] or argv[:3] == ["ip", "-j", "-6"]:
            if argv[3:] != ["route", "show", "table", "all", "default"]:
                return None
            if "route" in state["failing"]:
                return 2, "", "Error: ipv4: FIB table does not exist.\n"
            v6 = argv[2] == "-6"
            routes = [r for r in state["routes"] if (":" in r["gateway"]) == v6]
            return 0, json.dumps(routes) + "\n", ""
        return None

    def vf_stage_commands(self):
        """The command runner of an ``sriov_vfs`` run on this host: ``ip -j addr``/route (see
        ip_management_answer), ``ip -j -d link show PF`` without VFs, ``udevadm --version`` 252,
        and success for udevadm, systemctl and ``ip link set``; anything else fails the test."""
        import json

        def commands(argv):
            answer = self.ip_management_answer(argv)
            if answer is not None:
                return answer
            if argv[0].endswith("ip") and argv[1] == "-j":
                return 0, json.dumps([{"ifname": argv[-1], "vfinfo_list": []}]), ""
            if argv[0].endswith("udevadm") and argv[1] == "--version":
                return 0, "252\n", ""
            if argv[0].endswith("udevadm") or argv[0].endswith("systemctl") or argv[:3] == ["ip", "link", "set"]:
                return 0, "", ""
            raise AssertionError(argv)

        return commands

    def numvfs(self, address):
        """The PF's sriov_numvfs as an int."""
        return int(self.read("sys/bus/pci/devices/%s/sriov_numvfs" % address))

    def set_interrupts(self, remapped=True):
        """/proc/interrupts with IO-APIC and MSI lines, through the IOMMU (IR-) or not."""
        prefix = "IR-" if remapped else ""
        text = ("           CPU0       CPU1\n"
                "  0:         37          0   %sIO-APIC   2-edge      timer\n"
                "  9:          0          0   %sIO-APIC   9-fasteoi   acpi\n"
                " 24:          0          0   %sPCI-MSIX-0000:01:00.0    0-edge      enp1s0\n"
                "NMI:          0          0   Non-maskable interrupts\n") % (prefix, prefix, prefix)
        self.write("proc/interrupts", text)


class FakeWriter(object):
    """Stands in for SubprocessWriter: applies the kernel's rules to the fake tree.

    ``fail``: {value: errno} to refuse a write; ``hang``: values whose write never returns;
    ``partial``: {value: count actually enabled}.
    """

    def __init__(self, fake, fail=None, hang=(), partial=None, vf_driver=True):
        self.fake = fake
        self.fail = fail or {}
        self.hang = set(hang)
        self.partial = partial or {}
        self.vf_driver = vf_driver
        self.writes = []

    def __call__(self, path, value, timeout):
        number = int(value)
        self.writes.append(number)
        pf = os.path.basename(os.path.dirname(path))
        if number in self.hang:
            return WriteResult(timed_out=True, pid=4242)
        if number in self.fail:
            code = self.fail[number]
            return WriteResult(err=code, message=os.strerror(code))
        current = int(self.fake.read("sys/bus/pci/devices/%s/sriov_numvfs" % pf))
        total = int(self.fake.read("sys/bus/pci/devices/%s/sriov_totalvfs" % pf))
        if number > total:
            return WriteResult(err=errno.ERANGE, message="Numerical result out of range")
        if current and number and current != number:
            return WriteResult(err=errno.EBUSY, message="Device or resource busy")
        self.fake.set_numvfs(pf, self.partial.get(number, number), vf_driver=self.vf_driver)
        return WriteResult(ok=True)
