"""(3) Scale of discovery, in-process: the collection's sriov_info logic versus a bare walk.

A: what sriov_info does after connecting: list_sriov_pfs + collect_vf_usage (one pass over the
   libvirt test driver's networks and domains) + describe_all (sysfs + one ``ip -j`` per PF).
B: the floor: os.listdir/readlink/read of the same tree, json.loads of the same ``ip`` output,
   and the same libvirt pass (list + XMLDesc + ElementTree findall), computing the same fields.

Both get the ``ip`` output from the same in-memory table (no process is spawned), and both use
one libvirt connection opened before the timing (opening parses the node XML once).
"""

import json
import os
import xml.etree.ElementTree as ET

import fakes
import stats
from benchenv import import_collection

import_collection()
import libvirt  # noqa: E402
from ansible_collections.virt.sriov.plugins.module_utils._host import Host  # noqa: E402
from ansible_collections.virt.sriov.plugins.module_utils._sriov_facts import describe_all  # noqa: E402
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import list_sriov_pfs  # noqa: E402
from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage  # noqa: E402

libvirt.registerErrorHandler(lambda *_a: None, None)
DEV = "sys/bus/pci/devices"


def _runner(ip_json):
    def run(argv, **_kw):
        if argv[:6] == ["ip", "-j", "-d", "link", "show", "dev"] and argv[6] in ip_json:
            return 0, ip_json[argv[6]], ""
        return 1, "", "unexpected %r" % (argv,)
    return run


def collection(root, conn, ip_json, libvirt_on=True):
    host = Host(root=root, run_command=_runner(ip_json))
    addresses = list_sriov_pfs(host)
    usage = collect_vf_usage(conn, host) if libvirt_on else None
    return describe_all(host, addresses, usage=usage)


def _link(path):
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def floor(root, conn, ip_json, libvirt_on=True):
    """The same fields by the shortest road."""
    users = {}
    pools = {}
    if libvirt_on:
        for net in conn.listAllNetworks(0):
            x = ET.fromstring(net.XMLDesc(0))
            fwd = x.find("forward")
            if fwd is not None and fwd.get("mode") == "hostdev":
                pf = fwd.find("pf")
                pools[x.findtext("name")] = pf.get("dev") if pf is not None else None
        for dom in conn.listAllDomains(0):
            running = dom.isActive()
            texts = ([dom.XMLDesc(0)] if running else []) + ([dom.XMLDesc(2)] if dom.isPersistent() else [])
            for text in texts:
                for a in ET.fromstring(text).iterfind("devices/*/source/address"):
                    key = "%04x:%02x:%02x.%x" % (int(a.get("domain", "0"), 16), int(a.get("bus"), 16),
                                                 int(a.get("slot"), 16), int(a.get("function"), 16))
                    users.setdefault(key, set()).add(dom.name())
    pool_vfs = {}
    base = os.path.join(root, DEV)
    result = []
    for name in sorted(os.listdir(base)):
        d = os.path.join(base, name)
        if not os.path.exists(os.path.join(d, "sriov_totalvfs")) or os.path.lexists(os.path.join(d, "physfn")):
            continue
        if (int(_read(os.path.join(d, "class")), 0) >> 16) != 2:
            continue
        netdevs = sorted(os.listdir(os.path.join(d, "net"))) if os.path.isdir(os.path.join(d, "net")) else []
        netdev = netdevs[0] if netdevs else None
        pf = {"pci_address": name, "netdevs": netdevs, "netdev": netdev, "driver": _link(os.path.join(d, "driver")),
              "vendor_id": _read(os.path.join(d, "vendor")), "device_id": _read(os.path.join(d, "device")),
              "totalvfs": int(_read(os.path.join(d, "sriov_totalvfs"))),
              "numvfs": int(_read(os.path.join(d, "sriov_numvfs"))),
              "drivers_autoprobe": _read(os.path.join(d, "sriov_drivers_autoprobe")) == "1",
              "link_state": _read(os.path.join(d, "net", netdev, "operstate")) if netdev else None,
              "mac": _read(os.path.join(d, "net", netdev, "address")) if netdev else None}
        settings = {}
        if netdev in ip_json:
            for entry in json.loads(ip_json[netdev])[0].get("vfinfo_list", []):
                settings[entry["vf"]] = entry
        vfs = []
        for entry in os.listdir(d):
            if entry.startswith("virtfn"):
                idx = int(entry[6:])
                addr = _link(os.path.join(d, entry))
                vd = os.path.join(base, addr)
                vnet = os.listdir(os.path.join(vd, "net")) if os.path.isdir(os.path.join(vd, "net")) else []
                s = settings.get(idx, {})
                vfs.append({"index": idx, "pci_address": addr, "driver": _link(os.path.join(vd, "driver")),
                            "iommu_group": _link(os.path.join(vd, "iommu_group")), "netdev": vnet[0] if vnet else None,
                            "mac": s.get("address"), "vlan": (s.get("vlan_list") or [{}])[0].get("vlan", 0),
                            "spoofchk": s.get("spoofchk"), "trust": s.get("trust"), "link_state": s.get("link_state"),
                            "used_by": sorted(users.get(addr, ())) if libvirt_on else None,
                            "networks": [n for n, dev in pools.items() if dev == netdev] if libvirt_on else None})
        vfs.sort(key=lambda v: v["index"])
        pool_vfs[netdev] = vfs
        pf["vfs"] = vfs
        result.append(pf)
    return result


def prepare(work, pfs, vfs, domains):
    root = os.path.join(work, "discovery-%dx%d" % (pfs, vfs))
    if not os.path.isdir(os.path.join(root, "sys")):
        fake, addresses = fakes.build_tree(root, pfs, vfs)
        ip_json = fakes.ip_json_by_netdev(fake, addresses)
        with open(root + ".ip.json", "w") as handle:
            json.dump(ip_json, handle)
        vf_list = fakes.vf_list(fake, addresses)
        netdevs = [fake.pfs[a]["netdev"] for a in addresses]
    else:
        with open(root + ".ip.json") as handle:
            ip_json = json.load(handle)
        vf_list = []
        netdevs = sorted(ip_json)
        base = os.path.join(root, DEV)
        for name in sorted(os.listdir(base)):
            for e in sorted(os.listdir(os.path.join(base, name))):
                if e.startswith("virtfn"):
                    vf_list.append((name, _link(os.path.join(base, name, e))))
    node = fakes.node_xml(os.path.join(work, "node-%dx%d-%d.xml" % (pfs, vfs, domains)), domains, vf_list,
                          pf_netdevs=netdevs)
    return root, node, ip_json


def measure(work, pfs, vfs, domains, pairs, inner=3):
    root, node, ip_json = prepare(work, pfs, vfs, domains)
    conn = libvirt.open("test://" + os.path.abspath(node))
    a_out = collection(root, conn, ip_json)
    b_out = floor(root, conn, ip_json)
    n_vfs = sum(len(p["vfs"]) for p in a_out)
    used = sum(1 for p in a_out for v in p["vfs"] if v["used_by"])
    check = {"pfs": len(a_out), "vfs": n_vfs, "vfs_used": used,
             "same_vfs": [v["pci_address"] for p in a_out for v in p["vfs"]] ==
                         [v["pci_address"] for p in b_out for v in p["vfs"]],
             "same_used": used == sum(1 for p in b_out for v in p["vfs"] if v["used_by"]),
             "domains": conn.numOfDomains() + conn.numOfDefinedDomains()}

    def timed(fn, libvirt_on):
        def run():
            import time
            t0 = time.perf_counter()
            for _i in range(inner):
                fn(root, conn, ip_json, libvirt_on)
            return (time.perf_counter() - t0) / inner
        return run

    full = stats.alternate(timed(collection, True), timed(floor, True), pairs)
    sysfs_only = stats.alternate(timed(collection, False), timed(floor, False), pairs)
    libvirt_scan = stats.alternate(lambda: _time_usage(conn, root, inner), lambda: None, 1)
    conn.close()
    return {"pfs": pfs, "vfs_per_pf": vfs, "domains_requested": domains, "check": check,
            "full": full, "sysfs_only": sysfs_only, "usage_scan_s": libvirt_scan[0][0]}


def _time_usage(conn, root, inner):
    import time
    host = Host(root=root)
    t0 = time.perf_counter()
    for _i in range(inner):
        collect_vf_usage(conn, host)
    return (time.perf_counter() - t0) / inner
