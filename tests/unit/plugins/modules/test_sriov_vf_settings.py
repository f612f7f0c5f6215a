# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.modules import sriov_vf_settings
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import guest, usage_of

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"
RULE1 = "etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules"
RULE2 = "etc/udev/rules.d/83-virt-sriov-vf-settings-0000:02:00.0.rules"
EINVAL = "RTNETLINK answers: Invalid argument"
EOPNOTSUPP = "RTNETLINK answers: Operation not supported"
EPROTONOSUPPORT = "RTNETLINK answers: Protocol not supported"


@pytest.fixture
def env(fake, run_module, monkeypatch):
    """Two igb PFs with 4 VFs each, ip and udevadm on the host, libvirt answering 'no users'."""
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    fake.add_pf(PF2, "enp2s0", numvfs=4, mac="52:54:00:aa:00:02")
    fake.add_program("usr/sbin/ip")
    fake.add_program("usr/bin/udevadm")
    fake.add_program("usr/sbin/modprobe")
    fake.write("etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules", "# count rule\n")
    fake.write("etc/udev/rules.d/82-virt-sriov-numvfs-0000:02:00.0.rules", "# count rule\n")
    state = {"usage": usage_of(fake), "usage_error": None, "refuse": None, "loads": 0}
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warnings.append(msg))

    def load_usage(host, uri):
        state["loads"] += 1
        if state["usage_error"] is not None:
            raise SriovError(state["usage_error"])
        return state["usage"]

    monkeypatch.setattr("ansible_collections.virt.sriov.plugins.module_utils._vf_settings.load_usage", load_usage)
    state["writer"] = fake.driver_writer()
    # the module makes its writer only when a VF changes driver (_vf_settings imports it then)
    monkeypatch.setattr("ansible_collections.virt.sriov.plugins.module_utils._numvfs.SubprocessWriter",
                        lambda: state["writer"])

    def run(args, **kwargs):
        kwargs.setdefault("commands", fake.ip_set_commands(refuse=state["refuse"]))
        return run_module(sriov_vf_settings, args, **kwargs)

    run.state = state
    run.warnings = warnings
    run.fake = fake
    return run


def sets(fake):
    return [c[4:] for c in getattr(fake, "ip_calls", []) if c[1:3] == ["link", "set"]]


def admin(fake, pf, index):
    return dict(fake._admin().get((pf, index), {}))


ARGS = {
    "pf": "enp1s0",
    "vf_defaults": {"trust": True},
    "vfs": [
        {"vf": 0, "mac": "52:54:00:6D:90:10", "vlan": 100, "qos": 3},
        {"vf": "1-2", "spoofchk": False, "max_tx_rate": 500},
    ],
}


def test_four_step_with_diff_and_rule(env):
    first = env(ARGS, check_mode=True, diff=True)
    assert first["changed"] and sets(env.fake) == []
    assert not os.path.exists(env.fake.p(RULE1))
    diff = first["diff"]
    assert diff[0]["before"]["enp1s0 vf 0"] == {"trust": False, "vlan": 0, "qos": 0, "vlan_proto": "802.1Q",
                                                "mac": "00:00:00:00:00:00"}
    assert diff[0]["after"]["enp1s0 vf 0"] == {"trust": True, "vlan": 100, "qos": 3, "vlan_proto": "802.1Q",
                                               "mac": "52:54:00:6d:90:10"}
    assert diff[0]["after"]["enp1s0 vf 3"] == {"trust": True}
    assert diff[1]["after_header"].endswith("83-virt-sriov-vf-settings-0000:01:00.0.rules")
    predicted = first["pfs"][0]["vfs"]
    assert [v["vf"] for v in predicted] == [0, 1, 2, 3] and predicted[1]["max_tx_rate"] == 500

    second = env(ARGS)
    assert second["changed"] and second["reloaded"]
    assert admin(env.fake, PF1, 0) == {"trust": True, "vlan": 100, "qos": 3, "vlan_protocol": "802.1Q",
                                       "mac": "52:54:00:6d:90:10"}
    assert admin(env.fake, PF1, 2) == {"trust": True, "spoofchk": False, "max_tx_rate": 500}
    assert second["pfs"][0]["vfs"] == predicted
    # one ip call per VF and setting, argv only, typed values
    assert ["enp1s0", "vf", "0", "vlan", "100", "qos", "3", "proto", "802.1Q"] in sets(env.fake)
    assert ["enp1s0", "vf", "1", "max_tx_rate", "500"] in sets(env.fake)
    rule = env.fake.read(RULE1)
    assert ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", '
            'RUN+="/usr/sbin/ip link set dev $name vf 0 mac 52:54:00:6d:90:10"') in rule
    assert 'RUN+="/usr/sbin/ip link set dev $name vf 3 trust on"' in rule
    assert oct(os.stat(env.fake.p(RULE1)).st_mode & 0o777) == "0o644"
    assert env.state["loads"] == 2  # MAC/VLAN changes were checked against libvirt (check + apply)

    third = env(ARGS, check_mode=True)
    fourth = env(ARGS)
    assert not third["changed"] and not fourth["changed"]
    assert len(sets(env.fake)) == 0 or all(c[1] != "set" for c in env.fake.ip_calls)
    assert env.state["loads"] == 2  # no MAC/VLAN change, no libvirt scan


def test_rule_sorts_after_count_rule():
    from ansible_collections.virt.sriov.plugins.module_utils._udev import default_rule_path
    from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import rule_path

    assert os.path.basename(rule_path(PF1)) > os.path.basename(default_rule_path(PF1))


@pytest.mark.parametrize("refused, message, errno_name, setting", [
    ({"min_tx_rate": EINVAL}, EINVAL, "EINVAL", "min_tx_rate"),
    ({"state": EOPNOTSUPP}, EOPNOTSUPP, "EOPNOTSUPP", "link_state"),
    ({"802.1ad": EPROTONOSUPPORT}, EPROTONOSUPPORT, "EPROTONOSUPPORT", "vlan"),
])
def test_driver_refusal_rolls_back_everything(env, refused, message, errno_name, setting):
    env.state["refuse"] = refused
    args = {"pfs": [
        {"pf": "enp2s0", "vfs": [{"vf": 0, "trust": True}]},
        {"pf": "enp1s0", "vfs": [{"vf": 1, "trust": True, "spoofchk": False, "min_tx_rate": 10,
                                  "link_state": "enable", "vlan": 5, "vlan_proto": "802.1ad"}]},
    ]}
    result = env(args)
    assert result["failed"]
    assert "igb driver of PF enp1s0 (0000:01:00.0) refused %s" % setting in result["msg"]
    assert "VF 1" in result["msg"] and message in result["msg"] and errno_name in result["msg"]
    assert result["errno"] == errno_name and result["setting"] == setting and result["vf"] == 1
    assert "enp2s0 (0000:02:00.0) VF 0 trust" in result["rolled_back"] and result["not_rolled_back"] == []
    # everything this run had applied is back: trust off, spoofchk on, on both PFs
    assert admin(env.fake, PF2, 0)["trust"] is False
    assert admin(env.fake, PF1, 1).get("trust", False) is False
    assert admin(env.fake, PF1, 1).get("spoofchk", True) is True
    assert not os.path.exists(env.fake.p(RULE1)) and not os.path.exists(env.fake.p(RULE2))


def test_mac_or_vlan_on_vf_in_use_refused_naming_user(env):
    vf1 = env.fake.vf_address(PF1, 1)
    env.state["usage"] = usage_of(env.fake, domains=[guest("guestVM", [vf1])])
    result = env({"pf": "enp1s0", "vfs": [{"vf": 1, "mac": "52:54:00:00:00:21"}, {"vf": 0, "trust": True}]})
    assert result["failed"] and "guestVM" in result["msg"] and "VF 1 (%s) mac" % vf1 in result["msg"]
    assert result["vfs_in_use"][0]["users"] == ["domain guestVM (running)"]
    assert sets(env.fake) == [] and admin(env.fake, PF1, 0) == {}
    # trust, spoofchk, rates and link state are allowed on the VF in use
    allowed = env({"pf": "enp1s0", "vfs": [{"vf": 1, "trust": True, "spoofchk": False, "max_tx_rate": 100}]})
    assert allowed["changed"] and admin(env.fake, PF1, 1)["trust"] is True


def test_guard_fails_closed_when_libvirt_unreachable(env):
    env.state["usage_error"] = "Cannot connect to libvirt at URI 'qemu:///system': no socket."
    result = env({"pf": "enp1s0", "vfs": [{"vf": 2, "vlan": 10}]}, check_mode=True)
    assert result["failed"] and "could not be checked" in result["msg"] and "no socket" in result["msg"]
    assert "VF 2 vlan" in result["msg"]
    # without a MAC or VLAN change libvirt is not needed at all
    assert env({"pf": "enp1s0", "vfs": [{"vf": 2, "trust": True}]})["changed"]


def test_value_the_driver_does_not_keep_is_rolled_back(env, monkeypatch):
    commands = env.fake.ip_set_commands()

    def lying(argv):
        if argv[-2:] == ["spoofchk", "off"]:
            env.fake.ip_calls.append(list(argv))
            return 0, "", ""  # accepted, not kept
        return commands(argv)

    result = env({"pf": "enp1s0", "vfs": [{"vf": 0, "trust": True, "spoofchk": False}]}, commands=lying)
    assert result["failed"] and "did not keep spoofchk of VF 0" in result["msg"]
    assert admin(env.fake, PF1, 0)["trust"] is False


@pytest.mark.parametrize("args, needle", [
    ({"pf": "enp1s0", "vfs": [{"vf": 4, "trust": True}]}, "VF 4 of PF enp1s0 (0000:01:00.0) does not exist: the PF has 4 VFs (0-3)"),
    ({"pf": "enp1s0", "vfs": [{"vf": "3-1", "trust": True}]}, "Invalid vf '3-1'"),
    ({"pf": "enp1s0", "vfs": [{"vf": "x", "trust": True}]}, "Invalid vf 'x'"),
    ({"pf": "enp1s0", "vfs": [{"vf": "0-1", "mac": "52:54:00:00:00:01"}]}, "cannot be shared"),
    ({"pf": "enp1s0", "vf_defaults": {"mac": "52:54:00:00:00:01"}}, "cannot be shared"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "mac": "01:00:5e:00:00:01"}]}, "multicast"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "vlan": 4096}]}, "Invalid vlan 4096"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "qos": 3}]}, "only valid together with vlan"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "vlan": 0, "qos": 3}]}, "need a vlan from 1 to 4095"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "max_tx_rate": 10, "min_tx_rate": 20}]}, "min_tx_rate 20 is above"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "trust": True}, {"vf": "0-1", "trust": False}]}, "Conflicting trust for VF 0"),
    ({"pf": "enp1s0", "vfs": [{"vf": 0, "mac": "52:54:00:00:00:01"}, {"vf": 1, "mac": "52:54:00:00:00:01"}]},
     "set on VF 0 and VF 1"),
    ({"pf": "enp1s0", "vf_defaults": {"trusted": True}}, "Unknown VF setting trusted"),
    ({"pfs": [{"pf": "enp1s0", "vf_defaults": {"trust": True}}, {"pci_address": "01:00.0"}]}, "listed twice"),
    ({"pf": "enp9s0", "vf_defaults": {"trust": True}}, "enp9s0"),
])
def test_bad_input_changes_nothing(env, args, needle):
    result = env(args)
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert "exception" not in result and sets(env.fake) == []


def test_persist_false_and_no_settings_remove_the_rule(env):
    env({"pf": "enp1s0", "vf_defaults": {"trust": True}})
    assert os.path.exists(env.fake.p(RULE1))
    result = env({"pf": "enp1s0", "vf_defaults": {"trust": True}, "persist": False}, diff=True)
    assert result["changed"] and result["pfs"][0]["rule"] is None and not os.path.exists(env.fake.p(RULE1))
    assert result["diff"]["after_header"].endswith("(absent)")
    assert not env({"pf": "enp1s0", "persist": False})["changed"]


def test_other_owners_and_missing_count_rule_warn(env):
    os.unlink(env.fake.p("etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"))
    env.fake.write("etc/NetworkManager/system-connections/p1.nmconnection",
                   "[connection]\ninterface-name=enp1s0\n[sriov]\ntotal-vfs=4\nvfs=0 trust=true\n")
    env.fake.write("etc/NetworkManager/system-connections/other.nmconnection",
                   "[connection]\ninterface-name=enp2s0\n[sriov]\nvfs=0 trust=true\n")
    env.fake.write("etc/systemd/network/10-p1.network", "[Match]\nName=enp1*\n[SR-IOV]\nVirtualFunction=0\nTrust=yes\n")
    env.fake.write("etc/os-net-config/config.yaml", "network_config:\n- type: sriov_vf\n  device: enp1s0\n  vfid: 0\n")
    result = env({"pf": "enp1s0", "vf_defaults": {"trust": True}}, check_mode=True)
    assert not result.get("failed")
    text = " ".join(env.warnings)
    assert "p1.nmconnection" in text and "other.nmconnection" not in text
    assert "10-p1.network" in text and "config.yaml" in text
    assert "82-virt-sriov-numvfs-0000:01:00.0.rules" in text


def test_other_settings_owners_read_like_systemd_and_skip_unreadable_files(env):
    # /etc shadows a file of the same name in /usr/lib; undecodable files and directories are skipped
    env.fake.write("usr/lib/systemd/network/10-p1.network", "[Match]\nName=enp1*\n[SR-IOV]\nVirtualFunction=0\n")
    env.fake.write("etc/systemd/network/10-p1.network", "[Match]\nName=enp1s0\n")
    env.fake.write("usr/local/lib/systemd/network/20-p1.network", "[Match]\nName=enp1s0\n[SR-IOV]\nVirtualFunction=1\n")
    with open(env.fake.p("etc/systemd/network/30-binary.network"), "wb") as handle:
        handle.write(b"\xff\xfe[SR-IOV]\n")
    os.makedirs(env.fake.p("etc/NetworkManager/system-connections/dir.nmconnection"))
    env({"pf": "enp1s0", "vf_defaults": {"trust": True}}, check_mode=True)
    text = " ".join(env.warnings)
    assert "usr/local/lib/systemd/network/20-p1.network" in text
    assert "10-p1.network" not in text and "30-binary" not in text and "dir.nmconnection" not in text


def test_legacy_rule_text_is_validated():
    from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import render_rule, validate_rule_text

    text = render_rule(PF1, {0: {"vlan": 5, "qos": 0, "vlan_proto": "802.1ad", "trust": False}}, "/usr/sbin/ip")
    assert validate_rule_text(text, PF1) == 2
    for bad in [
        text.replace("trust off", "trust off; reboot"),
        text.replace("/usr/sbin/ip", "ip"),
        text.replace('KERNELS=="0000:01:00.0"', 'KERNELS=="0000:02:00.0"'),
        text.replace('RUN+="', 'RUN+="/bin/sh -c ').replace("trust off\"", "trust off\""),
        text.replace('==\"?*\"', '==\"0\"'),
    ]:
        with pytest.raises(SriovError):
            validate_rule_text(bad, PF1)
    with pytest.raises(SriovError):
        render_rule(PF1, {0: {"link_state": "up"}}, "/usr/sbin/ip")


def test_check_mode_predicts_vfs_an_earlier_task_creates(env):
    env.fake.set_numvfs(PF2, 0)
    args = {"pfs": [{"pf": "enp2s0", "vfs": [{"vf": "0-1", "trust": True}], "persist": False},
                    {"pf": "enp1s0", "vf_defaults": {"trust": True}}]}
    result = env(args, check_mode=True)
    assert result["changed"] and [c["vf"] for c in result["pfs"][0]["changes"]] == [0, 1]
    assert result["pfs"][0]["rule"] is None and result["pfs"][1]["rule"] is not None
    assert any("VF 0, 1 does not exist yet" in w for w in env.warnings)
    # a real run refuses them
    assert "does not exist" in env(args)["msg"]


# ------------------------------------------------------------------------------------ VF drivers
def driver_of(fake, pf, index):
    vf = fake.vf_address(pf, index)
    link = fake.p("sys/bus/pci/devices", vf, "driver")
    driver = os.path.basename(os.readlink(link)) if os.path.lexists(link) else None
    return driver, fake.read("sys/bus/pci/devices/%s/driver_override" % vf).strip()


def modprobes(fake):
    return [c for c in getattr(fake, "ip_calls", []) if os.path.basename(c[0]) == "modprobe"]


DRIVERS = {"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio-pci"}, {"vf": 3, "driver": "none"},
                                   {"vf": 0, "driver": "host", "trust": True}]}


def test_drivers_four_step_with_diff_and_rule(env):
    vf2, vf3 = env.fake.vf_address(PF1, 2), env.fake.vf_address(PF1, 3)
    first = env(DRIVERS, check_mode=True, diff=True)
    assert first["changed"] and env.state["writer"] and env.fake.driver_writes == []
    assert driver_of(env.fake, PF1, 2) == ("igbvf", "(null)")
    assert first["diff"][0]["before"]["enp1s0 vf 2"] == {"driver": "igbvf"}
    assert first["diff"][0]["after"]["enp1s0 vf 2"] == {"driver": "vfio-pci"}
    assert first["diff"][0]["after"]["enp1s0 vf 3"] == {"driver": "none"}
    assert "enp1s0 vf 0" in first["diff"][0]["after"] and first["diff"][0]["after"]["enp1s0 vf 0"] == {"trust": True}
    predicted = first["pfs"][0]["vfs"]
    assert [(v["vf"], v["driver"], v["driver_override"]) for v in predicted] == [
        (0, "igbvf", None), (2, "vfio-pci", "vfio-pci"), (3, None, "none")]
    assert env.state["loads"] == 1  # driver changes are checked against libvirt

    second = env(DRIVERS)
    assert second["changed"]
    assert driver_of(env.fake, PF1, 2) == ("vfio-pci", "vfio-pci")
    assert driver_of(env.fake, PF1, 3) == (None, "none")
    assert driver_of(env.fake, PF1, 0) == ("igbvf", "(null)")
    assert len(modprobes(env.fake)) == 1 and modprobes(env.fake)[0][1:] == ["vfio-pci"]
    assert ("sys/bus/pci/devices/%s/driver_override" % vf2, "vfio-pci") in env.fake.driver_writes
    assert ("sys/bus/pci/devices/%s/driver/unbind" % vf2, vf2) in env.fake.driver_writes
    assert ("sys/bus/pci/drivers_probe", vf2) in env.fake.driver_writes
    assert second["pfs"][0]["vfs"] == predicted
    assert [c["setting"] for c in second["pfs"][0]["changes"]] == ["trust", "driver", "driver"]
    rule = env.fake.read(RULE1)
    assert ('ACTION=="add", SUBSYSTEM=="pci", KERNEL=="%s", ATTR{driver_override}="vfio-pci", '
            'IMPORT{builtin}="kmod load vfio-pci"' % vf2) in rule
    assert ('ACTION=="add|bind", SUBSYSTEM=="pci", KERNEL=="%s", ATTR{driver_override}=="vfio-pci", '
            'TEST!="driver", ATTR{[subsystem/pci]drivers_probe}="$kernel"' % vf2) in rule
    assert 'ACTION=="add", SUBSYSTEM=="pci", KERNEL=="%s", ATTR{driver_override}="none"' % vf3 in rule
    assert 'vf 0 trust on' in rule and rule.count("SUBSYSTEM==\"pci\"") == 5

    env.fake.driver_writes[:] = []
    third = env(DRIVERS, check_mode=True)
    fourth = env(DRIVERS)
    assert not third["changed"] and not fourth["changed"] and env.fake.driver_writes == []
    assert env.state["loads"] == 2


def test_driver_host_brings_the_vf_back_and_drops_its_lines(env):
    env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio-pci"}]})
    assert os.path.exists(env.fake.p(RULE1))
    back = env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "host"}]}, diff=True)
    assert back["changed"] and driver_of(env.fake, PF1, 2) == ("igbvf", "(null)")
    assert os.listdir(env.fake.p("sys/bus/pci/devices", env.fake.vf_address(PF1, 2), "net")) == ["enp1s0v2"]
    assert back["diff"][0]["before"]["enp1s0 vf 2"] == {"driver": "vfio-pci"}
    assert back["diff"][0]["after"]["enp1s0 vf 2"] == {"driver": "host"}
    # host needs no rule line: the file goes
    assert back["pfs"][0]["rule"] is None and not os.path.exists(env.fake.p(RULE1))
    assert not env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "host"}]})["changed"]


def test_driver_of_vf_in_use_refused_naming_user(env):
    vf2 = env.fake.vf_address(PF1, 2)
    env.state["usage"] = usage_of(env.fake, domains=[guest("guestVM", [vf2], running=False)])
    result = env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio-pci"}, {"vf": 1, "trust": True}]})
    assert result["failed"] and "Refusing to change the driver of VFs in use" in result["msg"]
    assert "VF 2 (%s) driver: domain guestVM (shut off)" % vf2 in result["msg"]
    assert result["vfs_in_use"][0]["setting"] == "driver"
    assert env.fake.driver_writes == [] and sets(env.fake) == [] and not os.path.exists(env.fake.p(RULE1))
    assert driver_of(env.fake, PF1, 2) == ("igbvf", "(null)")


def test_driver_guard_fails_closed_when_libvirt_unreachable(env):
    env.state["usage_error"] = "Cannot connect to libvirt at URI 'qemu:///system': no socket."
    result = env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "none"}]}, check_mode=True)
    assert result["failed"] and "could not be checked" in result["msg"] and "VF 2 driver" in result["msg"]
    assert env.fake.driver_writes == []


@pytest.mark.parametrize("args, needle", [
    ({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio"}]}, "driver must be one of: vfio-pci, host, none, got: vfio"),
    ({"pf": "enp1s0", "vf_defaults": {"driver": "igbvf"}}, "Invalid driver 'igbvf' for vf_defaults of PF enp1s0"),
    ({"pfs": [{"pf": "enp1s0", "vfs": [{"vf": 1, "driver": "vfio_pci"}]}]}, "Invalid driver 'vfio_pci' for VF 1 of PF"),
    ({"pf": "enp1s0", "vfs": [{"vf": 1, "driver": "none"}, {"vf": "0-1", "driver": "host"}]},
     "Conflicting driver for VF 1"),
])
def test_driver_bad_input_changes_nothing(env, args, needle):
    result = env(args)
    assert result["failed"] and needle in result["msg"], result["msg"]
    assert "exception" not in result and env.fake.driver_writes == [] and sets(env.fake) == []


def test_vfio_without_iommu_group_refused(env):
    vf1 = env.fake.vf_address(PF1, 1)
    os.unlink(env.fake.p("sys/bus/pci/devices", vf1, "iommu_group"))
    result = env({"pf": "enp1s0", "vfs": [{"vf": 1, "driver": "vfio-pci"}]})
    assert result["failed"] and "no IOMMU group" in result["msg"] and vf1 in result["msg"]
    assert env.fake.driver_writes == [] and modprobes(env.fake) == []


def test_host_driver_with_autoprobe_off_refused(env):
    env({"pf": "enp1s0", "vfs": [{"vf": 1, "driver": "none"}]})
    env.fake.write("sys/bus/pci/devices/%s/sriov_drivers_autoprobe" % PF1, "0\n")
    result = env({"pf": "enp1s0", "vfs": [{"vf": 1, "driver": "host"}]})
    assert result["failed"] and "sriov_drivers_autoprobe" in result["msg"]
    assert driver_of(env.fake, PF1, 1) == (None, "none")


def test_failed_bind_rolls_back_drivers_and_settings(env):
    vf3 = env.fake.vf_address(PF1, 3)
    env.state["writer"] = env.fake.driver_writer(fail={"sys/bus/pci/devices/%s/driver/unbind" % vf3: (16, "Device or resource busy")})
    args = {"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio-pci"}, {"vf": 3, "driver": "vfio-pci"},
                                    {"vf": 1, "trust": True}]}
    result = env(args)
    assert result["failed"] and "Could not move VF 3 (%s)" % vf3 in result["msg"]
    assert "Device or resource busy" in result["msg"] and result["setting"] == "driver" and result["vf"] == 3
    assert "enp1s0 (0000:01:00.0) VF 2 driver" in result["rolled_back"]
    assert "enp1s0 (0000:01:00.0) VF 1 trust" in result["rolled_back"] and result["not_rolled_back"] == []
    for index in (1, 2, 3):
        assert driver_of(env.fake, PF1, index) == ("igbvf", "(null)")
    assert admin(env.fake, PF1, 1)["trust"] is False
    assert not os.path.exists(env.fake.p(RULE1))


def test_timed_out_unbind_is_reported(env):
    vf2 = env.fake.vf_address(PF1, 2)
    env.state["writer"] = env.fake.driver_writer(hang={"sys/bus/pci/devices/%s/driver/unbind" % vf2})
    result = env({"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "none"}]})
    assert result["failed"] and "did not complete within" in result["msg"] and "exception" not in result


def test_driver_rule_lines_are_validated():
    from ansible_collections.virt.sriov.plugins.module_utils._vf_settings import render_rule, validate_rule_text

    addresses = {2: "0000:01:10.4", 3: "0000:01:10.6"}
    text = render_rule(PF1, {2: {"driver": "vfio-pci"}, 3: {"driver": "none", "trust": True}, 4: {"driver": "host"}},
                       "/usr/sbin/ip", addresses)
    assert validate_rule_text(text, PF1) == 6
    assert render_rule(PF1, {2: {"driver": "host"}}, "/usr/sbin/ip", addresses) is None
    for bad in [
        text.replace('KERNEL=="0000:01:10.4"', 'KERNEL=="0000:01:10.*"'),
        text.replace('ATTR{driver_override}="none"', 'ATTR{driver_override}="igbvf"'),
        text.replace('IMPORT{builtin}="kmod load vfio-pci"', 'RUN+="/bin/sh -c reboot"'),
        text.replace('ATTR{driver/unbind}="$kernel"', 'ATTR{remove}="1"'),
    ]:
        assert bad != text
        with pytest.raises(SriovError):
            validate_rule_text(bad, PF1)
