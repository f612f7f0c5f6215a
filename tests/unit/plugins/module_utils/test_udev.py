# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _udev
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

PF1 = "0000:01:00.0"
NUMVFS_LINE = 'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4"\n'
LINK = 'ACTION=="add", SUBSYSTEM=="net", KERNELS=='
IP_UP = '"/usr/sbin/ip link set dev $name up"'


def rule_line(text):
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.parametrize("kwargs, selector", [
    ({}, 'KERNELS=="0000:01:00.0"'),
    ({"match": "mac", "mac": "52:54:00:AA:00:01"}, 'ATTR{address}=="52:54:00:aa:00:01"'),
    ({"match": "driver", "driver": "ixgbe"}, 'ENV{ID_NET_DRIVER}=="ixgbe"'),
])
def test_render_rule_forms(kwargs, selector):
    text = _udev.render_rule("01:00.0", 4, **kwargs)
    assert rule_line(text) == [
        'ACTION=="add", SUBSYSTEM=="net", %s, ATTR{device/sriov_numvfs}=="0", '
        'ATTR{device/sriov_numvfs}="4"' % selector
    ]
    assert text.startswith(_udev.MARKER)
    _udev.validate_rule_text(text)


@pytest.mark.parametrize("kwargs, selector", [
    ({}, 'KERNELS=="0000:01:00.0"'),
    ({"match": "mac", "mac": "52:54:00:aa:00:01"}, 'ATTR{address}=="52:54:00:aa:00:01"'),
    ({"match": "driver", "driver": "ixgbe"}, 'ENV{ID_NET_DRIVER}=="ixgbe"'),
])
def test_render_rule_link_up(kwargs, selector):
    text = _udev.render_rule("01:00.0", 4, ip_path="/usr/sbin/ip", **kwargs)
    assert rule_line(text)[1] == (
        'ACTION=="add", SUBSYSTEM=="net", %s, ATTR{device/sriov_numvfs}=="?*", '
        'RUN+="/usr/sbin/ip link set dev $name up"' % selector)
    assert _udev.link_up_line(text) == rule_line(text)[1]
    _udev.validate_rule_text(text)


@pytest.mark.parametrize("ip_path", ["ip", "/usr/sbin/ip; rm -rf /", '/sbin/ip" RUN+="/bin/sh', "/usr/sbin/ip\n",
                                     "/usr/sbin/sh", "/usr/sbin/ip link set dev eth0 down #"])
def test_render_rule_rejects_bad_ip_path(ip_path):
    with pytest.raises(SriovError, match="ip command"):
        _udev.render_rule(PF1, 4, ip_path=ip_path)


def test_link_up_uses_the_hosts_ip(fake):
    fake.add_pf(PF1, "enp1s0")
    params = {"pf": "enp1s0", "num_vfs": 2, "link_up": True}
    with pytest.raises(SriovError, match="needs the ip command"):
        _udev.manage_rule(fake.host(), params, check_mode=True)
    fake.write("usr/sbin/ip", "")  # not executable: not a command
    with pytest.raises(SriovError, match="needs the ip command"):
        _udev.manage_rule(fake.host(), params, check_mode=True)
    fake.add_program("bin/ip")
    assert '"/bin/ip link set dev $name up"' in _udev.manage_rule(fake.host(), params, check_mode=True)["link_up_rule"]
    fake.add_program("usr/sbin/ip")
    assert '"/usr/sbin/ip link set dev $name up"' in _udev.manage_rule(fake.host(), params, check_mode=True)["link_up_rule"]


@pytest.mark.parametrize("kwargs", [
    {"match": "mac", "mac": '52:54:00:aa:00:01", RUN+="/bin/sh'},
    {"match": "mac", "mac": "52:54:00:aa:00"},
    {"match": "driver", "driver": 'igb", RUN+="x'},
    {"match": "driver", "driver": "igb\nRUN"},
    {"match": "bogus"},
])
def test_render_rule_rejects_bad_tokens(kwargs):
    with pytest.raises(SriovError):
        _udev.render_rule(PF1, 4, **kwargs)


@pytest.mark.parametrize("count", [0, -1, True, "4"])
def test_render_rule_rejects_bad_count(count):
    with pytest.raises(SriovError):
        _udev.render_rule(PF1, count)


@pytest.mark.parametrize("text", [
    "",
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}="4"\n',  # no guard
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4", RUN+="/bin/sh"\n',
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="x"\n',
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4" junk\n',
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4"\nACTION=="add"\n',
    'ACTION=="remove", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4"\n',
    'ACTION=="add", SUBSYSTEM=="net", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4"\n',  # no selector
    # link lines: only "<abs>/ip link set dev $name up", same selector, PF guard, one RUN
    NUMVFS_LINE + LINK + '"x", ATTR{device/sriov_numvfs}=="?*", RUN+="/bin/sh -c reboot"\n',
    NUMVFS_LINE + LINK + '"y", ATTR{device/sriov_numvfs}=="?*", RUN+=' + IP_UP + '\n',
    NUMVFS_LINE + LINK + '"x", RUN+=' + IP_UP + '\n',
    NUMVFS_LINE + LINK + '"x", ATTR{device/sriov_numvfs}=="?*", RUN+=' + IP_UP + ', RUN+=' + IP_UP + '\n',
    NUMVFS_LINE + LINK + '"x", ATTR{device/sriov_numvfs}=="?*", RUN+="ip link set dev $name up"\n',
    'ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", ATTR{device/sriov_numvfs}="4", RUN+=' + IP_UP + '\n',
])
def test_validate_rule_text_rejects(text):
    with pytest.raises(SriovError):
        _udev.validate_rule_text(text)


@pytest.mark.parametrize("path", [
    "/etc/udev/rules.d/99-mine.rules",
    "/run/udev/rules.d/82-x:y.rules",
])
def test_valid_paths(path):
    assert _udev.validate_rule_path(path) == path


@pytest.mark.parametrize("path", [
    "/etc/passwd",
    "/etc/udev/rules.d/../x.rules",
    "/etc/udev/rules.d/sub/x.rules",
    "etc/udev/rules.d/x.rules",
    "/etc/udev/rules.d/x.conf",
    "/etc/udev/rules.d/.hidden.rules",
    "/etc/udev/rules.d/a b.rules",
    "/etc/udev/rules.d//x.rules",
    "/usr/lib/udev/rules.d/x.rules",
])
def test_invalid_paths(path):
    with pytest.raises(SriovError) as info:
        _udev.validate_rule_path(path)
    assert repr(path) in info.value.msg


def test_default_rule_path():
    assert _udev.default_rule_path("pci_0000_01_00_0") == \
        "/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"


def test_udevadm_verify_only_on_new_systemd(fake):
    fake.add_program("usr/bin/udevadm")
    calls = []

    def commands(version):
        def run(argv, **kwargs):
            calls.append(argv)
            if argv[1] == "--version":
                return 0, "%s\n" % version, ""
            if argv[1] == "verify":
                return 1, "", "bad rule"
            raise AssertionError(argv)
        return run

    assert _udev.udevadm_verify(fake.host(commands("252")), "x") is False
    with pytest.raises(SriovError) as info:
        _udev.udevadm_verify(fake.host(commands("255 (255.4-1ubuntu8)")), "x")
    assert "bad rule" in info.value.msg
    assert calls[-1][:3] == ["/usr/bin/udevadm", "verify", "--resolve-names=never"]


def test_write_atomic_mode(fake):
    import os
    import stat

    path = "/etc/udev/rules.d/82-x.rules"
    fake.host().write_atomic(path, "text\n", mode=0o644)
    full = fake.p(path)
    assert fake.read(path) == "text\n"
    assert stat.S_IMODE(os.stat(full).st_mode) == 0o644
    assert os.listdir(os.path.dirname(full)) == ["82-x.rules"]


@pytest.mark.parametrize("value, text", [(False, "0"), (True, "1")])
def test_autoprobe_is_set_before_the_count(value, text):
    rule = _udev.render_rule("0000:01:00.0", 4, drivers_autoprobe=value)
    line = rule_line(rule)[0]
    assert line.endswith('ATTR{device/sriov_drivers_autoprobe}="%s", ATTR{device/sriov_numvfs}="4"' % text)
    _udev.validate_rule_text(rule)


@pytest.mark.parametrize("line, needle", [
    ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", '
     'ATTR{device/sriov_numvfs}="4", ATTR{device/sriov_drivers_autoprobe}="0"', "before sriov_numvfs"),
    ('ACTION=="add", SUBSYSTEM=="net", KERNELS=="x", ATTR{device/sriov_numvfs}=="0", '
     'ATTR{device/sriov_drivers_autoprobe}="2", ATTR{device/sriov_numvfs}="4"', "0 or 1"),
])
def test_autoprobe_in_rule_text_is_checked(line, needle):
    with pytest.raises(SriovError) as info:
        _udev.validate_rule_text(line + "\n")
    assert needle in info.value.msg
