"""Per-VF admin settings (sriov_vf_settings) in the emulated hypervisor (igb, Intel 82576).

test_vf_settings_apply_refuse_and_heal, in order (one playbook for everything that needs
Ansible, then two disruptions checked over SSH, then one playbook to confirm):
  1. 4 VFs on enp1s0 with the count rule (link_up); VF 1 gets an administrative MAC with trust
     off; after its VF driver is rebound, changing the VF interface's MAC on the host fails
     ("Cannot assign requested address");
  2. the four-step proof of the full settings (check: changed, apply: changed, check: not
     changed, apply: not changed); every setting igb accepts reads back from ip -d link;
     with trust on, the VF interface's MAC change succeeds;
  3. the three settings igb refuses (min_tx_rate EINVAL, link_state EOPNOTSUPP, vlan_proto
     802.1ad EPROTONOSUPPORT), each sent after two settings that the driver accepts: each run
     fails naming the driver, the VF and the setting, and the VF settings and rule file are as
     before (the accepted settings were set back);
  4. modprobe -r igb && modprobe igb: the count and every setting are back, from udev alone;
  5. reboot: the same;
  6. the settings applied again: not changed.
The test leaves the lab as it found it (finalizer): no VFs, no rule files.

The count rule creates the VFs without a host driver (drivers_autoprobe: false), as on a host whose
VFs are for guests. With igbvf bound on the host, a trusted VF re-sends the MAC its driver picked at
probe (before the settings rule ran) at its next reset, e.g. when the PF's link comes up, and igb
accepts it because the VF is trusted: VF 1 then shows a random MAC (seen once in CI). Trust means
exactly that; the troubleshooting guide names it.
"""
import json

import pytest

pytestmark = pytest.mark.lab

PF1_DEV = "/sys/class/net/enp1s0/device"
PF2_DEV = "/sys/class/net/enp2s0/device"
SETTINGS_RULE = "/etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules"
# The count rule of the test turns autoprobe off (at the reload and the reboot): back to the default.
CLEANUP = (f"echo 0 > {PF1_DEV}/sriov_numvfs; echo 0 > {PF2_DEV}/sriov_numvfs; "
           f"echo 1 > {PF1_DEV}/sriov_drivers_autoprobe; "
           "rm -f /etc/udev/rules.d/82-virt-sriov-numvfs-*.rules "
           "/etc/udev/rules.d/83-virt-sriov-vf-settings-*.rules; udevadm control --reload")
# The VF interface of VF 1, after its igbvf driver is bound again (so it takes the admin MAC).
REBIND_VF1 = ("A=$(basename $(readlink /sys/class/net/enp1s0/device/virtfn1)); "
              "echo $A > /sys/bus/pci/drivers/igbvf/unbind; echo $A > /sys/bus/pci/drivers/igbvf/bind; "
              "udevadm settle; ls /sys/bus/pci/devices/$A/net")
VF1_NETDEV = "$(ls /sys/bus/pci/devices/$(basename $(readlink /sys/class/net/enp1s0/device/virtfn1))/net)"

MAC0 = "52:54:00:5a:10:00"
MAC1 = "52:54:00:5a:10:01"
SETTINGS = {
    "pf": "enp1s0",
    "vf_defaults": {"spoofchk": False},
    "vfs": [
        {"vf": 0, "mac": MAC0, "vlan": 100, "qos": 3},
        {"vf": 1, "mac": MAC1, "trust": True},
        {"vf": "2-3", "trust": True, "max_tx_rate": 200},
    ],
}
REFUSED = [
    ("min_tx_rate", {"vf": 3, "spoofchk": True, "trust": False, "min_tx_rate": 10}, "EINVAL"),
    ("link_state", {"vf": 3, "spoofchk": True, "trust": False, "link_state": "enable"}, "EOPNOTSUPP"),
    ("vlan", {"vf": 2, "spoofchk": True, "trust": False, "vlan": 5, "vlan_proto": "802.1ad"},
     "EPROTONOSUPPORT"),
]


def _task(name, module_args, check=False, ignore=False):
    text = f"""
    - name: "{name}"
      virt.sriov.sriov_vf_settings: {json.dumps(module_args)}
      check_mode: {str(check).lower()}
      register: __e2e_{name.replace(' ', '_').replace('-', '_')}
"""
    if ignore:
        text += "      ignore_errors: true\n"
    return text


FOUR_STEPS = (("check1", True), ("apply1", False), ("check2", True), ("apply2", False))
PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: VFs
      virt.sriov.sriov_vfs: {pf: enp1s0, num_vfs: 4}
    - name: count rule
      virt.sriov.sriov_udev_rule: {pf: enp1s0, num_vfs: 4, link_up: true, drivers_autoprobe: false}
""" + _task("admin mac trust off", {"pf": "enp1s0", "vfs": [{"vf": 1, "mac": MAC1, "trust": False}],
                                    "persist": False}) + f"""
    - name: rebind VF 1
      ansible.builtin.shell: "{REBIND_VF1}"
      changed_when: false
    - name: mac change untrusted
      ansible.builtin.shell: "ip link set dev {VF1_NETDEV} address 02:00:00:00:01:99"
      register: __e2e_untrusted
      failed_when: false
      changed_when: false
""" + "".join(_task(n, SETTINGS, check=c) for n, c in FOUR_STEPS) + f"""
    - name: mac change trusted
      ansible.builtin.shell: >-
        ip link set dev {VF1_NETDEV} address 02:00:00:00:01:99 &&
        ip link show dev {VF1_NETDEV} && ip link set dev {VF1_NETDEV} address {MAC1}
      register: __e2e_trusted
      failed_when: false
      changed_when: false
    - name: readback before
      ansible.builtin.shell: "ip -j -d link show enp1s0; cat {SETTINGS_RULE}"
      register: __e2e_before
      changed_when: false
""" + "".join(_task("refuse " + n, {"pf": "enp1s0", "vfs": [vf]}, ignore=True) for n, vf, _e in REFUSED) + f"""
    - name: readback after
      ansible.builtin.shell: "ip -j -d link show enp1s0; cat {SETTINGS_RULE}"
      register: __e2e_after
      changed_when: false
"""

# VFs 2 and 3 have no administrative MAC (while igbvf is bound, a trusted VF's driver gives itself a
# random one, which the PF then reports). Only what the settings set is compared.
EXPECTED = {
    0: {"mac": MAC0, "vlan": 100, "qos": 3, "spoofchk": False, "trust": False, "max_tx": 0},
    1: {"mac": MAC1, "vlan": 0, "qos": 0, "spoofchk": False, "trust": True, "max_tx": 0},
    2: {"vlan": 0, "qos": 0, "spoofchk": False, "trust": True, "max_tx": 200},
    3: {"vlan": 0, "qos": 0, "spoofchk": False, "trust": True, "max_tx": 200},
}


def vf_settings(ip_json):
    """{vf: {mac, vlan, qos, spoofchk, trust, max_tx}} from the text of ip -j -d link show PF."""
    link = json.loads(ip_json)[0]
    result = {}
    for entry in link.get("vfinfo_list", []):
        vlan = (entry.get("vlan_list") or [{}])[0]
        result[entry["vf"]] = {
            "mac": entry["address"], "vlan": vlan.get("vlan", 0), "qos": vlan.get("qos", 0),
            "spoofchk": entry["spoofchk"], "trust": entry["trust"],
            "max_tx": entry.get("rate", {}).get("max_tx", 0),
        }
        if entry["vf"] not in (0, 1):
            del result[entry["vf"]]["mac"]
    return result


def split_readback(stdout):
    first, _sep, rest = stdout.partition("\n")
    return vf_settings(first), rest


def healed(now):
    """Every setting is back, except that a rate may be missing: igb refuses max_tx_rate while the
    PF's link is not up yet, and the settings rule runs right after the count rule brought the PF
    up (measured: after a driver reload the rates came back in some runs, not in others). The
    settings rule re-applies the rates at the next PF event; a known limit, in the
    troubleshooting guide."""
    without_rate = {vf: {k: v for k, v in st.items() if k != "max_tx"} for vf, st in now.items()}
    expected = {vf: {k: v for k, v in st.items() if k != "max_tx"} for vf, st in EXPECTED.items()}
    rates_ok = all(now[vf]["max_tx"] in (0, EXPECTED[vf]["max_tx"]) for vf in EXPECTED)
    if now != EXPECTED:
        print("rates not re-applied (PF link not up yet when the rule ran): %s" % now)
    return without_rate == expected and rates_ok


def host_state(lab):
    out = lab.ssh(f"udevadm settle; cat {PF1_DEV}/sriov_numvfs {PF2_DEV}/sriov_numvfs; "
                  "ip -j -d link show enp1s0", check=True).stdout
    lines = out.splitlines()
    return [int(lines[0]), int(lines[1])], vf_settings(lines[2])


@pytest.fixture
def clean_lab(lab):
    lab.ssh(CLEANUP, check=True)
    yield lab
    lab.ssh(CLEANUP)


def test_vf_settings_apply_refuse_and_heal(clean_lab):
    lab = clean_lab
    res = lab.run_playbook(PLAY)
    r = {t.task: t for t in res.tasks}

    # 1. trust off: the VF may not replace its administrative MAC
    untrusted = r["mac change untrusted"].result
    assert untrusted["rc"] != 0 and "Cannot assign requested address" in untrusted["stderr"], untrusted

    # 2. four steps, readback of every accepted setting, trust on: the change succeeds
    assert [r[n].changed for n in ("check1", "apply1", "check2", "apply2")] == [True, True, False, False]
    changes = r["apply1"].result["pfs"][0]["changes"]
    wanted = {(0, "mac"), (0, "vlan"), (1, "trust"), (2, "max_tx_rate"), (3, "spoofchk")}
    assert {(c["vf"], c["setting"]) for c in changes} >= wanted
    trusted = r["mac change trusted"].result
    assert trusted["rc"] == 0 and "02:00:00:00:01:99" in trusted["stdout"], trusted
    before, rule_before = split_readback(r["readback before"].result["stdout"])
    assert before == EXPECTED
    assert 'RUN+="/usr/sbin/ip link set dev $name vf 0 vlan 100 qos 3 proto 802.1Q"' in rule_before
    assert 'RUN+="/usr/sbin/ip link set dev $name vf 3 max_tx_rate 200"' in rule_before

    # 3. refused settings: named, nothing half-done
    for name, _vf, errno_name in REFUSED:
        task = r["refuse " + name]
        assert task.status == "ignored", task.result
        msg = task.result["msg"]
        assert "igb driver of PF enp1s0 (0000:01:00.0) refused %s" % name in msg, msg
        assert errno_name in msg and task.result["errno"] == errno_name
        assert len(task.result["rolled_back"]) == 2 and task.result["not_rolled_back"] == []
    after, rule_after = split_readback(r["readback after"].result["stdout"])
    assert after == EXPECTED and rule_after == rule_before

    # 4. driver reload: the count rule recreates the VFs, the settings rule re-applies
    lab.ssh("modprobe -r igb && modprobe igb", check=True, timeout=300)
    counts, now = host_state(lab)
    assert counts == [4, 0] and healed(now), now

    # 5. reboot
    lab.reboot()
    counts, now = host_state(lab)
    assert counts == [4, 0] and healed(now), now

    # 6. nothing left to do
    again = lab.run_playbook("""
- hosts: all
  gather_facts: false
  tasks:
""" + _task("again", SETTINGS))
    assert not again.task("again").changed
