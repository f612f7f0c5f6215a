"""VF drivers (sriov_vf_settings ``driver``) in the emulated hypervisor (igb, Intel 82576).

test_vf_drivers_bind_heal_guard_and_return, in order:
  1. 4 VFs on enp1s0 with the count rule; the four-step proof of VF 2 on vfio-pci and VF 3 on
     no driver (check: changed, apply: changed, check: not changed, apply: not changed); sysfs
     shows VF 2 on vfio-pci and VF 3 unbound, both with their driver_override;
  2. modprobe -r igb && modprobe igb: the VFs come back (count rule), the kernel binds igbvf to
     them while creating them, and the driver lines move VF 2 to vfio-pci and VF 3 off again;
  3. reboot: the same;
  4. libvirt_hostdev_interface attaches VF 2 to guestVM (shut off: persistent definition);
     driver: host for VF 2 is then refused naming guestVM, and VF 2 stays on vfio-pci;
  5. the interface detached, driver: host brings VF 2 (and VF 3) back to igbvf, with a network
     interface, and the driver lines leave the rule file (it is removed).
The test leaves the lab as it found it (finalizer): no VFs, no rule files, guestVM's pristine
definition.
"""
import json

import pytest

pytestmark = pytest.mark.lab

PF_DEV = "/sys/class/net/enp1s0/device"
RULE = "/etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules"
# sriov_drivers_autoprobe back to 1: another test may have left it at 0 (VFs without a driver).
CLEANUP = (f"virsh define /usr/local/share/virt-sriov-lab/guestVM.xml >/dev/null; "
           f"echo 0 > {PF_DEV}/sriov_numvfs; echo 1 > {PF_DEV}/sriov_drivers_autoprobe; "
           "rm -f /etc/udev/rules.d/82-virt-sriov-numvfs-*.rules "
           "/etc/udev/rules.d/83-virt-sriov-vf-settings-*.rules; udevadm control --reload")
# One line per VF: index, PCI address, bound driver (- for none), driver_override, netdevs.
DRIVERS = f"""udevadm settle
for i in 0 1 2 3; do
  v={PF_DEV}/virtfn$i; d=-
  if [ -e $v/driver ]; then d=$(basename $(readlink $v/driver)); fi
  echo "$i $(basename $(readlink $v)) $d $(cat $v/driver_override) $(ls $v/net 2>/dev/null | tr '\\n' ,)"
done"""
WANTED = {"pf": "enp1s0", "vfs": [{"vf": 2, "driver": "vfio-pci"}, {"vf": 3, "driver": "none"}]}
BACK = {"pf": "enp1s0", "vfs": [{"vf": "2-3", "driver": "host"}]}
FOUR_STEPS = (("check1", True), ("apply1", False), ("check2", True), ("apply2", False))


def _task(name, module_args, check=False, ignore=False):
    text = f"""
    - name: "{name}"
      virt.sriov.sriov_vf_settings: {json.dumps(module_args)}
      check_mode: {str(check).lower()}
"""
    if ignore:
        text += "      ignore_errors: true\n"
    return text


def _shell(name, script):
    body = "".join("        %s\n" % line for line in script.splitlines())
    return f"""
    - name: "{name}"
      ansible.builtin.shell: |
{body}      changed_when: false
"""


def drivers(text):
    """{vf: (driver or None, driver_override, netdevs)} from the DRIVERS readback."""
    found = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].isdigit():
            found[int(parts[0])] = (None if parts[2] == "-" else parts[2], parts[3],
                                    parts[4] if len(parts) > 4 else "")
    return found


def on_wanted_drivers(state):
    return (state[2][:2] == ("vfio-pci", "vfio-pci") and state[3][:2] == (None, "none")
            and state[0][0] == "igbvf" and state[1][0] == "igbvf")


@pytest.fixture
def clean_lab(lab):
    lab.ssh(CLEANUP, check=True)
    yield lab
    lab.ssh(CLEANUP)


def test_vf_drivers_bind_heal_guard_and_return(clean_lab):
    lab = clean_lab
    play = """
- hosts: all
  gather_facts: false
  tasks:
    - name: VFs
      virt.sriov.sriov_vfs: {pf: enp1s0, num_vfs: 4, drivers_autoprobe: true}
    - name: count rule
      virt.sriov.sriov_udev_rule: {pf: enp1s0, num_vfs: 4, link_up: true, drivers_autoprobe: true}
""" + "".join(_task(n, WANTED, check=c) for n, c in FOUR_STEPS) + _shell(
        "readback", DRIVERS + "\necho ===\ncat " + RULE)
    res = lab.run_playbook(play)
    r = {t.task: t for t in res.tasks}

    # 1. four steps, then sysfs and the rule
    assert [r[n].changed for n in ("check1", "apply1", "check2", "apply2")] == [True, True, False, False]
    changes = r["apply1"].result["pfs"][0]["changes"]
    assert [(c["vf"], c["setting"], c["after"]["driver"]) for c in changes] == [
        (2, "driver", "vfio-pci"), (3, "driver", "none")]
    assert changes[0]["before"] == {"driver": "igbvf"}
    sysfs, _sep, rule = r["readback"].result["stdout"].partition("===")
    state = drivers(sysfs)
    assert on_wanted_drivers(state), state
    assert state[2][2] == "" and state[3][2] == ""  # no host network interface on either
    vf2 = r["apply1"].result["pfs"][0]["vfs"][0]["pci_address"]
    assert f'KERNEL=="{vf2}", ATTR{{driver_override}}="vfio-pci", IMPORT{{builtin}}="kmod load vfio-pci"' in rule

    # 2. driver reload: VFs recreated and bound to igbvf by the kernel, then moved by the rule
    lab.ssh("modprobe -r igb && modprobe igb", check=True, timeout=300)
    state = drivers(lab.ssh(DRIVERS, check=True).stdout)
    assert on_wanted_drivers(state), state
    errors = lab.ssh("journalctl -b -u systemd-udevd --no-pager | grep -c 'vf-settings.*Failed' || true").stdout
    assert errors.strip() == "0", errors

    # 3. reboot
    lab.reboot()
    state = drivers(lab.ssh(DRIVERS, check=True).stdout)
    assert on_wanted_drivers(state), state

    # 4. and 5. libvirt on the vfio-pci VF, the guard, the way back
    play2 = """
- hosts: all
  gather_facts: false
  tasks:
    - name: attach
      virt.sriov.libvirt_hostdev_interface: {domain: guestVM, pf: enp1s0, vf: 2, scope: config}
    - name: xml
      ansible.builtin.command: virsh dumpxml --inactive guestVM
      changed_when: false
""" + _task("refused", BACK, ignore=True) + _shell("still", DRIVERS) + """
    - name: detach
      virt.sriov.libvirt_hostdev_interface: {domain: guestVM, pf: enp1s0, vf: 2, scope: config, state: absent}
""" + _task("back", BACK) + _task("back again", BACK) + _shell(
        "after", DRIVERS + "\nif [ -e " + RULE + " ]; then echo RULE; else echo NORULE; fi")
    res = lab.run_playbook(play2)
    r = {t.task: t for t in res.tasks}
    assert r["attach"].changed and r["attach"].status == "changed"
    bus, slot, function = vf2[5:7], vf2[8:10], vf2[11]
    assert f"bus='0x{bus}' slot='0x{slot}' function='0x{function}'" in r["xml"].result["stdout"]
    refused = r["refused"]
    assert refused.status == "ignored", refused.result
    msg = refused.result["msg"]
    assert "Refusing to change the driver of VFs in use" in msg and "domain guestVM (shut off)" in msg, msg
    assert drivers(r["still"].result["stdout"])[2][:2] == ("vfio-pci", "vfio-pci")
    assert r["detach"].changed and r["back"].changed and not r["back again"].changed
    after = r["after"].result["stdout"]
    state = drivers(after)
    assert all(state[i][:2] == ("igbvf", "(null)") and state[i][2] for i in range(4)), state
    assert "NORULE" in after
