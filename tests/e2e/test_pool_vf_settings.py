"""VF settings of a hostdev pool network (libvirt_vf_pool_network vf_settings) in the emulated
hypervisor (igb, Intel 82576).

test_pool_vf_settings_apply_heal_and_guest, in order:
  1. 4 VFs on enp1s0 with the count rule; a pool of VFs 0-1 with trust on and spoofchk off, the
     four-step proof (check: changed, apply: changed, check: not changed, apply: not changed);
     ``ip -j -d link show enp1s0`` shows VFs 0-1 trusted with spoofchk off and VFs 2-3 untouched;
     the network's rule file holds one line per VF and setting; a MAC in vf_settings is refused
     naming the network;
  2. modprobe -r igb && modprobe igb: the count rule brings the 4 VFs back and the pool's rule
     file their settings (udev alone); the module then has nothing to do;
  3. guestVM started with ``<interface type='network'>`` on the pool gets VF 0 or 1, and that VF
     is trusted with spoofchk off;
  4. state absent removes the network and its rule file.
The lab is left as it was found (finalizer): guest off and without the interface, network and rule
files removed, no VFs, autoprobe on.
"""
import json
import re

import pytest

pytestmark = pytest.mark.lab

NET = "e2e-trusted"
PF_DEV = "/sys/class/net/enp1s0/device"
POOL_RULE = f"/etc/udev/rules.d/84-virt-sriov-pool-{NET}.rules"
IFACE_XML = "/root/e2e-trusted-if.xml"
VIRSH = "virsh -c qemu:///system"
CLEANUP = f"""
{VIRSH} destroy guestVM >/dev/null 2>&1
[ -f {IFACE_XML} ] && {VIRSH} detach-device guestVM {IFACE_XML} --config >/dev/null 2>&1
rm -f {IFACE_XML}
{VIRSH} net-destroy {NET} >/dev/null 2>&1; {VIRSH} net-undefine {NET} >/dev/null 2>&1
rm -f /etc/udev/rules.d/82-virt-sriov-numvfs-*.rules /etc/udev/rules.d/83-virt-sriov-vf-settings-*.rules \
  /etc/udev/rules.d/84-virt-sriov-pool-*.rules
udevadm control --reload
echo 0 > {PF_DEV}/sriov_numvfs; echo 1 > {PF_DEV}/sriov_drivers_autoprobe
true
"""
POOL = {"name": NET, "pf": "enp1s0", "vf_range": "0-1", "vf_settings": {"trust": True, "spoofchk": False}}
FOUR_STEPS = (("check1", True), ("apply1", False), ("check2", True), ("apply2", False))


def _task(name, args, check=False, ignore=False):
    text = f"""
    - name: "{name}"
      virt.sriov.libvirt_vf_pool_network: {json.dumps(args)}
      check_mode: {str(check).lower()}
"""
    return text + ("      ignore_errors: true\n" if ignore else "")


PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: VFs
      virt.sriov.sriov_vfs: {pf: enp1s0, num_vfs: 4}
    - name: count rule
      virt.sriov.sriov_udev_rule: {pf: enp1s0, num_vfs: 4, link_up: true}
""" + "".join(_task(n, POOL, check=c) for n, c in FOUR_STEPS) + _task(
    "mac refused", dict(POOL, vf_settings={"mac": "52:54:00:00:00:10"}), ignore=True) + f"""
    - name: readback
      ansible.builtin.shell: "udevadm settle; ip -j -d link show enp1s0; cat {POOL_RULE}"
      changed_when: false
"""


def vf_flags(ip_json):
    """{vf: (trust, spoofchk)} from the text of ip -j -d link show PF."""
    link = json.loads(ip_json)[0]
    return {e["vf"]: (e["trust"], e["spoofchk"]) for e in link.get("vfinfo_list", [])}


EXPECTED = {0: (True, False), 1: (True, False), 2: (False, True), 3: (False, True)}


@pytest.fixture
def clean_lab(lab):
    lab.ssh(CLEANUP, check=True, timeout=300)
    lab.ssh("ip link set enp1s0 up", check=True)
    yield lab
    lab.ssh(CLEANUP, timeout=300)


def test_pool_vf_settings_apply_heal_and_guest(clean_lab):
    lab = clean_lab
    res = lab.run_playbook(PLAY, diff=True)
    r = {t.task: t for t in res.tasks}

    # 1. four steps; VFs 0-1 set, 2-3 untouched; rule file; MAC refused
    assert [r[n].changed for n in ("check1", "apply1", "check2", "apply2")] == [True, True, False, False], \
        [r[n].result for n in ("check1", "apply1", "check2", "apply2")]
    changes = r["apply1"].result["vf_settings"]["changes"]
    assert {(c["vf"], c["setting"]) for c in changes} == {(0, "trust"), (0, "spoofchk"), (1, "trust"), (1, "spoofchk")}
    reported = r["apply2"].result["vf_settings"]["vfs"]
    assert [(v["vf"], v["trust"], v["spoofchk"]) for v in reported] == [(0, True, False), (1, True, False)]
    first, _sep, rule = r["readback"].result["stdout"].partition("\n")
    assert vf_flags(first) == EXPECTED, first
    assert 'KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", RUN+="/usr/sbin/ip link set dev $name vf 1 trust on"' in rule
    assert len([line for line in rule.splitlines() if line.startswith("ACTION")]) == 4, rule
    refused = r["mac refused"]
    assert refused.status == "ignored" and f"vf_settings of network {NET} cannot set mac" in refused.result["msg"]

    # 2. driver reload: count and pool settings back from udev; nothing left to do
    lab.ssh("modprobe -r igb && modprobe igb", check=True, timeout=300)
    out = lab.ssh(f"udevadm settle; cat {PF_DEV}/sriov_numvfs; ip -j -d link show enp1s0", check=True).stdout
    count, _sep, ip_json = out.partition("\n")
    assert int(count) == 4 and vf_flags(ip_json) == EXPECTED, out
    again = lab.run_playbook("""
- hosts: all
  gather_facts: false
  tasks:
""" + _task("again", POOL))
    assert not again.task("again").changed, again.task("again").result

    # 3. a guest on the pool gets a trusted VF
    lab.ssh("ip link set enp1s0 up", check=True)
    lab.ssh(f"printf '%s' \"<interface type='network'><source network='{NET}'/></interface>\" > {IFACE_XML} && "
            f"{VIRSH} attach-device guestVM {IFACE_XML} --config && {VIRSH} start guestVM", check=True, timeout=300)
    live = lab.ssh(f"{VIRSH} dumpxml guestVM", check=True).stdout
    source = re.search(r"<interface type='hostdev'.*?<source>\s*<address type='pci' domain='0x(\w+)' bus='0x(\w+)' "
                       r"slot='0x(\w+)' function='0x(\w+)'/>", live, re.S)
    assert source, live
    address = "%04x:%02x:%02x.%x" % tuple(int(x, 16) for x in source.groups())
    links = lab.ssh(f"for l in {PF_DEV}/virtfn*; do echo $(basename $l) $(basename $(readlink $l)); done; "
                    "ip -j -d link show enp1s0", check=True).stdout.splitlines()
    index_of = {addr: int(name[6:]) for name, addr in (line.split() for line in links[:-1])}
    vf = index_of[address]
    assert vf in (0, 1) and vf_flags(links[-1])[vf] == (True, False), (address, links)

    # 4. removing the network removes its rule file
    lab.ssh(f"{VIRSH} destroy guestVM && {VIRSH} detach-device guestVM {IFACE_XML} --config", check=True)
    gone = lab.run_playbook("""
- hosts: all
  gather_facts: false
  tasks:
""" + _task("absent", {"name": NET, "state": "absent"}))
    result = gone.task("absent").result
    assert gone.task("absent").changed and result["vf_settings"]["rule"] is None, result
    assert lab.ssh(f"test -e {POOL_RULE} || echo gone").stdout.strip() == "gone"
