"""The playbooks run through ansible-runner the way AWX / Automation Controller runs a job.

AWX hands ansible-runner a private data directory: the project checkout (project/), an
inventory file (inventory/hosts), the extra vars of the job (env/extravars, where every survey
answer is a string, an integer, or a newline-separated multiple selection) and environment
variables (env/envvars). This test builds exactly that around this checkout, launches
sriov_passthrough.yml with the answers a survey (awx/surveys/sriov_passthrough.json) delivers,
checks the hypervisor, runs sriov_report.yml the same way, and puts the lab back.
"""
import json
import os
import shutil
import sys

import pytest

pytestmark = pytest.mark.lab

ansible_runner = pytest.importorskip("ansible_runner")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_playbooks import lab_state, require_clean, restore  # noqa: E402  pylint: disable=wrong-import-position

# What a launch of the sriov_passthrough survey puts in the job's extra vars.
SURVEY_ANSWERS = {
    "sriov_stages": "iommu\nvfs\nnetworks",
    "sriov_serial": "1",
    "sriov_max_fail_percentage": 0,
    "sriov_force": "false",
    "sriov_guests_offline": "false",
    "sriov_pfs": "- pf: enp1s0\n  num_vfs: 2\n",
    "sriov_networks": '[{"name": "awxpool", "pf": "enp1s0"}]',
    "sriov_guests": "",
}


REMOVE_AWXPOOL = """
- name: Remove the survey's network
  hosts: hypervisors
  gather_facts: false
  tasks:
    - name: Remove awxpool
      ansible.builtin.include_role:
        name: virt.sriov.vf_pool_network
      vars:
        vf_pool_network_networks:
          - name: awxpool
            state: absent
"""


def private_data_dir(lab, tmp_path):
    """An AWX-style private data directory for the lab."""
    pdd = tmp_path / "pdd"
    for sub in ("inventory", "env"):
        (pdd / sub).mkdir(parents=True)
    # the project is the collection checkout (an SCM project of the collection's repository)
    os.symlink(REPO, pdd / "project")
    # AWX writes the job's inventory; the hypervisors group is what the playbooks target
    with open(lab.inventory_path) as f:
        hosts = f.read()
    (pdd / "inventory" / "hosts").write_text(hosts + "\n[hypervisors:children]\nsriov_lab\n")
    # the execution environment would have virt.sriov installed; here: this checkout, and the
    # ansible-playbook of the Python running the tests (found on PATH, as in an EE)
    ansible_bin = os.path.dirname(os.path.abspath(sys.executable))
    envvars = {
        "ANSIBLE_COLLECTIONS_PATH": lab.collections_path(),
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=300s",
        "PATH": ansible_bin + os.pathsep + os.environ.get("PATH", ""),
    }
    (pdd / "env" / "envvars").write_text(json.dumps(envvars))
    return pdd


def run_job(pdd, playbook, extravars):
    (pdd / "env" / "extravars").write_text(json.dumps(extravars))
    shutil.rmtree(pdd / "artifacts", ignore_errors=True)
    return ansible_runner.run(private_data_dir=str(pdd), playbook=playbook,
                              inventory=str(pdd / "inventory" / "hosts"), limit="hypervisors",
                              quiet=True, settings={"job_timeout": 1800})


def task_results(runner, task):
    return [e["event_data"]["res"] for e in runner.events
            if e.get("event") in ("runner_on_ok", "runner_on_failed")
            and e["event_data"].get("task") == task]


def test_survey_answers_through_ansible_runner(lab, tmp_path):
    before = require_clean(lab)
    pdd = private_data_dir(lab, tmp_path)
    try:
        job = run_job(pdd, "playbooks/sriov_passthrough.yml", SURVEY_ANSWERS)
        assert job.status == "successful" and job.rc == 0, (job.config.command, job.stdout.read()[-6000:])
        stats = job.stats
        assert stats["changed"].get(lab.name, 0) > 0, stats
        assert not stats["failures"] and not stats["dark"], stats
        # the answers were parsed, not passed on as strings
        validated = task_results(job, "Validate the inputs before anything changes")
        assert validated and not validated[0].get("failed"), validated
        state = lab_state(lab)
        assert state["numvfs"]["enp1s0"] == 2 and state["numvfs"]["enp2s0"] == 0, state
        assert "awxpool" in state["networks"], state
        summary = task_results(job, "Summary")[0]["msg"]
        assert summary[0] == "stages run: iommu, vfs, networks", summary

        # the read-only report, as a second job template would run it
        dest = tmp_path / "report.md"
        report = run_job(pdd, "playbooks/sriov_report.yml",
                         {"sriov_report_format": "markdown", "sriov_report_dest": str(dest)})
        assert report.status == "successful", report.stdout.read()[-6000:]
        assert report.stats["changed"].get(lab.name, 0) in (0, 1), report.stats  # 1: the local write
        table = dest.read_text()
        assert "| %s | on | intel | enp1s0 | 0000:01:00.0 | igb | 7 | 2 | 0 | awxpool |" % lab.name in table, table
    finally:
        try:
            lab.run_playbook(REMOVE_AWXPOOL, args=("-i", os.path.join(REPO, "playbooks", "inventory", "lab")))
        except AssertionError as exc:
            print("removing awxpool failed: %s" % exc)
        restore(lab, before)
