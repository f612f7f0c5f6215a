"""The shipped playbooks against the emulated hypervisor, as an operator runs them.

sriov_passthrough.yml with the lab's group_vars (playbooks/inventory/lab): converge (VF counts
and the per-VF settings of enp2s0, read back from ``ip -j -d link``), then a second run that
changes nothing; sriov_report.yml: one CSV row per PF and no change on the host;
bad input stops the run at validation, before any host task. Every test puts the lab back as it
found it (the molecule cleanup playbook, then raw commands if that failed).
"""
import csv
import json
import os

import pytest

pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO, "playbooks")
LAB_INVENTORY = os.path.join(PLAYBOOKS, "inventory", "lab")
CLEANUP = os.path.join(REPO, "extensions", "molecule", "passthrough", "cleanup.yml")

STATE = r"""
printf '{"numvfs":{'
for pf in enp1s0 enp2s0; do printf '"%s":%s,' $pf $(cat /sys/class/net/$pf/device/sriov_numvfs); done
printf '"_":0},"networks":"%s",' "$(virsh -q net-list --all --name | tr '\n' ' ')"
printf '"rules":"%s",' "$(grep -l sriov_numvfs /etc/udev/rules.d/*.rules 2>/dev/null | tr '\n' ' ')"
printf '"guest_hostdevs":%s}' "$(virsh dumpxml --inactive guestVM | grep -c "<interface type='hostdev'")"
"""

# Last resort if the cleanup playbook fails: detach, remove the network, remove VFs and rules.
RAW_CLEANUP = r"""
virsh detach-interface guestVM hostdev --mac 52:54:00:6d:90:02 --config 2>/dev/null
for n in passthrough awxpool; do virsh net-destroy $n 2>/dev/null; virsh net-undefine $n 2>/dev/null; done
for pf in enp1s0 enp2s0; do echo 0 > /sys/class/net/$pf/device/sriov_numvfs; done
for f in $(grep -l sriov_numvfs /etc/udev/rules.d/*.rules 2>/dev/null); do
  case " $KEEP " in *" $f "*) ;; *) rm -f "$f";; esac
done
udevadm control --reload
"""


def lab_state(lab):
    return json.loads(lab.ssh(STATE, check=True).stdout)


def require_clean(lab):
    state = lab_state(lab)
    if state["numvfs"]["enp1s0"] or state["numvfs"]["enp2s0"] or "passthrough" in state["networks"]:
        pytest.fail("the lab is not clean before the test (VFs or network 'passthrough' exist): %s" % state)
    return state


def restore(lab, before):
    """Put the lab back: the molecule scenario's cleanup playbook, then raw commands."""
    try:
        lab.run_playbook(CLEANUP, args=("-i", LAB_INVENTORY))
    except AssertionError as exc:
        print("cleanup playbook failed, falling back to raw commands:\n%s" % exc)
    if lab_state(lab) != before:
        lab.ssh("KEEP='%s'\n%s" % (before["rules"], RAW_CLEANUP))
    assert lab_state(lab) == before


# Round trips per host for the whole procedure with the lab's group_vars: one module execution
# per stage (iommu_info, sriov_vfs - counts and per-VF settings in one call -,
# libvirt_vf_pool_network, libvirt_hostdev_interface); the summary comes from their results. Measured: 4 on the first run and 4 on the re-run. A change
# that adds a round trip fails here (and one that removes a stage's execution must say so).
EXECUTIONS = 4


SUMMARY = [
    "stages run: iommu, vfs, networks, guests",
    "enp1s0 0000:01:00.0 (igb): 4/7 VFs, 0 in use, networks: passthrough",
    "enp2s0 0000:02:00.0 (igb): 7/7 VFs, 1 in use",
    "  vf 1 0000:02:10.2 -> guestVM",
]


def remote_executions(result):
    return result.stdout.count("SSH: EXEC")


SETTINGS_RULE = "/etc/udev/rules.d/83-virt-sriov-vf-settings-0000:02:00.0.rules"


def assert_vf_settings(lab):
    """group_vars' settings of enp2s0 as the PF reports them: spoof checking off on every VF,
    only VF 3 trusted; and the rule that re-applies them at boot."""
    vfinfo = json.loads(lab.ssh("ip -j -d link show enp2s0", check=True).stdout)[0]["vfinfo_list"]
    assert [vf["vf"] for vf in vfinfo] == list(range(7)), vfinfo
    assert [vf["spoofchk"] for vf in vfinfo] == [False] * 7, vfinfo
    assert [vf["vf"] for vf in vfinfo if vf["trust"]] == [3], vfinfo
    rule = lab.ssh("cat %s" % SETTINGS_RULE, check=True).stdout
    assert "vf 3 trust on" in rule and "vf 0 spoofchk off" in rule, rule


def test_passthrough_playbook_converges_then_changes_nothing(lab):
    before = require_clean(lab)
    playbook = os.path.join(PLAYBOOKS, "sriov_passthrough.yml")
    try:
        # -vvv: every remote execution prints one "SSH: EXEC" line (pipelining is on)
        first = lab.run_playbook(playbook, args=("-i", LAB_INVENTORY, "-vvv"))
        assert first.changed, first
        assert remote_executions(first) == EXECUTIONS, (remote_executions(first), first)
        state = lab_state(lab)
        assert state["numvfs"]["enp1s0"] == 4 and state["numvfs"]["enp2s0"] == 7, state
        assert "passthrough" in state["networks"], state
        assert state["guest_hostdevs"] == 1, state
        assert SETTINGS_RULE in state["rules"], state
        assert_vf_settings(lab)
        xml = lab.ssh("virsh dumpxml --inactive guestVM", check=True).stdout
        assert "52:54:00:6d:90:02" in xml and "<tag id='42'/>" in xml, xml
        assert "bus='0x02' slot='0x10' function='0x2'" in xml, xml
        net = lab.ssh("virsh net-info passthrough", check=True).stdout
        assert "Active:         yes" in net and "Autostart:      yes" in net, net
        # the summary comes from the stages' results: on the first run the VF stage saw no user
        # yet, the guest stage attached the VF and the network stage defined the pool
        summary = first.task("Summary", host=lab.name).result["msg"]
        assert summary == SUMMARY, summary

        second = lab.run_playbook(playbook, args=("-i", LAB_INVENTORY, "-vvv"))
        changed = [(t.task, t.action) for t in second.tasks if t.changed]
        assert not changed, "second run changed %s\n%s" % (changed, second)
        assert remote_executions(second) == EXECUTIONS, (remote_executions(second), second)
        assert_vf_settings(lab)
        # on the re-run the VF stage's libvirt scan already sees the guest and the pool: no VF twice
        assert second.task("Summary", host=lab.name).result["msg"] == SUMMARY
    finally:
        restore(lab, before)


def test_report_playbook_writes_one_row_per_pf_and_changes_no_host(lab, tmp_path):
    dest = tmp_path / "fleet.csv"
    res = lab.run_playbook(os.path.join(PLAYBOOKS, "sriov_report.yml"),
                           extra_vars={"sriov_report_format": "csv", "sriov_report_dest": str(dest)},
                           args=("-i", LAB_INVENTORY))
    host_changes = [t.task for t in res.tasks if t.changed and t.task != "Write the report file"]
    assert not host_changes, res
    with open(dest) as f:
        rows = list(csv.DictReader(f))
    assert [(r["host"], r["pf"], r["pci_address"], r["driver"], r["totalvfs"]) for r in rows] == [
        (lab.name, "enp1s0", "0000:01:00.0", "igb", "7"),
        (lab.name, "enp2s0", "0000:02:00.0", "igb", "7"),
    ], rows
    assert all(r["iommu"] == "on" and r["cpu_vendor"] == "intel" for r in rows), rows


def test_passthrough_stops_at_validation_before_touching_a_host(lab):
    res = lab.run_playbook(os.path.join(PLAYBOOKS, "sriov_passthrough.yml"),
                           extra_vars={"sriov_pfs": "- pf: enp1s0\n  num_vfs: 4\n  persistent: true\n"},
                           args=("-i", LAB_INVENTORY), expect_failure=True)
    failed = res.failed_tasks
    assert [t.task for t in failed] == ["Validate the inputs before anything changes"], res
    assert "sriov_pfs.persistent" in failed[0].result["msg"], failed[0].result
    ran = [t.task for t in res.tasks]
    assert ran == ["Parse the inputs (survey answers arrive as strings)",
                   "Validate the inputs before anything changes"], ran
