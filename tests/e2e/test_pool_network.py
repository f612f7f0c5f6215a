"""Hostdev pool network (RHEL guide 17.2.4) in the emulated hypervisor, through the
vf_pool_network role and the libvirt_vf_pool_network module.

One test, in order, because each step builds on the previous one and every step costs
seconds under TCG:

1. four steps with the role (check, apply, check, apply): changed, changed, not, not, each one
   module execution; ``virsh net-dumpxml`` lists the 4 VFs; the boot-ordering drop-ins were
   written by the same execution;
2. guestVM with ``<interface type='network'>`` starts; the network reports connections='1';
3. the VF count changes (guest stopped: 4 -> 0 -> 2), the guest starts again on the now stale
   pool: the role refuses and names guestVM;
4. guest stopped: the role restarts the network into a fresh pool of 2 VFs; then idempotent;
5. reboot (VFs persisted by a udev rule): the network is active with both VFs, and libvirtd
   started after systemd-udev-settle, after the VFs were created;
6. removing the network is refused while guestVM's persistent definition names it (shut off);
   two partitions (``vf_range``) that overlap are refused; once the interface is gone, the
   network is removed and a partition of VF 1 lists only that VF.

The lab is left as it was found (finalizer): guest off and without the interface, network,
drop-in and udev rule removed, no VFs.
"""
import json
import re

import pytest

pytestmark = pytest.mark.lab

NET = "e2e-pool"
PART = "e2e-part"
PF = "enp1s0"
SYSFS = f"/sys/class/net/{PF}/device/sriov_numvfs"
RULE = "/etc/udev/rules.d/70-virt-sriov-e2e-pool.rules"
DROPIN = "/etc/systemd/system/libvirtd.service.d/50-virt-sriov.conf"
DROPIN2 = "/etc/systemd/system/{virtqemud,virtnetworkd}.service.d/50-virt-sriov.conf"
IFACE_XML = "/root/e2e-pool-if.xml"
VIRSH = "virsh -c qemu:///system"

ROLE_STEPS = """
- hosts: all
  gather_facts: false
  tasks:
{steps}
"""
ROLE_STEP = """    - name: "{label}"
      ansible.builtin.include_role:
        name: virt.sriov.vf_pool_network
        apply:
          check_mode: {check}
          ignore_errors: {ignore}
      vars:
        vf_pool_network_networks:
          - name: {net}
            pf: {pf}
"""


def role_play(*steps):
    """A playbook running the role once per (label, check_mode, ignore_errors) step."""
    text = "".join(ROLE_STEP.format(label=label, check="true" if check else "false", net=NET, pf=PF,
                                    ignore="true" if ignore else "false")
                   for label, check, ignore in steps)
    return ROLE_STEPS.format(steps=text)


def manage_results(res):
    """Results of the role's module task, in run order."""
    return [t for t in res.tasks if t.task.endswith("Manage the pool networks")]


def net_facts(lab):
    out = lab.ssh(f"{VIRSH} net-dumpxml {NET}; {VIRSH} net-info {NET}", check=True).stdout
    addresses = re.findall(r"<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x(\d)'/>", out)
    conn = re.search(r"<network connections='(\d+)'>", out)
    return {
        "vfs": ["0000:01:10.%s" % f for f in addresses],
        "connections": int(conn.group(1)) if conn else 0,
        "active": bool(re.search(r"Active:\s+yes", out)),
        "autostart": bool(re.search(r"Autostart:\s+yes", out)),
        "raw": out,
    }


def set_numvfs(lab, count):
    lab.ssh(f"echo 0 > {SYSFS} && echo {count} > {SYSFS} && udevadm settle", check=True, timeout=120)


CLEANUP = f"""
{VIRSH} destroy guestVM >/dev/null 2>&1
[ -f {IFACE_XML} ] && {VIRSH} detach-device guestVM {IFACE_XML} --config >/dev/null 2>&1
rm -f {IFACE_XML}
for n in {NET} {PART}; do {VIRSH} net-destroy $n >/dev/null 2>&1; {VIRSH} net-undefine $n >/dev/null 2>&1; done
rm -f {RULE} {DROPIN} {DROPIN2}
rmdir /etc/systemd/system/{{libvirtd,virtqemud,virtnetworkd}}.service.d 2>/dev/null
systemctl daemon-reload
udevadm control --reload
echo 0 > {SYSFS}
true
"""


PARTITIONS = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: remove while a definition names it
      virt.sriov.libvirt_vf_pool_network:
        networks: [{{name: {NET}, state: absent}}]
      ignore_errors: true
    - name: overlapping partitions
      virt.sriov.libvirt_vf_pool_network:
        networks: [{{name: {PART}, pf: {PF}, vf_range: "1"}}, {{name: {PART}-2, pf: {PF}, vf_range: "0-1"}}]
      ignore_errors: true
    - name: take the interface out of guestVM's definition
      ansible.builtin.command: {VIRSH} detach-device guestVM {IFACE_XML} --config
    - name: remove and partition
      virt.sriov.libvirt_vf_pool_network:
        networks: [{{name: {NET}, state: absent}}, {{name: {PART}, pf: {PF}, vf_range: "1"}}]
    - name: partition xml
      ansible.builtin.command: {VIRSH} net-dumpxml {PART}
      changed_when: false
"""


@pytest.fixture
def pool_lab(lab):
    lab.ssh(CLEANUP, timeout=300)
    lab.ssh(f"ip link set {PF} up", check=True)  # guests on a VF of a PF that is down fail
    yield lab
    lab.ssh(CLEANUP, timeout=300)


def test_pool_network_lifecycle(pool_lab):
    lab = pool_lab
    set_numvfs(lab, 4)

    # 1. four steps
    res = lab.run_playbook(role_play(("check 1", True, False), ("apply 1", False, False),
                                     ("check 2", True, False), ("apply 2", False, False)), diff=True)
    steps = manage_results(res)
    assert [t.changed for t in steps] == [True, True, False, False], [t.result for t in steps]
    first = steps[0].result["networks"][0]
    assert first["actions"] == ["define", "start", "autostart"], first
    assert [t.result["boot_order"]["changed"] for t in steps] == [True, True, False, False]
    assert DROPIN in steps[1].result["boot_order"]["files"], steps[1].result
    executed = [t.task for t in res.tasks if t.action.endswith("libvirt_vf_pool_network")]
    assert len(executed) == 4, executed  # one module execution per role run
    applied = steps[1].result["networks"][0]["network"]
    vfs4 = ["0000:01:10.0", "0000:01:10.2", "0000:01:10.4", "0000:01:10.6"]
    assert applied["vfs"] == vfs4 and applied["active"] and applied["autostart"], applied
    facts = net_facts(lab)
    assert facts["vfs"] == vfs4 and facts["active"] and facts["autostart"], facts["raw"]
    order = lab.ssh(f"cat {DROPIN}; systemctl show -p After -p Wants libvirtd.service", check=True).stdout
    assert "After=systemd-udev-settle.service" in order and re.search(r"^After=.*systemd-udev-settle", order, re.M), order

    # 2. a guest on the network
    lab.ssh(f"printf '%s' \"<interface type='network'><source network='{NET}'/></interface>\" > {IFACE_XML} && "
            f"{VIRSH} attach-device guestVM {IFACE_XML} --config && {VIRSH} start guestVM", check=True, timeout=300)
    facts = net_facts(lab)
    assert facts["connections"] == 1, facts["raw"]

    # 3. guest off, VF count 4 -> 2, guest on again: the running pool is stale and in use
    lab.ssh(f"{VIRSH} destroy guestVM", check=True)
    set_numvfs(lab, 2)
    lab.ssh(f"{VIRSH} start guestVM", check=True, timeout=300)
    res = lab.run_playbook(role_play(("refused", False, True)))
    refused = manage_results(res)[0]
    assert refused.status == "ignored", refused.result
    msg = refused.result["msg"]
    assert "is in use" in msg and "guestVM" in msg and "stale" in msg, msg
    assert net_facts(lab)["vfs"] == vfs4  # untouched

    # 4. guest off: the stale pool is restarted fresh; then idempotent. VFs persist for 5.
    lab.ssh(f"{VIRSH} destroy guestVM && printf '%s\\n' "
            f"'ACTION==\"add\", SUBSYSTEM==\"net\", KERNELS==\"0000:01:00.0\", ATTR{{device/sriov_numvfs}}=\"2\"' "
            f"> {RULE} && udevadm control --reload", check=True)
    res = lab.run_playbook(role_play(("restart", False, False), ("again", True, False)))
    restart, again = manage_results(res)
    assert restart.changed and restart.result["networks"][0]["actions"] == ["stop", "start"], restart.result
    assert "stale" in restart.result["networks"][0]["reasons"][0]
    assert not again.changed, again.result
    vfs2 = ["0000:01:10.0", "0000:01:10.2"]
    assert net_facts(lab)["vfs"] == vfs2

    # 5. reboot: the autostarted network comes back with every VF
    lab.reboot()
    facts = net_facts(lab)
    assert facts["active"] and facts["vfs"] == vfs2, facts["raw"]
    # libvirt 11.3 from bookworm-backports ships Type=notify-reload, which systemd 252 does not
    # know ("Failed to parse service type, ignoring"): libvirtd then runs as Type=simple, which
    # logs "Started" without a "Starting" line. The first of either is when libvirtd began.
    boot = lab.ssh("journalctl -b -o short-monotonic --no-pager | "
                   "grep -E 'VFs allocated|Finished systemd-udev-settle|Start(ing|ed) libvirtd.service' | head -8",
                   check=True).stdout
    lines = boot.splitlines()
    stamps = {}
    for line in lines:
        stamp = float(re.match(r"\[\s*([\d.]+)\]", line).group(1))
        for key in ("VFs allocated", "udev-settle", "libvirtd"):
            if key in line:
                stamps.setdefault(key, stamp)
    assert set(stamps) == {"VFs allocated", "udev-settle", "libvirtd"}, boot
    assert stamps["VFs allocated"] < stamps["udev-settle"] <= stamps["libvirtd"], boot
    print(json.dumps({"boot": lines, "net": facts["raw"]}, indent=1))

    # 6. persistent users, partitions
    res = lab.run_playbook(PARTITIONS)
    refused = res.task("remove while a definition names it")
    assert refused.status == "ignored", refused.result
    assert "persistent definition of domain(s) guestVM" in refused.result["msg"], refused.result
    overlap = res.task("overlapping partitions")
    assert overlap.status == "ignored" and "claimed by several networks" in overlap.result["msg"], overlap.result
    done = res.task("remove and partition")
    assert [n["actions"] for n in done.result["networks"]] == [["stop", "undefine"], ["define", "start"]]
    part = res.task("partition xml").result["stdout"]
    assert "<pf " not in part and re.findall(r"function='0x(\d)'", part) == ["2"], part
    names = lab.ssh(f"{VIRSH} net-list --all --name", check=True).stdout.split()
    assert NET not in names and PART in names, names
