"""The fleet report as an HTML page, rendered from the lab and opened in a real browser.

After playbooks/sriov_passthrough.yml (run once for this module, guestVM started so that the PF
reports the VF's MAC and VLAN), sriov_report.yml writes the page; headless Chromium takes a
screenshot (kept under tests/output/report/) and dumps the DOM, which must show the lab's PFs,
the guest's MAC, the pool's free-VF count and the persistence column (the udev rules the playbook
wrote, from sriov_info's real facts). The drop counters file is written next to the page. The
lab's sriov_info and iommu_info results are kept beside the page (lab_facts.json: the recording
tests/unit/plugins/filter/fixtures/lab_facts.json is made from). The lab is put back as it was found.

Needs the Debian package chromium on the machine that runs the tests (python3 tests/lab/lab.py
deps installs it with the lab's other host packages).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from test_playbooks import LAB_INVENTORY, PLAYBOOKS, REPO, require_clean, restore

pytestmark = pytest.mark.lab

OUTPUT = os.path.join(REPO, "tests", "output", "report")
GUEST_MAC = "52:54:00:6d:90:02"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars")


def chromium():
    path = shutil.which("chromium")
    if not path:
        pytest.fail("chromium is not installed: run `python3 tests/lab/lab.py deps` as root "
                    "(it installs the Debian package chromium)", pytrace=False)
    return path


def browse(url, *args):
    """Run headless Chromium once with a fresh profile; returns its stdout."""
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        p = subprocess.run([chromium(), *CHROMIUM_FLAGS, "--user-data-dir=" + profile, *args, url],
                           capture_output=True, text=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, "chromium rc %d\n%s" % (p.returncode, p.stderr[-2000:])
    return p.stdout


@pytest.fixture(scope="module")
def converged(lab):
    """The lab after the passthrough playbook, with guestVM running; undone at the end."""
    before = require_clean(lab)
    try:
        lab.run_playbook(os.path.join(PLAYBOOKS, "sriov_passthrough.yml"), args=("-i", LAB_INVENTORY))
        lab.ssh("virsh start guestVM", check=True)
        yield lab
    finally:
        lab.ssh("virsh destroy guestVM")
        restore(lab, before)


def test_report_page_opens_in_a_browser_with_the_lab_s_pfs_guest_and_pool(converged):
    lab = converged
    os.makedirs(OUTPUT, exist_ok=True)
    page = os.path.join(OUTPUT, "sriov-report.html")
    res = lab.run_playbook(os.path.join(PLAYBOOKS, "sriov_report.yml"),
                           extra_vars={"sriov_report_format": "html", "sriov_report_dest": page},
                           args=("-i", LAB_INVENTORY))
    written_here = ("Write the report file", "Write the drop counters next to the page")
    host_changes = [t.task for t in res.tasks if t.changed and t.task not in written_here]
    assert not host_changes, res
    with open(os.path.join(OUTPUT, "sriov-report.counters.json"), encoding="utf-8") as f:
        counters = json.load(f)
    lab_vfs = next(iter(counters["vfs"].values()))
    assert len(lab_vfs) == 11 and all(set(c) == {"rx_dropped", "tx_dropped"} for c in lab_vfs.values()), counters
    with open(page, encoding="utf-8") as f:
        html = f.read()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html), "the page references the network"

    screenshot = os.path.join(OUTPUT, "sriov-report.png")
    if os.path.exists(screenshot):
        os.unlink(screenshot)
    browse("file://" + page, "--window-size=1200,1000", "--screenshot=" + screenshot)
    assert os.path.getsize(screenshot) > 10000, "screenshot missing or empty"

    dom = browse("file://" + page, "--dump-dom")
    with open(os.path.join(OUTPUT, "sriov-report.dom.html"), "w", encoding="utf-8") as f:
        f.write(dom)
    for text in ("enp1s0", "enp2s0", "0000:01:00.0", "0000:02:00.0", GUEST_MAC, "guestVM", "<td>42</td>"):
        assert text in dom, text
    # persistence column from sriov_info: the rules sriov_vfs wrote (4 VFs on enp1s0, 7 on enp2s0,
    # each with its link-up line), no other owner
    cells = re.findall(r'<td class="persistence">(.*?)</td>', dom, re.S)
    assert len(cells) == 2, cells
    assert ">udev rule: 4 VFs, link up</span>" in cells[0] and "82-virt-sriov-numvfs-0000:01:00.0.rules" in cells[0], cells
    assert ">udev rule: 7 VFs, link up</span>" in cells[1] and "other owner" not in "".join(cells), cells
    # the pool network of the lab: 4 VFs on enp1s0, none taken by a guest
    assert '<td class="n" data-network="passthrough">4</td>' in dom, dom[:3000]
    # the inline script ran: it adds the host filter box
    assert 'placeholder="filter hosts"' in dom
    assert "No problems found." in dom


FACTS_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: iommu
      virt.sriov.iommu_info:
    - name: sriov
      virt.sriov.sriov_info:
        stats: true
"""


def test_record_the_lab_s_facts_for_the_unit_tests(converged):
    """The two results the page is made from, kept as tests/output/report/lab_facts.json."""
    res = converged.run_playbook(FACTS_PLAY)
    facts = {"iommu": res.task("iommu").result, "sriov": res.task("sriov").result}
    for result in facts.values():
        for key in ("invocation", "_ansible_no_log", "changed", "warnings", "deprecations"):
            result.pop(key, None)
    assert [pf["udev_rule"]["num_vfs"] for pf in facts["sriov"]["pfs"]] == [4, 7], facts["sriov"]["pfs"]
    assert facts["sriov"]["missing_vf_users"] == [], facts["sriov"]["missing_vf_users"]
    os.makedirs(OUTPUT, exist_ok=True)
    with open(os.path.join(OUTPUT, "lab_facts.json"), "w", encoding="utf-8") as f:
        json.dump(facts, f, indent=1, sort_keys=True)
        f.write("\n")
