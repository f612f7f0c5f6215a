"""End-to-end proof of libvirt_hostdev_interface and the guest_interfaces role in the lab.

One playbook carries the whole proof (each Ansible task costs seconds under TCG): the task file
tests/integration/targets/guest_interfaces/tasks/main.yml, run with the values of TARGET_VARS.

1. PF down -> attaching to the running guestVM is refused, saying so; VLAN + 802.1Qbh refused before
   libvirt is touched; check mode on a fresh domain (guestVM2) changes nothing.
2. guestVM (running): VF 1 of enp1s0 by PCI address, MAC 52:54:00:6d:90:02, VLAN 42 - the four steps
   check/apply/check/apply; `ip link show enp1s0` shows the MAC and `vlan 42` on VF 1; the persistent
   XML holds it and nothing else changed.
3. The same VF for guestVM2: refused, naming guestVM.
   A running guestVM3 without a spare pcie-root-port: attaching is refused before libvirt, naming
   the fix; virsh attach-device itself then fails with "No more available PCI slots".
4. Role: guestVM2 (stopped) gets an interface on the hostdev pool network: config only; started, it
   gets a VF; a second role run changes nothing.
5. Detach from the running guestVM: gone from the live and the persistent XML, the VF back on
   igbvf with libvirt's MAC/VLAN restored, while the guest keeps running; a re-run changes nothing.
   (guestVM uses native PCIe hotplug, so QEMU completes the unplug of its powered-off slot as a
   cooperating guest OS would: see tests/lab/files/guestVM.xml.)
6. Offline flow (guest_interfaces_offline) on the running guestVM, which has no OS to answer the
   ACPI shutdown: the persistent definition gets the interface, the wait ends after
   shutdown_timeout (5 s) with a clear failure, and the guest is left running untouched.

test_guest_survives_reboot: the roles sriov_vfs and guest_interfaces give the autostarted guestVM
VF 1 (guide MAC and VLAN 42) and VF 2 (derived MAC); the lab reboots with the PF down; guestVM is
running again with the same MACs and VLAN on its VFs, because the udev rule recreated the VFs and
brought the PF up before libvirtd started; the roles then change nothing.

The teardowns put the lab back as they found it (VF count, PF link state, no extra domain/network,
no rule file or drop-in, guestVM not autostarted).
"""
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.lab

VIRSH = "virsh -c qemu:///system"
PF = "enp1s0"
SYSFS = f"/sys/class/net/{PF}/device/sriov_numvfs"
VF1 = "0000:01:10.2"
NET = "gi-pool"
GUEST2 = "guestVM2"
GUEST2_UUID = "0b6f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
MAC = "52:54:00:6d:90:02"
GUEST3 = "guestVM3"  # running, without a spare pcie-root-port: no slot to hotplug into
GUEST3_UUID = "1c7a2d3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"
VF3 = "0000:01:10.6"
GUEST3_XML = (f"<domain type='qemu'><name>{GUEST3}</name><uuid>{GUEST3_UUID}</uuid>"
              "<memory unit='MiB'>128</memory><vcpu>1</vcpu>"
              "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>"
              "<controller type='pci' index='0' model='pcie-root'/><controller type='usb' model='none'/>"
              "<memballoon model='none'/></devices></domain>")
VF3_XML = ("<interface type='hostdev' managed='yes'><source><address type='pci' domain='0x0000' "
           "bus='0x01' slot='0x10' function='0x6'/></source></interface>")

SETUP = f"""set -e
echo 0 > {SYSFS}; echo 4 > {SYSFS}; udevadm settle
ip link set {PF} down
{VIRSH} dumpxml --inactive guestVM | sed -e 's|<name>guestVM</name>|<name>{GUEST2}</name>|' \
  -e 's|<uuid>.*</uuid>|<uuid>{GUEST2_UUID}</uuid>|' > /tmp/gi-guest2.xml
{VIRSH} define /tmp/gi-guest2.xml >/dev/null
printf '%s' "{GUEST3_XML}" > /tmp/gi-guest3.xml
{VIRSH} define /tmp/gi-guest3.xml >/dev/null && {VIRSH} start {GUEST3} >/dev/null
printf '%s' "<network><name>{NET}</name><forward mode='hostdev' managed='yes'><pf dev='{PF}'/></forward></network>" \
  > /tmp/gi-net.xml
{VIRSH} net-define /tmp/gi-net.xml >/dev/null && {VIRSH} net-start {NET} >/dev/null
{VIRSH} domstate guestVM | grep -q running || {VIRSH} start guestVM >/dev/null
{VIRSH} dumpxml --inactive guestVM
"""

RULE = "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"
DROPINS = "/etc/systemd/system/{libvirtd,virtqemud,virtnetworkd}.service.d/50-virt-sriov*.conf"

CLEANUP = f"""
{VIRSH} autostart --disable guestVM >/dev/null 2>&1
for d in guestVM {GUEST2} {GUEST3}; do {VIRSH} destroy $d >/dev/null 2>&1; done
rm -f {RULE} {DROPINS}; udevadm control --reload; systemctl daemon-reload
{VIRSH} undefine {GUEST2} >/dev/null 2>&1; {VIRSH} undefine {GUEST3} >/dev/null 2>&1
{VIRSH} dumpxml --inactive guestVM > /tmp/gi-guest.xml
python3 - <<'EOF'
import xml.etree.ElementTree as ET, subprocess
root = ET.parse('/tmp/gi-guest.xml').getroot()
for iface in root.find('devices').findall('interface'):
    open('/tmp/gi-if.xml', 'w').write(ET.tostring(iface, encoding='unicode'))
    subprocess.run(['virsh', '-c', 'qemu:///system', 'detach-device', 'guestVM', '/tmp/gi-if.xml', '--config'])
EOF
{VIRSH} net-destroy {NET} >/dev/null 2>&1; {VIRSH} net-undefine {NET} >/dev/null 2>&1
echo 0 > {SYSFS}
rm -f /tmp/gi-*.xml
"""

# The scenario of test_guest_interfaces is YAML: tests/integration/targets/guest_interfaces/tasks/main.yml
TARGET_VARS = {
    "gi_virsh": VIRSH, "gi_pf": PF, "gi_vf1": VF1, "gi_mac": MAC, "gi_guest2": GUEST2, "gi_guest3": GUEST3,
    "gi_vf3": VF3, "gi_vf3_xml": VF3_XML, "gi_net": NET,
    "gi_vf1_args": {"domain": "guestVM", "pci_address": VF1, "mac": MAC, "vlan": 42},
}


def strip_interfaces(xml_text):
    root = ET.fromstring(xml_text)
    devices = root.find("devices")
    for iface in devices.findall("interface"):
        devices.remove(iface)
    return ET.tostring(root, encoding="unicode"), root


@pytest.fixture
def guest_lab(lab):
    guest_running = lab.ssh(f"{VIRSH} domstate guestVM", check=True).stdout.strip() == "running"
    try:
        # CLEANUP first removes leftovers of an interrupted run; guestVM is off, so numvfs=0 cannot block
        with lab.pf_kept(CLEANUP, pf=PF):
            before = lab.ssh(SETUP, check=True, timeout=900).stdout  # two nested TCG guests start: slow
            yield lab, before
    finally:
        if guest_running:  # after CLEANUP, which destroys it
            lab.ssh(f"{VIRSH} start guestVM")


def test_guest_interfaces(guest_lab):
    lab, guest_before = guest_lab
    res = lab.run_target("guest_interfaces", extra_vars=TARGET_VARS)
    t = res.task

    # 1. refusals before anything changes
    assert t("PF down").status == "ignored"
    assert f"PF {PF} (0000:01:00.0) is down" in t("PF down").result["msg"], t("PF down").result
    assert t("VLAN and Qbh").status == "ignored"
    assert "libvirt refuses to start a guest" in t("VLAN and Qbh").result["msg"]
    fresh = t("Fresh check")
    assert fresh.changed and fresh.result["actions"] == {"config": "attach"}, fresh.result

    # 2. the four steps
    assert t("Check 1").changed and t("Check 1").result["actions"] == {"live": "attach", "config": "attach"}
    assert "<vlan>" in t("Check 1").result["diff"]["after"]
    assert t("Apply 1").changed and t("Apply 1").result["interface"]["scope"] == "live"
    assert t("Apply 1").result["interface"]["vlan"] == 42 and t("Apply 1").result["interface"]["mac"] == MAC
    assert not t("Check 2").changed and not t("Apply 2").changed
    iplink, guest_after, guest2_after = t("Host view").result["stdout"].split("===")
    vf_line = [line for line in iplink.splitlines() if line.strip().startswith("vf 1 ")][0]
    assert MAC in vf_line and "vlan 42" in vf_line, iplink
    stripped_after, root = strip_interfaces(guest_after)
    assert stripped_after == strip_interfaces(guest_before)[0], "something besides the interface changed"
    ifaces = ET.fromstring(guest_after).findall("devices/interface")
    assert len(ifaces) == 1 and ifaces[0].find("mac").get("address") == MAC
    assert ifaces[0].find("vlan/tag").get("id") == "42"
    assert "<interface" not in guest2_after, "check mode changed the fresh domain"

    # 3. same VF for a second guest
    second = t("Second guest")
    assert second.status == "ignored" and f"VF {VF1} is already used by domain guestVM" in second.result["msg"]

    # 3b. no free PCIe slot in a running guest: refused before libvirt, with the fix; libvirt agrees
    noslot = t("No free slot")
    assert noslot.status == "ignored", noslot.result
    assert f"Domain {GUEST3} has no free PCIe slot" in noslot.result["msg"], noslot.result["msg"]
    assert "pcie-root-port" in noslot.result["msg"]
    virsh_out, live3, config3 = [x.strip() for x in t("No free slot, libvirt itself").result["stdout"].split("===")]
    assert "No more available PCI slots" in virsh_out, virsh_out
    assert (live3, config3) == ("0", "0")

    # 4. pool network through the role: config only on a stopped guest, a VF once started, idempotent
    role_runs = [x for x in res.tasks if x.task.endswith("Attach or detach the VF interfaces of the guests")]
    assert len(role_runs) == 3, [x.task for x in res.tasks]  # 2 for guestVM2, 1 in the offline flow
    first = role_runs[0].result["interfaces"][0]
    assert role_runs[0].changed and first["actions"] == {"config": "attach"}, first
    assert first["mac_source"] == "derived" and first["mac"].startswith("02:")
    live = ET.fromstring(t("Start guest2").result["stdout"]).find("devices/interface")
    assert live.get("type") == "hostdev" and live.find("mac").get("address") == first["mac"]
    assert live.find("source/address") is not None
    assert not role_runs[1].changed, role_runs[1].result

    # 5. detach from the running guest: live and persistent, the VF back on the host driver
    detach = t("Detach")
    assert detach.changed and detach.result["actions"] == {"live": "detach", "config": "detach"}, detach.result
    live_count, config_count, driver, domstate, vf1 = [x.strip() for x in t("After detach").result["stdout"].split("===")]
    assert (live_count, config_count) == ("0", "0")
    assert driver == "igbvf" and domstate == "running"
    assert MAC not in vf1 and "vlan 42" not in vf1, vf1  # libvirt restored the VF's own settings
    assert not t("Detach again").changed

    # 6. offline flow (procedure 17.9) on a guest that cannot shut down (no OS to answer ACPI):
    # the persistent definition changes, the shutdown wait is bounded, the guest is left running
    offline_msg = t("Offline failure").result["ansible_facts"]["gi_offline_msg"]
    assert "Domain guestVM did not shut down within 5 s (shutdown_timeout)" in offline_msg, offline_msg
    domstate, live_count, config_count = [x.strip() for x in t("After offline").result["stdout"].split("===")]
    assert (domstate, live_count, config_count) == ("running", "0", "1")


REBOOT_VARS = f"""
  vars:
    sriov_vfs_pfs: [{{pf: {PF}, num_vfs: 4}}]
    guest_interfaces_guests:
      - domain: guestVM
        interfaces:
          - {{pci_address: "{VF1}", mac: "{MAC}", vlan: 42}}
          - {{pf: {PF}, vf: 2}}
"""
REBOOT_ROLES = """
    - name: vfs
      ansible.builtin.include_role:
        name: virt.sriov.sriov_vfs
    - name: guests
      ansible.builtin.include_role:
        name: virt.sriov.guest_interfaces
"""
BEFORE_REBOOT = f"""
- hosts: all
  gather_facts: false
{REBOOT_VARS}
  tasks:
{REBOOT_ROLES}
    - name: autostart
      ansible.builtin.command: {VIRSH} autostart guestVM
    - name: pf down
      ansible.builtin.command: ip link set {PF} down
"""
AFTER_REBOOT = f"""
- hosts: all
  gather_facts: false
{REBOOT_VARS}
  tasks:
    - name: host view
      ansible.builtin.shell: |
        ip -br link show {PF}; echo ===; cat {SYSFS}; echo ===; {VIRSH} domstate guestVM; echo ===
        ip link show {PF}; echo ===; {VIRSH} dumpxml guestVM
      changed_when: false
{REBOOT_ROLES}
"""


@pytest.fixture
def reboot_lab(lab):
    with lab.pf_kept(CLEANUP, pf=PF):
        yield lab


def test_guest_survives_reboot(reboot_lab):
    lab = reboot_lab
    before = lab.run_playbook(BEFORE_REBOOT)
    attached = [x for x in before.tasks if x.task.endswith("Attach or detach the VF interfaces of the guests")]
    assert len(attached) == 1, [x.task for x in before.tasks]  # one module execution for every guest
    results = attached[0].result["interfaces"]
    assert [r["mac"] for r in results][0] == MAC and results[1]["mac_source"] == "derived", results
    derived = results[1]["mac"]
    vf2 = results[1]["vf"]

    lab.reboot()  # the PF was down when the guest rebooted; nothing but our udev rule brings it up

    after = lab.run_playbook(AFTER_REBOOT)
    link, numvfs, domstate, iplink, live = after.task("host view").result["stdout"].split("===")
    assert link.split()[1] == "UP", link
    assert numvfs.strip() == "4" and domstate.strip() == "running", (numvfs, domstate)
    vf_lines = {int(line.split()[1]): line for line in iplink.splitlines() if line.strip().startswith("vf ")}
    assert MAC in vf_lines[1] and "vlan 42" in vf_lines[1], iplink
    assert derived in vf_lines[2], iplink
    ifaces = {i.find("source/address").get("function"): i.find("mac").get("address")
              for i in ET.fromstring(live).findall("devices/interface")}
    assert vf2 == "0000:01:10.4" and ifaces == {"0x2": MAC, "0x4": derived}, (ifaces, vf2)
    # after the reboot the roles find everything as they left it
    assert not after.changed, [(x.task, x.result) for x in after.tasks if x.changed]
