"""(6) The fleet report page: playbooks/sriov_report.yml's HTML page vs its Markdown table, 500 hosts.

In-process, through Ansible's own Templar with the variables of the playbook's write task as they
are in the playbook (so both sides pay Ansible's templating the way a real run does), on the
facts of a synthetic fleet made from the recorded lab result that the unit tests use
(tests/unit/plugins/filter/fleet_facts.py: 500 hosts with the lab's 2 PFs and 11 VFs).
A: the content of the HTML page (the host list built in Jinja, virt.sriov.sriov_report_view,
   virt.sriov.sriov_report_html); B: the content of the Markdown table (its row and line
   expressions). Gathering (sriov_info, iommu_info) is the same for both and not timed.
"""

import os
import sys

import stats
from benchenv import REPO, collections_path

FLEET_FACTS = os.path.join(REPO, "tests", "unit", "plugins", "filter")
PLAYBOOK = os.path.join(REPO, "playbooks", "sriov_report.yml")
WRITE_TASK = "Write the table on the controller"


def _setup():
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[collections_path()])._install()
    if FLEET_FACTS not in sys.path:
        sys.path.insert(0, FLEET_FACTS)


def measure(hosts_count, pairs):
    _setup()
    import yaml
    import fleet_facts
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    with open(PLAYBOOK) as handle:
        play = yaml.safe_load(handle)[0]
    task = [t for t in play["tasks"] if t.get("name") == WRITE_TASK][0]
    hosts = fleet_facts.fleet(hosts_count)
    hostvars = {h["name"]: {"__sriov_report_iommu": h["iommu"], "__sriov_report_info": h["sriov"]} for h in hosts}
    out = {}

    def render(fmt, expression):
        variables = {k: (trust_as_template(v) if isinstance(v, str) else v) for k, v in task["vars"].items()}
        variables.update(sriov_report_format=fmt, hostvars=hostvars,
                         ansible_play_hosts_all=[h["name"] for h in hosts])
        text = Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))
        out[fmt] = len(text.encode("utf-8"))

    def html():
        render("html", "{{ __view | virt.sriov.sriov_report_html }}")

    def markdown():
        render("markdown", "{{ __lines | join('\n') }}\n")

    res = stats.alternate(html, markdown, pairs)
    return {"hosts": hosts_count, "pairs": res, "bytes": out}
