"""Faults a fleet meets, injected into the emulated hypervisor while the collection works.

Each test injects one fault, checks what the collection did about it, and ends with "a re-run
converges with changed=0". FAULTS below is the list the table in docs/docsite/rst/troubleshooting.rst is
made from (scripts/fault-table.py); a unit test keeps the two in step.
"""
import os
import re
import threading
import time

import pytest

from test_playbooks import LAB_INVENTORY, PLAYBOOKS, lab_state, require_clean, restore  # noqa: E402  pylint: disable=wrong-import-position

pytestmark = pytest.mark.lab

PASSTHROUGH = os.path.join(PLAYBOOKS, "sriov_passthrough.yml")

# id -> (fault injected, what the collection does, how the test shows it)
FAULTS = {
    "concurrent-runs": (
        "two sriov_passthrough.yml runs started at the same moment on the same host",
        "each module execution holds the host-wide lock (/run/virt-sriov.lock); the second waits",
        "both runs succeed; one udev rule per PF, one hostdev interface, pool active; re-run changed=0",
    ),
    "libvirtd-stopped": (
        "libvirtd (service and sockets) stopped between the VF stage and the libvirt stages",
        "the libvirt stage fails naming the libvirt URI; nothing of the pool or the guest is half-written",
        "no network defined, guest XML unchanged; after starting libvirtd a re-run converges, then changed=0",
    ),
    "sigkill-count-change": (
        "the sriov_vfs module process killed (SIGKILL) while it changes a PF's VF count",
        "the kernel drops the lock with the process; nothing is left waiting",
        "the task fails; a re-run converges to the requested count at once, then changed=0",
    ),
    "domain-undefined-during-scan": (
        "a domain defined and undefined in a loop while sriov_info scans libvirt",
        "domains that vanish between listing and reading are skipped",
        "every sriov_info run succeeds",
    ),
}

RULES = "grep -l sriov_numvfs /etc/udev/rules.d/*.rules | sort; cat $(grep -l sriov_numvfs /etc/udev/rules.d/*.rules | sort)"


def _passthrough(lab, **kwargs):
    return lab.run_playbook(PASSTHROUGH, args=("-i", LAB_INVENTORY), **kwargs)


def _assert_converged_state(lab):
    state = lab_state(lab)
    assert state["numvfs"]["enp1s0"] == 4 and state["numvfs"]["enp2s0"] == 7, state
    assert "passthrough" in state["networks"], state
    assert state["guest_hostdevs"] == 1, state
    rules = lab.ssh(RULES, check=True).stdout
    # one rule file per PF, each with exactly one count line
    assert len(re.findall(r"ATTR\{device/sriov_numvfs\}=\"\d+\"", rules)) == 2, rules
    return state


def test_concurrent_passthrough_runs_are_serialised(lab):
    before = require_clean(lab)
    results = {}

    def run(key):
        try:
            results[key] = _passthrough(lab)
        except AssertionError as exc:  # kept for the assertion below
            results[key] = exc

    try:
        threads = [threading.Thread(target=run, args=(k,)) for k in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=1800)
        failures = {k: v for k, v in results.items() if isinstance(v, AssertionError)}
        assert not failures, failures
        _assert_converged_state(lab)
        xml = lab.ssh("virsh dumpxml --inactive guestVM", check=True).stdout
        assert xml.count("52:54:00:6d:90:02") == 1, xml
        leftovers = lab.ssh("ls -a /etc/udev/rules.d /etc/systemd/system/libvirtd.service.d", check=True).stdout
        assert ".tmp" not in leftovers, leftovers
        again = _passthrough(lab)
        assert not [t.task for t in again.tasks if t.changed], again
    finally:
        restore(lab, before)


LIBVIRT_UNITS = "libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket"


def test_libvirtd_stopped_between_stages(lab):
    before = require_clean(lab)
    xml_before = lab.ssh("virsh dumpxml --inactive guestVM", check=True).stdout
    try:
        _passthrough(lab, extra_vars={"sriov_stages": "vfs"})
        lab.ssh("systemctl stop %s" % LIBVIRT_UNITS, check=True)
        failed = _passthrough(lab, expect_failure=True)
        msgs = " ".join(str(t.result.get("msg", "")) for t in failed.failed_tasks)
        assert failed.failed_tasks and "libvirt" in msgs.lower(), failed
        assert "Traceback" not in msgs, msgs
        lab.ssh("systemctl start libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd.service",
                check=True)
        state = lab_state(lab)
        assert "passthrough" not in state["networks"], state
        assert lab.ssh("virsh dumpxml --inactive guestVM", check=True).stdout == xml_before
        _passthrough(lab)
        _assert_converged_state(lab)
        again = _passthrough(lab)
        assert not [t.task for t in again.tasks if t.changed], again
    finally:
        lab.ssh("systemctl start libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd.service")
        restore(lab, before)


# Kills the holder of the host lock as soon as enp2s0 has its first VF: the module is then in
# the middle of the count change (the write of 7 VFs takes about 2 s under TCG).
KILLER = r"""
for i in $(seq 1 3000); do
  if ls /sys/class/net/enp2s0/device/ | grep -q virtfn; then
    pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' /run/virt-sriov.lock 2>/dev/null)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; echo "killed $pid"; exit 0; fi
  fi
  sleep 0.02
done
echo "no module process to kill"; exit 1
"""

SET_VFS = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Set the VFs of enp2s0
      virt.sriov.sriov_vfs:
        pf: enp2s0
        num_vfs: 7
"""


def test_sigkill_during_count_change(lab):
    before = require_clean(lab)
    killer = {}

    def kill():
        killer["out"] = lab.ssh(KILLER, timeout=120)

    try:
        t = threading.Thread(target=kill)
        t.start()
        time.sleep(1)
        lab.run_playbook(SET_VFS, expect_failure=True)
        t.join(timeout=180)
        assert "killed" in killer["out"].stdout, killer["out"]
        t0 = time.time()
        first = lab.run_playbook(SET_VFS)
        assert time.time() - t0 < 120, "the re-run waited for a lock nobody holds"
        assert lab_state(lab)["numvfs"]["enp2s0"] == 7, first
        again = lab.run_playbook(SET_VFS)
        assert not again.changed, again
    finally:
        restore(lab, before)


CHURN = r"""
cat > /run/churn.xml <<'XML'
<domain type='qemu'><name>churn</name><memory unit='MiB'>32</memory><os><type arch='x86_64' machine='q35'>hvm</type></os></domain>
XML
end=$(( $(date +%s) + 60 ))
n=0
while [ $(date +%s) -lt $end ] && [ ! -e /run/churn.stop ]; do
  virsh -q define /run/churn.xml >/dev/null && virsh -q undefine churn >/dev/null && n=$((n+1))
done
rm -f /run/churn.stop; echo "cycles $n"
"""

SCAN = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Scan while domains come and go
      virt.sriov.sriov_info:
      loop: [1, 2, 3, 4, 5]
"""


def test_domain_undefined_during_scan(lab):
    before = require_clean(lab)
    churn = {}

    def run_churn():
        churn["out"] = lab.ssh(CHURN, timeout=180)

    lab.ssh("echo 2 > /sys/class/net/enp1s0/device/sriov_numvfs", check=True)
    try:
        t = threading.Thread(target=run_churn)
        t.start()
        time.sleep(2)
        res = lab.run_playbook(SCAN)
        lab.ssh("touch /run/churn.stop")
        t.join(timeout=180)
        assert "cycles" in churn["out"].stdout and int(churn["out"].stdout.split()[-1]) > 0, churn["out"]
        assert not res.failed_tasks, res
    finally:
        lab.ssh("touch /run/churn.stop; virsh undefine churn 2>/dev/null; rm -f /run/churn.xml")
        restore(lab, before)
