"""Fake hypervisors for the benchmarks: sysfs trees, libvirt test-driver node XML, fake commands.

Trees use tests/unit/fakehost.py (the unit tests' own layout: device directories under
/sys/devices/pci0000:00, relative symlinks for /sys/bus/pci/devices, /sys/class/net, driver,
iommu_group, physfn, virtfnN), so the module code walks them exactly as in the unit tests.
"""

import json
import os
import sys

from xml.sax.saxutils import escape

from benchenv import REPO, import_collection

import_collection()
sys.path.insert(0, os.path.join(REPO, "tests", "unit"))
from fakehost import FakeHost  # noqa: E402  (needs the collection importable)


def pf_address(i):
    """PF i at bus 0x10 + 4*i: room for 256 VFs (offset 128, stride 2 -> 2.5 buses)."""
    return "0000:%02x:00.0" % (0x10 + 4 * i)


def build_tree(root, pfs, vfs, totalvfs=None, card="mlx5_core", extras=True):
    """A host with ``pfs`` PFs of ``vfs`` VFs each (VF host driver bound, one netdev each)."""
    fake = FakeHost(root)
    addresses = []
    for i in range(pfs):
        address = fake.add_pf(pf_address(i), "ens%df0" % (i + 1), card=card,
                              totalvfs=totalvfs or max(vfs, 1), mac="52:54:00:aa:%02x:01" % i)
        if vfs:
            fake.set_numvfs(address, vfs)
        addresses.append(address)
    if extras:
        fake.set_cpu()
        fake.set_cmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro intel_iommu=on iommu=pt")
        fake.set_firmware_table("DMAR")
        fake.add_iommu_unit()
        fake.set_interrupts()
        fake.write("usr/bin/udevadm", "fake\n")  # the modules look for it under the root
        fake.add_program("usr/sbin/ip")  # sriov_udev_rule link_up writes its path into the rule
        os.makedirs(fake.p("etc/udev/rules.d"), exist_ok=True)
    return fake, addresses


def ip_json_by_netdev(fake, addresses):
    """What ``ip -j -d link show dev PF`` prints for each PF netdev (precomputed once)."""
    out = {}
    for address in addresses:
        netdev = fake.pfs[address]["netdev"]
        out[netdev] = fake.ip_link_json(netdev) + "\n"
    return out


def vf_list(fake, addresses):
    """[(pf address, VF address)] in index order, read back from the tree's virtfn links."""
    result = []
    for address in addresses:
        base = fake.p("sys/bus/pci/devices", address)
        idx = sorted(int(e[6:]) for e in os.listdir(base) if e.startswith("virtfn"))
        for i in idx:
            result.append((address, os.path.basename(os.readlink(os.path.join(base, "virtfn%d" % i)))))
    return result


def node_xml(path, domains, vfs, networks=2, pf_netdevs=()):
    """A libvirt test-driver node (``test:///path``) with ``domains`` domains.

    Every second domain has a hostdev <interface> on its own fake VF (as operators assign
    them), every fourth a second one as a <hostdev>; the first ``networks`` PFs get a
    hostdev pool network (forward mode hostdev, <pf dev=...>). Half the domains run.
    """
    parts = ["<node>",
             "<cpu><mhz>2000</mhz><model>x86</model><active>2</active><total>2</total>"
             "<nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads></cpu>",
             "<memory>25165824</memory>"]
    for n, netdev in enumerate(list(pf_netdevs)[:networks]):
        parts.append("<network><name>pool%d</name><uuid>%s</uuid>"
                     "<forward mode='hostdev' managed='yes'><pf dev='%s'/></forward></network>"
                     % (n, "6a3c1e2b-0000-4000-8000-%012x" % n, escape(netdev)))
    free = iter(vfs)

    def addr(vf):
        d, b, sf = vf.split(":")
        s, f = sf.split(".")
        return "<address type='pci' domain='0x%s' bus='0x%s' slot='0x%s' function='0x%s'/>" % (d, b, s, f)

    for i in range(domains):
        devices = ["<disk type='file' device='disk'><source file='/guest%d.img'/><target dev='vda' bus='virtio'/></disk>" % i]
        if i % 2 == 0:
            vf = next(free, None)
            if vf:
                devices.append("<interface type='hostdev' managed='yes'><mac address='52:54:00:%02x:%02x:01'/>"
                               "<source>%s</source><vlan><tag id='42'/></vlan></interface>"
                               % ((i >> 8) & 255, i & 255, addr(vf[1])))
        if i % 4 == 0:
            vf = next(free, None)
            if vf:
                devices.append("<hostdev mode='subsystem' type='pci' managed='yes'><source>%s</source></hostdev>"
                               % addr(vf[1]))
        if i % 8 == 1:
            devices.append("<interface type='network'><source network='pool0'/></interface>")
        devices.append("<interface type='network'><source network='default'/></interface>")
        parts.append("<domain type='test'><name>guest%04d</name><uuid>%s</uuid>"
                     "<memory>131072</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
                     "<on_poweroff>destroy</on_poweroff><devices>%s</devices></domain>"
                     % (i, "9b1c0d2e-0000-4000-8000-%012x" % i, "".join(devices)))
    parts.append("</node>")
    with open(path, "w") as handle:
        handle.write("\n".join(parts))
    return path


def write_ip_cache(fake, addresses):
    """Precomputed ip JSON next to the tree (bench/fakebin/ip prints it)."""
    cache = fake.p("bench-ip")
    os.makedirs(cache, exist_ok=True)
    for netdev, text in ip_json_by_netdev(fake, addresses).items():
        with open(os.path.join(cache, netdev + ".json"), "w") as handle:
            handle.write(text)


def describe_tree(fake, addresses):
    return {"pfs": len(addresses), "root": fake.root,
            "vfs": len(vf_list(fake, addresses))}


if __name__ == "__main__":  # python3 bench/lib/fakes.py DIR PFS VFS: build one tree by hand
    f, a = build_tree(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
    write_ip_cache(f, a)
    print(json.dumps(describe_tree(f, a)))
