"""A nested guest with an operating system sees the VF the collection gave it.

guestOS (tests/lab/files/guestOS.xml) boots the lab's own kernel with a busybox initramfs whose
/init loads igbvf and prints what the guest sees (PCI IDs and drivers, ``ip -d link``, new kernel
messages) to its serial console, a file on the lab host, after every change. One test, in order,
because the nested boot (TCG inside the TCG lab) costs minutes:

1. guestOS boots; its first report shows no 82576 VF.
2. libvirt_hostdev_interface hotplugs VF 1 of enp1s0 with the guide's MAC and VLAN 42; the guest
   reports an 8086:10ca device bound to igbvf with MAC 52:54:00:6d:90:02 (the VLAN is applied by
   the PF, invisible to the guest: the host shows it on ``vf 1``).
3. libvirt_vf_pool_network + the guest_interfaces role hotplug an interface on a hostdev pool
   network: the guest reports a second igbvf device, with the MAC the role derived.
4. A live detach of VF 1: the guest's pciehp handles the removal (its kernel messages are on the
   console), the module returns, the VF is back on igbvf on the host, and the guest no longer
   reports the MAC.
5. ``virsh shutdown``: the guest's /init sees the ACPI power button and powers off; the domain
   is shut off (not destroyed).

The lab is left as found: guestOS off and without interfaces, no pool network, VF count and PF
link state restored.

Part of ``make e2e`` (measured 4.4 min for the whole test, tests/lab/README.md); opt out with
``VIRT_SRIOV_LAB_GUEST_OS=0``; ``make e2e-guest-os`` runs it alone.
"""
import os
import re
import time

import pytest

pytestmark = pytest.mark.lab

VIRSH = "virsh -c qemu:///system"
PF = "enp1s0"
SYSFS = f"/sys/class/net/{PF}/device/sriov_numvfs"
VF1 = "0000:01:10.2"
MAC = "52:54:00:6d:90:02"
NET = "os-pool"
GUEST = "guestOS"
CONSOLE = "/var/log/libvirt/qemu/guestOS-console.log"
VF_ID = "8086:10ca"
BOOT_TIMEOUT = 900  # measured 2-4 min on a quiet machine; TCG in TCG slows with load
SHUTDOWN_TIMEOUT = 180  # measured 5-13 s

CLEANUP = f"""
{VIRSH} destroy {GUEST} >/dev/null 2>&1
{VIRSH} dumpxml --inactive {GUEST} > /tmp/os-guest.xml
python3 - <<'EOF'
import xml.etree.ElementTree as ET, subprocess
root = ET.parse('/tmp/os-guest.xml').getroot()
for iface in root.find('devices').findall('interface'):
    open('/tmp/os-if.xml', 'w').write(ET.tostring(iface, encoding='unicode'))
    subprocess.run(['virsh', '-c', 'qemu:///system', 'detach-device', '{GUEST}', '/tmp/os-if.xml', '--config'])
EOF
{VIRSH} net-destroy {NET} >/dev/null 2>&1; {VIRSH} net-undefine {NET} >/dev/null 2>&1
echo 0 > {SYSFS}
rm -f /tmp/os-*.xml
true
"""

PLAY_ATTACH = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: attach
      virt.sriov.libvirt_hostdev_interface:
        domain: {GUEST}
        pci_address: "{VF1}"
        mac: "{MAC}"
        vlan: 42
    - name: pool
      virt.sriov.libvirt_vf_pool_network:
        name: {NET}
        pf: {PF}
    - name: role
      ansible.builtin.include_role:
        name: virt.sriov.guest_interfaces
      vars:
        guest_interfaces_guests:
          - domain: {GUEST}
            interfaces:
              - network: {NET}
    - name: host view
      ansible.builtin.command: ip link show {PF}
      changed_when: false
"""

PLAY_DETACH = f"""
- hosts: all
  gather_facts: false
  tasks:
    - name: detach
      virt.sriov.libvirt_hostdev_interface:
        domain: {GUEST}
        pci_address: "{VF1}"
        state: absent
        timeout: 300
    - name: host view
      ansible.builtin.shell: |
        basename $(readlink /sys/bus/pci/devices/{VF1}/driver); echo ===
        {VIRSH} domstate {GUEST}; echo ===
        ip link show {PF} | grep ' vf 1 '
      changed_when: false
"""


def console(lab):
    return lab.ssh(f"cat {CONSOLE}", check=True).stdout.replace("\r", "")


def reports(text):
    """Every complete report of the guest's /init:
    {"pci": {addr: (vendor:device, driver)}, "netdevs": {mac: (pci address, driver)}, "text": str}."""
    out = []
    for block in re.findall(r"^guest: === begin \w+.*?^guest: === end \w+$", text, re.M | re.S):
        pci = {addr: (pid, drv) for addr, pid, drv
               in re.findall(r"^guest: pci (\S+) (\S+) driver=(\S+)$", block, re.M)}
        netdevs = {mac: (addr, drv) for _name, mac, addr, drv
                   in re.findall(r"^guest: netdev (\S+) mac=(\S+) pci=(\S+) driver=(\S+)$", block, re.M)}
        out.append({"pci": pci, "netdevs": netdevs, "text": block})
    return out


def wait_report(lab, accept, timeout, what):
    """Poll the console until the newest report satisfies ``accept``; return (report, console)."""
    end = time.time() + timeout
    text = ""
    while time.time() < end:
        text = console(lab)
        found = reports(text)
        if found and accept(found[-1]):
            return found[-1], text
        if "Kernel panic" in text or lab.ssh(f"{VIRSH} domstate {GUEST}", check=True).stdout.strip() != "running":
            raise AssertionError(f"guestOS is down (panicked or powered off) while waiting for a report "
                                 f"with {what}:\n{text[-4000:]}")
        time.sleep(5)
    raise AssertionError(f"guestOS console: no report with {what} within {timeout} s:\n{text[-4000:]}")


def vfs(report):
    """{PCI address: driver} of the 82576 VFs the guest sees."""
    return {addr: drv for addr, (pid, drv) in report["pci"].items() if pid == VF_ID}


def vf_with_mac(report, mac):
    """True if the guest has a netdev with ``mac`` on an 8086:10ca device bound to igbvf."""
    addr, drv = report["netdevs"].get(mac, (None, None))
    return drv == "igbvf" and report["pci"].get(addr) == (VF_ID, "igbvf")


@pytest.fixture
def os_lab(lab):
    with lab.pf_kept(CLEANUP, pf=PF):
        yield lab


@pytest.mark.skipif(os.environ.get("VIRT_SRIOV_LAB_GUEST_OS") == "0",
                    reason="nested guest OS boot opted out (VIRT_SRIOV_LAB_GUEST_OS=0)")
def test_guest_os_sees_its_vf(os_lab):
    lab = os_lab
    lab.ssh(f"echo 4 > {SYSFS} && udevadm settle && ip link set {PF} up", check=True, timeout=120)

    # 1. boot
    t0 = time.time()
    lab.ssh(f"{VIRSH} start {GUEST}", check=True, timeout=300)
    first, text = wait_report(lab, lambda r: True, BOOT_TIMEOUT, "anything (boot)")
    boot_s = time.time() - t0
    booted = re.search(r"^guest: booted (\S+) in ([\d.]+) s$", text, re.M)
    assert booted, text[-3000:]
    assert not vfs(first), first["text"]
    print(f"guestOS: first report {boot_s:.0f} s after virsh start (kernel {booted.group(1)}, "
          f"/init at {booted.group(2)} s guest uptime)")

    # 2. + 3. hotplug: the guide's VF with MAC and VLAN, and one from a pool network
    t1 = time.time()
    res = lab.run_playbook(PLAY_ATTACH)
    attach = res.task("attach")
    assert attach.changed and attach.result["interface"]["scope"] == "live", attach.result
    role = [x for x in res.tasks if x.task.endswith("Attach or detach the VF interfaces of the guests")]
    assert len(role) == 1, [x.task for x in res.tasks]
    pool_if = role[0].result["interfaces"][0]
    pool_mac = pool_if["mac"]
    assert role[0].changed and pool_if["actions"].get("live") == "attach", role[0].result
    vf_line = [x for x in res.task("host view").result["stdout"].splitlines() if x.strip().startswith("vf 1 ")]
    assert vf_line and MAC in vf_line[0] and "vlan 42" in vf_line[0], res.task("host view").result["stdout"]

    def both(r):
        return len(vfs(r)) == 2 and vf_with_mac(r, MAC) and vf_with_mac(r, pool_mac)

    seen, text = wait_report(lab, both, 600, f"two igbvf {VF_ID} devices with MACs {MAC} and {pool_mac}")
    print(f"guestOS: both VFs reported {time.time() - t1:.0f} s after the playbook started")
    print(seen["text"])

    # 4. live detach: pciehp in the guest releases the slot, the VF goes back to the host
    t2 = time.time()
    res = lab.run_playbook(PLAY_DETACH)
    detach = res.task("detach")
    assert detach.changed and detach.result["actions"].get("live") == "detach", detach.result
    driver, domstate, vf1 = [x.strip() for x in res.task("host view").result["stdout"].split("===")]
    assert driver == "igbvf" and domstate == "running", (driver, domstate)
    assert MAC not in vf1 and "vlan 42" not in vf1, vf1
    after, text = wait_report(lab, lambda r: len(vfs(r)) == 1 and MAC not in r["netdevs"], 300,
                              "one VF left, without the detached MAC")
    kmsg = re.findall(r"^guest: kmsg (.*pciehp.*)$", text, re.M)
    assert any("Attention button pressed" in x or "Card not present" in x or "Link Down" in x
               for x in kmsg), "\n".join(kmsg) or text[-3000:]
    print(f"guestOS: live detach done in {time.time() - t2:.0f} s; pciehp said:\n" + "\n".join(kmsg))

    # 5. ACPI shutdown: /init powers the guest off on the power button
    t3 = time.time()
    lab.ssh(f"{VIRSH} shutdown {GUEST}", check=True, timeout=120)
    end = time.time() + SHUTDOWN_TIMEOUT
    state = ""
    while time.time() < end:
        state = lab.ssh(f"{VIRSH} domstate {GUEST}", check=True, timeout=120).stdout.strip()
        if state == "shut off":
            break
        time.sleep(2)
    text = console(lab)
    assert state == "shut off", f"guestOS still {state!r} {SHUTDOWN_TIMEOUT} s after virsh shutdown:\n{text[-3000:]}"
    assert "guest: power button: powering off" in text, text[-3000:]
    print(f"guestOS: powered off {time.time() - t3:.0f} s after virsh shutdown")
