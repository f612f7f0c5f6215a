# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The AWX survey specifications in awx/surveys/ against the playbooks they drive.

Each survey field must be an input of the playbook's ``ansible.builtin.validate_argument_spec``
task, with a question type that delivers what the spec accepts, and its default must pass that
spec. No survey field may be a role variable: survey answers are extra vars, which beat the
values the playbook hands to its roles, so a string answer would reach the role unparsed.
The playbook's nested options for the role lists must equal the roles' own argument specs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEYS = os.path.join(REPO, "awx", "surveys")
PLAYBOOKS = os.path.join(REPO, "playbooks")
ROLES = os.path.join(REPO, "roles")

SURVEY_PLAYBOOK = {
    "sriov_passthrough.json": "sriov_passthrough.yml",
    "iommu_enable.json": "iommu_enable.yml",
    "sriov_report.json": "sriov_report.yml",
}
QUESTION_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
# the roles' variables, as in roles/*/meta/argument_specs.yml
ROLE_VARIABLES = {
    "iommu_mode", "iommu_passthrough", "iommu_reboot", "iommu_reboot_timeout",
    "iommu_continue_without_reboot", "sriov_vfs_pfs", "sriov_vfs_force", "sriov_vfs_timeout",
    "vf_pool_network_networks", "vf_pool_network_uri", "vf_pool_network_force",
    "guest_interfaces_guests", "guest_interfaces_offline", "guest_interfaces_shutdown_timeout",
    "guest_interfaces_uri",
}
# playbook list input -> (role, role variable) it replaces
ROLE_LISTS = {
    "sriov_pfs": ("sriov_vfs", "sriov_vfs_pfs"),
    "sriov_networks": ("vf_pool_network", "vf_pool_network_networks"),
    "sriov_guests": ("guest_interfaces", "guest_interfaces_guests"),
}


def load_survey(name):
    with open(os.path.join(SURVEYS, name)) as f:
        return json.load(f)


ROLE_SPEC_RE = re.compile(r"/roles/(\w+)/meta/argument_specs\.yml")


def playbook_spec(name):
    """argument_spec of the playbook's validate_argument_spec task(s), merged. A task that
    validates against a role's own spec (a lookup of roles/ROLE/meta/argument_specs.yml) counts
    with that spec, under the playbook's name of the variable."""
    with open(os.path.join(PLAYBOOKS, name)) as f:
        plays = yaml.safe_load(f)
    spec = {}
    renames = dict((role_var, option) for option, (_role, role_var) in ROLE_LISTS.items())
    for play in plays:
        for task in play.get("tasks", []):
            args = task.get("ansible.builtin.validate_argument_spec")
            if not args:
                continue
            if isinstance(args["argument_spec"], str):
                role = ROLE_SPEC_RE.search(args["argument_spec"]).group(1)
                with open(os.path.join(ROLES, role, "meta", "argument_specs.yml")) as f:
                    options = yaml.safe_load(f)["argument_specs"]["main"]["options"]
                for var in args["provided_arguments"]:
                    spec[renames.get(var, var)] = options[var]
            else:
                spec.update(args["argument_spec"])
    assert spec, "%s has no ansible.builtin.validate_argument_spec task" % name
    return spec


def choices_of(question):
    choices = question.get("choices", "")
    if isinstance(choices, str):
        return [c for c in choices.split("\n") if c]
    return list(choices)


def survey_answer(question):
    """The value AWX puts in extra_vars for the question's default answer."""
    default = question.get("default", "")
    if question["type"] == "integer":
        return int(default)
    if question["type"] == "multiselect":
        return [c for c in str(default).split("\n") if c]
    return str(default)


SURVEY_CASES = sorted(SURVEY_PLAYBOOK.items())


def test_every_survey_is_tested():
    assert sorted(os.listdir(SURVEYS)) == sorted(SURVEY_PLAYBOOK)


@pytest.mark.parametrize("survey,playbook", SURVEY_CASES)
def test_survey_is_importable_by_awx(survey, playbook):
    data = load_survey(survey)
    assert isinstance(data["name"], str) and data["name"]
    assert isinstance(data["description"], str)
    assert isinstance(data["spec"], list) and data["spec"]
    variables = [q["variable"] for q in data["spec"]]
    assert len(variables) == len(set(variables)), "duplicate survey variables"
    for q in data["spec"]:
        for key in ("question_name", "question_description", "variable", "type", "required"):
            assert key in q, (q, key)
        assert q["type"] in QUESTION_TYPES, q
        assert isinstance(q["required"], bool), q
        if q["type"] in ("multiplechoice", "multiselect"):
            choices = choices_of(q)
            assert choices, q
            answer = survey_answer(q)
            for value in answer if isinstance(answer, list) else [answer]:
                assert value in choices, (q["variable"], value, choices)
        if q["type"] == "integer":
            assert q["min"] <= int(q["default"]) <= q["max"], q


@pytest.mark.parametrize("survey,playbook", SURVEY_CASES)
def test_survey_fields_match_argument_spec(survey, playbook):
    spec = playbook_spec(playbook)
    for q in load_survey(survey)["spec"]:
        var = q["variable"]
        assert var in spec, "%s: survey field %s is not in %s's argument spec" % (survey, var, playbook)
        option = spec[var]
        kind, qtype = option.get("type", "str"), q["type"]
        if kind == "bool":
            assert qtype == "multiplechoice" and sorted(choices_of(q)) == ["false", "true"], var
        elif kind == "int":
            assert qtype == "integer", var
        elif kind == "list" and option.get("elements") == "dict":
            assert qtype == "textarea", var  # YAML or JSON text, parsed by the playbook
        elif kind == "list":
            assert qtype == "multiselect", var
            assert sorted(choices_of(q)) == sorted(option["choices"]), var
        else:
            assert kind == "str", var
            if "choices" in option:
                assert qtype == "multiplechoice", var
                assert sorted(choices_of(q)) == sorted(option["choices"]), var
            else:
                assert qtype in ("text", "textarea", "password"), var
        if "default" in option and q.get("default", "") != "":
            answer = survey_answer(q)
            expected = option["default"]
            if kind == "bool":
                answer = answer == "true"
            assert answer == expected, (var, answer, expected)


@pytest.mark.parametrize("survey,playbook", SURVEY_CASES)
def test_survey_defaults_pass_the_playbook_validation(survey, playbook):
    spec = playbook_spec(playbook)
    answers = {}
    for q in load_survey(survey)["spec"]:
        if q.get("default", "") == "":
            continue  # empty answer: the playbook keeps the inventory's value
        answers[q["variable"]] = survey_answer(q)
    result = ArgumentSpecValidator(spec).validate(answers)
    assert not result.error_messages, result.error_messages


def role_variables():
    names = set(ROLE_VARIABLES)
    if os.path.isdir(ROLES):
        for role in os.listdir(ROLES):
            path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
            if os.path.exists(path):
                with open(path) as f:
                    for entry in yaml.safe_load(f)["argument_specs"].values():
                        names.update(entry.get("options", {}))
    return names


@pytest.mark.parametrize("survey,playbook", SURVEY_CASES)
def test_survey_fields_are_not_role_variables(survey, playbook):
    names = role_variables()
    for q in load_survey(survey)["spec"]:
        assert q["variable"] not in names, (
            "%s: %s is a role variable; a survey answer (an extra var) would reach the role "
            "as an unparsed string" % (survey, q["variable"]))


def _shape(spec):
    """What a value must look like per option: type, elements, choices, default (recursively).
    Descriptions and cross-option constraints are left out: the playbook may be stricter."""
    out = {}
    for name, option in spec.items():
        shape = {key: option[key] for key in ("type", "elements", "choices", "default") if key in option}
        if "choices" in shape:
            shape["choices"] = sorted(shape["choices"])
        if "options" in option:
            shape["options"] = _shape(option["options"])
        out[name] = shape
    return out


@pytest.mark.parametrize("option,role", sorted(ROLE_LISTS.items()))
def test_playbook_list_options_equal_the_role_spec(option, role):
    role_name, role_var = role
    path = os.path.join(ROLES, role_name, "meta", "argument_specs.yml")
    if not os.path.exists(path):
        pytest.skip("role %s has no meta/argument_specs.yml yet" % role_name)
    with open(path) as f:
        role_spec = yaml.safe_load(f)["argument_specs"]["main"]["options"]
    ours = _shape({"x": playbook_spec("sriov_passthrough.yml")[option]})["x"]
    theirs = _shape({"x": role_spec[role_var]})["x"]
    assert ours == theirs


def _run_input_tasks(tmp_path, playbook, extra_vars):
    """Run the playbook's input tasks (everything before the first role) on localhost with
    ``extra_vars`` as AWX passes them; return (rc, the parsed inputs or the output)."""
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.access(exe, os.X_OK):
        exe = shutil.which("ansible-playbook")
    if not exe:
        pytest.skip("no ansible-playbook")
    with open(os.path.join(PLAYBOOKS, playbook)) as f:
        play = yaml.safe_load(f)[0]
    tasks = []
    for task in play["tasks"]:
        if "ansible.builtin.include_role" in task:
            break
        tasks.append(task)
    out = tmp_path / "inputs.json"
    tasks.append({"name": "Dump", "ansible.builtin.copy": {"content": "{{ __sriov | to_json }}", "dest": str(out), "mode": "0600"}})
    test_play = [{"name": "Inputs", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    # the collection's layout: the playbook validates against ../roles/*/meta/argument_specs.yml
    (tmp_path / "playbooks").mkdir()
    os.symlink(ROLES, str(tmp_path / "roles"))
    path = tmp_path / "playbooks" / "play.yml"
    path.write_text(yaml.safe_dump(test_play))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    p = subprocess.run([exe, str(path), "-e", json.dumps(extra_vars)], env=env, cwd=str(tmp_path),
                       capture_output=True, text=True, timeout=120, check=False)
    if p.returncode:
        return p.returncode, p.stdout + p.stderr
    return 0, json.loads(out.read_text())


AWX_ANSWERS = {
    # exactly what a launch of awx/surveys/sriov_passthrough.json puts in extra_vars
    "sriov_stages": "vfs\nnetworks\nguests",
    "sriov_serial": "1",
    "sriov_max_fail_percentage": 0,
    "sriov_force": "false",
    "sriov_guests_offline": "true",
    "sriov_pfs": "- pf: enp1s0\n  num_vfs: 4\n- pf: enp2s0\n  num_vfs: max\n",
    "sriov_networks": '[{"name": "passthrough", "pf": "enp1s0"}]',
    "sriov_guests": "",
}


def test_survey_strings_are_parsed(tmp_path):
    rc, inputs = _run_input_tasks(tmp_path, "sriov_passthrough.yml",
                                  dict(AWX_ANSWERS, guest_interfaces_guests=[{"domain": "g", "interfaces": [{"network": "passthrough"}]}]))
    assert rc == 0, inputs
    assert inputs["stages"] == ["vfs", "networks", "guests"]
    assert inputs["pfs"] == [{"pf": "enp1s0", "num_vfs": 4}, {"pf": "enp2s0", "num_vfs": "max"}]
    assert inputs["networks"] == [{"name": "passthrough", "pf": "enp1s0"}]
    # an empty answer keeps the inventory's value
    assert inputs["guests"] == [{"domain": "g", "interfaces": [{"network": "passthrough"}]}]
    assert inputs["vfs_force"] is False and inputs["guests_offline"] is True


@pytest.mark.parametrize("answers,message", [
    ({"sriov_pfs": "- pf: enp1s0\n  numvfs: 4\n"}, "sriov_pfs.numvfs. Supported parameters include"),
    ({"sriov_stages": "vfs\nbogus"}, "Got no match for: bogus"),
    ({"sriov_force": "maybe"}, "unable to convert to bool"),
    ({"sriov_pfs": "- pf: enp1s0\n  pci_address: 0000:01:00.0\n  num_vfs: 1\n"}, "mutually exclusive"),
])
def test_bad_survey_answers_fail_validation(tmp_path, answers, message):
    rc, output = _run_input_tasks(tmp_path, "sriov_passthrough.yml", dict(AWX_ANSWERS, **answers))
    assert rc != 0
    assert "Validate the inputs before anything changes" in output
    assert message in output
