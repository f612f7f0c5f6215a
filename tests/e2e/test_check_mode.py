"""Check mode of the whole passthrough playbook predicts, it does not fail.

On a fresh lab (no VFs, no pool network, guestVM without the VF) with the lab's group_vars:

1. ``ansible-playbook --check --diff playbooks/sriov_passthrough.yml`` exits 0: the later stages
   (pool network, guest interface) predict from the VFs the VF stage would create
   (``sriov_vfs_planned_vfs``, passed on by the roles as ``planned_vfs``);
2. sysfs (VF counts), the udev rules, the systemd drop-ins and the libvirt XML (networks,
   guestVM's persistent and live definitions) are byte-identical before and after the check run;
3. the real run that follows reports ``changed`` on exactly the tasks the check run did.

The lab is put back as it was found (the molecule scenario's cleanup playbook).
"""
import os

import pytest

pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO, "playbooks", "sriov_passthrough.yml")
LAB_INVENTORY = os.path.join(REPO, "playbooks", "inventory", "lab")
CLEANUP = os.path.join(REPO, "extensions", "molecule", "passthrough", "cleanup.yml")
VF_ROLE_TASKS = os.path.join(REPO, "roles", "sriov_vfs", "tasks")

# Everything the playbook could change, as text: compared byte for byte.
SNAPSHOT = r"""
for pf in enp1s0 enp2s0; do echo "$pf $(cat /sys/class/net/$pf/device/sriov_numvfs)"; done
echo '== udev rules'; for f in /etc/udev/rules.d/*; do [ -e "$f" ] && { echo "# $f"; cat "$f"; }; done
echo '== drop-ins'; for f in /etc/systemd/system/*.service.d/*; do [ -e "$f" ] && { echo "# $f"; cat "$f"; }; done
echo '== networks'; for n in $(virsh -q net-list --all --name); do echo "# $n"; virsh net-dumpxml --inactive "$n"; virsh net-info "$n"; done
echo '== guestVM'; virsh dumpxml --inactive guestVM; virsh domstate guestVM; virsh dumpxml guestVM
true
"""


def snapshot(lab):
    return lab.ssh(SNAPSHOT, check=True).stdout


def changed_tasks(res):
    return sorted({t.task for t in res.tasks if t.changed})


def vf_stage_plans():
    """Whether the VF stage publishes the VFs it would create (sriov_vfs_planned_vfs)."""
    for name in os.listdir(VF_ROLE_TASKS):
        with open(os.path.join(VF_ROLE_TASKS, name)) as f:
            if "sriov_vfs_planned_vfs" in f.read():
                return True
    return False


def test_check_mode_of_the_passthrough_playbook_predicts_the_real_run(lab):
    if not vf_stage_plans():
        pytest.fail("the sriov_vfs role does not set sriov_vfs_planned_vfs yet: the pool and guest stages "
                    "cannot predict VFs that do not exist in check mode")
    state = lab.ssh("cat /sys/class/net/enp1s0/device/sriov_numvfs /sys/class/net/enp2s0/device/sriov_numvfs; "
                    "virsh -q net-list --all --name", check=True).stdout.split()
    if state[:2] != ["0", "0"] or "passthrough" in state[2:]:
        pytest.fail("the lab is not fresh (VFs or network 'passthrough' exist): %s" % state)
    before = snapshot(lab)
    try:
        check = lab.run_playbook(PLAYBOOK, check=True, diff=True, args=("-i", LAB_INVENTORY))
        assert check.rc == 0, check
        after_check = snapshot(lab)
        assert after_check == before, "the check run changed the host:\n--- before\n%s\n--- after\n%s" % (
            before, after_check)
        predicted = changed_tasks(check)
        assert predicted, check  # a fresh lab: every stage has work to do

        real = lab.run_playbook(PLAYBOOK, args=("-i", LAB_INVENTORY))
        assert changed_tasks(real) == predicted, (predicted, changed_tasks(real))
        assert snapshot(lab) != before
    finally:
        lab.run_playbook(CLEANUP, args=("-i", LAB_INVENTORY))
        left = lab.ssh("cat /sys/class/net/enp1s0/device/sriov_numvfs /sys/class/net/enp2s0/device/sriov_numvfs; "
                       "virsh -q net-list --all --name", check=True).stdout.split()
        # the lab's image defines libvirt's inactive NAT network "default": not ours
        assert [x for x in left if x != "default"] == ["0", "0"], "cleanup left VFs or networks: %s" % left
