"""sriov_info and iommu_info in the emulated hypervisor.

test_sriov_info: ONE playbook against the default lab (2 igb 82576 ports, VT-d on) with 3 VFs on
enp1s0, VF 1 given a MAC and VLAN 42 through the PF, a persistent domain that uses VF 1 by PCI
address (its vCPU pinned to CPU 1) and also VF slot 3 of enp1s0, which does not exist with 3 VFs
(missing_vf_users), an inactive hostdev network on enp1s0, the collection's rule file for 3 VFs
on enp1s0 and a foreign driver-wide rule that sets the count of both ports (persistence); NUMA
facts (the lab has none: numa_node null) and per-VF counters (``stats: true``). Then the bad inputs (a VF as PF, an unknown
PF, a malformed address) and an unreachable libvirt URI. The lab is left as found (finalizer).

test_iommu_info_*: ONE iommu_info task per lab variant: the default lab (enabled, DMAR, inside
test_sriov_info), a lab booted without the IOMMU kernel arguments (``--no-iommu-cmdline``: still
enabled, Debian's kernel turns VT-d on by default) and then rebooted with ``intel_iommu=off``
(kernel-argument remediation), one without any IOMMU (``--iommu none``: firmware remediation) and
one with an AMD CPU and IOMMU (``--iommu amd``: AMD-Vi, enabled without arguments; opt-in with
VIRT_SRIOV_LAB_AMD=1 while that lab variant cannot boot under TCG). ``lab-noiommu``
and ``lab-amd`` are shared with the other e2e tests through ``lab_factory`` (same names).
"""
import json
import os

import pytest

pytestmark = pytest.mark.lab

PF = "enp1s0"
DEV = f"/sys/class/net/{PF}/device"
VIRSH = "virsh -c qemu:///system"
DOMAIN = "e2e-inventory-probe"
NETWORK = "e2e-inventory-pool"
VF1_MAC = "52:54:00:6d:90:02"
RULES = "/etc/udev/rules.d"
FOREIGN_RULE = f"{RULES}/70-e2e-inventory-probe.rules"
MARKER = "# Managed by Ansible (virt.sriov.sriov_udev_rule). Changes to this file are overwritten."

# Lab variants for iommu_info (name, lab.py options), shared by name with the other e2e tests
# in one pytest run (lab_factory returns the first instance made under a name). A developer running
# beside others can keep them apart with VIRT_SRIOV_LAB_VARIANT_PREFIX.
_PREFIX = os.environ.get("VIRT_SRIOV_LAB_VARIANT_PREFIX", "")
# private to this file (its kernel command line is changed): started on a fresh disk
IOMMU_OFF = (_PREFIX + "lab-iommu-off", "--no-iommu-cmdline")
NOIOMMU = (_PREFIX + "lab-noiommu", "--iommu", "none")
AMD = (_PREFIX + "lab-amd", "--iommu", "amd")

SETUP = rf"""
set -eu
n=$(cat {DEV}/sriov_numvfs)
if [ "$n" != 0 ]; then
  echo "lab not clean: {PF} has $n VFs left by an earlier test" >&2; exit 3
fi
echo 3 > {DEV}/sriov_numvfs
udevadm settle
ip link set {PF} vf 1 mac {VF1_MAC} vlan 42
vf1=$(basename "$(readlink -f {DEV}/virtfn1)")
bus=${{vf1#*:}}; bus=${{bus%%:*}}; slot=${{vf1##*:}}; slot=${{slot%.*}}; fn=${{vf1##*.}}
# VF slot 3 of the PF (routing ID + sriov_offset + 3 * sriov_stride): absent with 3 VFs
pf=$(basename "$(readlink -f {DEV})")
pbus=${{pf#*:}}; pbus=${{pbus%%:*}}; pdf=${{pf##*:}}
rid=$(( (0x$pbus << 8) + (0x${{pdf%.*}} << 3) + ${{pdf##*.}} + $(cat {DEV}/sriov_offset) + 3 * $(cat {DEV}/sriov_stride) ))
b3=$(printf %02x $((rid >> 8))); s3=$(printf %02x $(((rid >> 3) & 31))); f3=$((rid & 7))
vf3="0000:$b3:$s3.$f3"
cat > /tmp/{DOMAIN}.xml <<EOF
<domain type='qemu'><name>{DOMAIN}</name><memory unit='MiB'>64</memory>
<vcpu placement='static' cpuset='1'>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<interface type='hostdev' managed='yes'><mac address='{VF1_MAC}'/>
<source><address type='pci' domain='0x0000' bus='0x$bus' slot='0x$slot' function='0x$fn'/></source>
</interface>
<interface type='hostdev' managed='yes'>
<source><address type='pci' domain='0x0000' bus='0x$b3' slot='0x$s3' function='0x$f3'/></source>
</interface></devices></domain>
EOF
printf '%s\n' '{MARKER}' \
  'ACTION=="add", SUBSYSTEM=="net", KERNELS=="'"$pf"'", ATTR{{device/sriov_numvfs}}=="0", ATTR{{device/sriov_numvfs}}="3"' \
  > {RULES}/82-virt-sriov-numvfs-$pf.rules
echo 'ACTION=="add", SUBSYSTEM=="net", ENV{{ID_NET_DRIVER}}=="igb", ATTR{{device/sriov_numvfs}}="2"' > {FOREIGN_RULE}
cat > /tmp/{NETWORK}.xml <<EOF
<network><name>{NETWORK}</name><forward mode='hostdev' managed='yes'><pf dev='{PF}'/></forward></network>
EOF
{VIRSH} define /tmp/{DOMAIN}.xml >/dev/null
{VIRSH} net-define /tmp/{NETWORK}.xml >/dev/null
vfs=$(for v in {DEV}/virtfn*; do basename "$(readlink -f $v)"; done | tr '\n' ' ')
printf '{{"vf1": "%s", "vf3": "%s", "pf": "%s", "vfs": "%s"}}\n' "$vf1" "$vf3" "$pf" "$vfs"
"""

CLEANUP = rf"""
rm -f {FOREIGN_RULE} {RULES}/82-virt-sriov-numvfs-$(basename "$(readlink -f {DEV})").rules
{VIRSH} undefine {DOMAIN} >/dev/null 2>&1
{VIRSH} net-undefine {NETWORK} >/dev/null 2>&1
rm -f /tmp/{DOMAIN}.xml /tmp/{NETWORK}.xml
ip link set {PF} vf 1 vlan 0 mac 00:00:00:00:00:00 2>/dev/null
echo 0 > {DEV}/sriov_numvfs
cat {DEV}/sriov_numvfs
"""

SRIOV_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: all PFs
      virt.sriov.sriov_info:
    - name: one PF, libvirt required
      virt.sriov.sriov_info:
        pf: enp1s0
        libvirt: "yes"
    - name: a VF given as PF
      virt.sriov.sriov_info:
        pci_address: "{vf1}"
      ignore_errors: true
    - name: an unknown PF
      virt.sriov.sriov_info:
        pf: enp9s9
      ignore_errors: true
    - name: a malformed PCI address
      virt.sriov.sriov_info:
        pci_address: "1:0.0"
      ignore_errors: true
    - name: an unreachable libvirt URI
      virt.sriov.sriov_info:
        pf: enp2s0
        uri: qemu+tcp://127.0.0.1:1/system
    - name: counters
      virt.sriov.sriov_info:
        pf: enp1s0
        libvirt: "no"
        stats: true
    - name: iommu
      virt.sriov.iommu_info:
"""

IOMMU_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: iommu
      virt.sriov.iommu_info:
"""


@pytest.fixture
def probe(lab):
    """3 VFs on enp1s0, VF 1 with MAC and VLAN, a domain and a hostdev network that use them."""
    out = lab.ssh(SETUP, timeout=120)
    try:
        assert out.returncode == 0, out
        yield json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        done = lab.ssh(CLEANUP, timeout=120)
        assert done.stdout.strip().endswith("0"), done


def failure(res, name):
    """The message of a task that failed (under ignore_errors)."""
    task = res.task(name)
    assert task.status == "ignored", task
    assert "Traceback" not in json.dumps(task.result), task
    return task.result["msg"]


def test_sriov_info(lab, probe):
    res = lab.run_playbook(SRIOV_PLAY.format(vf1=probe["vf1"]))
    everything = res.task("all PFs").result
    assert everything["changed"] is False
    pfs = everything["pfs"]
    assert [pf["netdev"] for pf in pfs] == ["enp1s0", "enp2s0"], pfs
    for pf in pfs:
        assert (pf["driver"], pf["vendor_id"], pf["device_id"]) == ("igb", "0x8086", "0x10c9"), pf
        assert pf["totalvfs"] == 7 and pf["tested_driver"] is True, pf
        # the image has pciutils and with it the PCI ID database
        assert (pf["vendor_name"], pf["device_name"]) == ("Intel Corporation", "82576 Gigabit Network Connection"), pf
        assert isinstance(pf["iommu_group"], int), pf
    enp1s0, enp2s0 = pfs
    assert enp1s0["numvfs"] == 3 and enp2s0["numvfs"] == 0
    assert [vf["pci_address"] for vf in enp1s0["vfs"]] == probe["vfs"].split()
    groups = [vf["iommu_group"] for vf in enp1s0["vfs"]]
    assert all(isinstance(g, int) for g in groups) and len(set(groups)) == 3, groups
    assert all(vf["driver"] == "igbvf" and vf["netdev"] for vf in enp1s0["vfs"]), enp1s0["vfs"]
    vf1 = enp1s0["vfs"][1]
    assert vf1["nodedev_name"] == "pci_" + probe["vf1"].replace(":", "_").replace(".", "_")
    assert (vf1["mac"], vf1["vlan"], vf1["spoofchk"], vf1["link_state"]) == (VF1_MAC, 42, True, "auto"), vf1
    assert enp1s0["vfs"][0]["vlan"] == 0
    assert everything["pfs_by_name"]["enp2s0"]["pci_address"] == enp2s0["pci_address"]
    # libvirt-python is in the lab image: the usage fields are filled
    assert everything["libvirt_connected"] is True
    assert [(u["domain"], u["running"], u["config"]) for u in vf1["used_by"]] == [(DOMAIN, False, "persistent")]
    assert all(vf["networks"] == [NETWORK] for vf in enp1s0["vfs"]), enp1s0["vfs"]
    assert enp1s0["vfs"][0]["used_by"] == []
    assert not everything.get("warnings"), everything.get("warnings")
    # the domain's pinning, per user entry; no <numatune>
    assert (vf1["used_by"][0]["cpus"], vf1["used_by"][0]["memory_nodes"]) == ("1", None), vf1
    # persistence: the collection's rule (written here as sriov_udev_rule writes it) and the
    # foreign driver-wide rule, an owner of both ports' counts
    foreign = "udev rule %s:1 also sets sriov_numvfs for this PF" % FOREIGN_RULE
    assert enp1s0["udev_rule"] == {"path": "%s/82-virt-sriov-numvfs-%s.rules" % (RULES, probe["pf"]),
                                   "match": "pci_address", "num_vfs": 3, "link_up": False,
                                   "drivers_autoprobe": None}, enp1s0
    assert enp1s0["other_owners"] == [foreign], enp1s0
    assert (enp2s0["udev_rule"], enp2s0["other_owners"]) == (None, [foreign]), enp2s0
    # the domain's second interface names VF slot 3 of enp1s0, which does not exist with 3 VFs
    missing = [m for m in everything["missing_vf_users"] if m["name"] in (DOMAIN, NETWORK)]
    assert missing == [{"kind": "domain", "name": DOMAIN, "pci_address": probe["vf3"], "pf": probe["pf"],
                        "config": "persistent", "active": False}], everything["missing_vf_users"]

    one = res.task("one PF, libvirt required").result
    assert [pf["pci_address"] for pf in one["pfs"]] == [enp1s0["pci_address"]]

    assert failure(res, "a VF given as PF") == "PCI device %s is a virtual function of PF %s, not a PF." % (
        probe["vf1"], enp1s0["pci_address"])
    assert failure(res, "an unknown PF") == (
        "Network interface 'enp9s9' is not an SR-IOV capable PF on this host. "
        "SR-IOV capable PFs: enp1s0 (%s), enp2s0 (%s)." % (enp1s0["pci_address"], enp2s0["pci_address"]))
    assert "Invalid PCI address '1:0.0': expected '0000:03:10.2'" in failure(res, "a malformed PCI address")

    unreachable = res.task("an unreachable libvirt URI").result
    assert unreachable.get("failed") is not True, unreachable
    assert unreachable["libvirt_connected"] is False
    warnings = unreachable.get("warnings") or []
    assert len(warnings) == 1 and "qemu+tcp://127.0.0.1:1/system" in warnings[0], warnings

    # NUMA: the lab has no NUMA topology, so the kernel says -1 (reported as null); the local
    # CPUs are every CPU of the guest (2)
    for pf in pfs:
        assert pf["numa_node"] is None and pf["local_cpulist"] == "0-1", pf
    # per-VF counters from the same single ip call, with -s (shape of iproute2 6.1 on kernel 6.1)
    counted = res.task("counters").result["pfs"][0]
    keys = {"rx_packets", "rx_bytes", "rx_dropped", "tx_packets", "tx_bytes", "tx_dropped"}
    for vf in counted["vfs"]:
        assert set(vf["stats"]) == keys and all(isinstance(v, int) for v in vf["stats"].values()), vf
    assert "stats" not in enp1s0["vfs"][0]  # only when asked
    assert (counted["vfs"][1]["mac"], counted["vfs"][1]["vlan"]) == (VF1_MAC, 42)

    check_iommu_enabled_intel(res.task("iommu").result)


def check_iommu_enabled_intel(iommu):
    assert iommu["enabled"] is True, iommu
    assert (iommu["cpu_vendor"], iommu["cpu_vendor_id"]) == ("intel", "GenuineIntel"), iommu
    assert iommu["firmware_table"] == "DMAR", iommu
    assert "dmar0" in iommu["iommu_units"] and iommu["iommu_groups"] > 0, iommu
    assert iommu["interrupt_remapping"] is True, iommu
    assert iommu["cmdline_args"] == {"intel_iommu": "on", "iommu": "pt"}, iommu
    assert iommu["required_kernel_args"] == ["intel_iommu=on"]
    assert (iommu["reason"], iommu["remediation"], iommu["remediation_kind"]) == (None, None, None)


def test_iommu_info_kernel_default_then_switched_off(lab_factory):
    """Without IOMMU arguments, then with intel_iommu=off (a private instance, fresh disk).

    Debian 12's current kernel (6.1.0-56, CONFIG_INTEL_IOMMU_DEFAULT_ON_INTGPU_OFF=y) turns VT-d
    on by default, so a lab booted without the kernel argument has the IOMMU ON: iommu_info
    must say enabled although /proc/cmdline has no intel_iommu (enabled comes from sysfs).
    The kernel-argument remediation is then shown for real by booting with intel_iommu=off.
    """
    lab = lab_factory(*IOMMU_OFF, fresh=True)
    default = lab.run_playbook(IOMMU_PLAY).task("iommu").result
    assert default["cmdline_args"] == {}, default
    assert default["firmware_table"] == "DMAR", default
    assert default["enabled"] is True and default["iommu_groups"] > 0, default

    lab.ssh(r"sed -i 's|^\(\s*linux .*\)$|\1 intel_iommu=off|' /boot/grub/grub.cfg && "
            "grep -q 'intel_iommu=off' /boot/grub/grub.cfg", check=True)
    lab.reboot()
    iommu = lab.run_playbook(IOMMU_PLAY).task("iommu").result
    assert iommu["cmdline_args"] == {"intel_iommu": "off"}, iommu
    assert iommu["enabled"] is False, iommu
    assert iommu["firmware_table"] == "DMAR", iommu
    assert iommu["iommu_groups"] == 0, iommu
    assert iommu["blocking_kernel_args"] == ["intel_iommu=off"], iommu
    assert iommu["remediation_kind"] == "kernel_args", iommu
    assert iommu["reason"].startswith("Intel VT-d is disabled on the kernel command line by intel_iommu=off"), iommu
    assert iommu["remediation"].startswith(
        "Remove the kernel argument(s) intel_iommu=off and add intel_iommu=on and reboot"), iommu


def test_iommu_info_without_iommu(lab_factory):
    iommu = lab_factory(*NOIOMMU).run_playbook(IOMMU_PLAY).task("iommu").result
    assert iommu["enabled"] is False, iommu
    assert iommu["firmware_table"] is None, iommu
    assert iommu["iommu_units"] == [] and iommu["iommu_groups"] == 0, iommu
    assert iommu["remediation_kind"] == "firmware", iommu
    assert "no ACPI DMAR table" in iommu["reason"], iommu
    assert iommu["remediation"].startswith("Enable Intel VT-d"), iommu


@pytest.mark.skipif(
    os.environ.get("VIRT_SRIOV_LAB_AMD") != "1",
    reason="!!! --iommu amd lab variant is experimental (tests/lab/README.md, failure modes: under TCG "
           "the guest loses IO-APIC interrupts behind amd-iommu and stalls 30 s per console write; "
           "measured here: kernel showed AMD-Vi and 8 IOMMU groups, SSH not up after 900 s). "
           "AMD logic is covered by unit tests; run with VIRT_SRIOV_LAB_AMD=1 !!!")
def test_iommu_info_amd(lab_factory):
    iommu = lab_factory(*AMD).run_playbook(IOMMU_PLAY).task("iommu").result
    assert (iommu["cpu_vendor"], iommu["cpu_vendor_id"]) == ("amd", "AuthenticAMD"), iommu
    assert iommu["firmware_table"] == "IVRS", iommu
    assert iommu["required_kernel_args"] == [], iommu
    assert iommu["enabled"] is True, iommu
    assert iommu["iommu_groups"] > 0, iommu
