# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parsing of ``ip -j -d link show dev PF`` over samples in the layouts iproute2 has printed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _iplink
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

# igb (82576) with 7 VFs, iproute2 6.1 on Linux 6.1: ``address``, ``vlan_list`` (an empty object
# when there is no VLAN), ``rate``. VF 1 was given a MAC and VLAN 42 by libvirt, VF 3 trust on.
IGB_7VFS = """[{"ifindex":3,"ifname":"enp1s0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
"mtu":1500,"qdisc":"mq","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,
"link_type":"ether","address":"52:54:00:5a:00:01","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,
"allmulti":0,"min_mtu":68,"max_mtu":9216,"inet6_addr_gen_mode":"eui64","num_tx_queues":8,
"num_rx_queues":8,"gso_max_size":65536,"gso_max_segs":65535,"tso_max_size":65536,
"tso_max_segs":65535,"gro_max_size":65536,"parentbus":"pci","parentdev":"0000:01:00.0",
"vfinfo_list":[
{"vf":0,"link_type":"ether","address":"00:00:00:00:00:00","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false},
{"vf":1,"link_type":"ether","address":"52:54:00:6D:90:02","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{"vlan":42}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false},
{"vf":2,"link_type":"ether","address":"d2:4f:0e:6a:13:51","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false},
{"vf":3,"link_type":"ether","address":"0a:c1:8e:22:7f:10","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":false,"link_state":"auto","trust":true},
{"vf":4,"link_type":"ether","address":"3e:55:a0:19:c4:02","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{"vlan":100,"qos":3}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false},
{"vf":5,"link_type":"ether","address":"fa:16:3e:01:02:03","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"disable","trust":false},
{"vf":6,"link_type":"ether","address":"fa:16:3e:01:02:04","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"enable","trust":false}
]}]
"""

# Recorded in the lab (QEMU igb = 82576, Debian 12: iproute2 6.1, Linux 6.1) after
# ``echo 3 > sriov_numvfs; ip link set enp1s0 vf 1 mac 52:54:00:6d:90:02 vlan 42;
# ip link set enp1s0 vf 2 trust on spoofchk off`` - the PF link is down (qdisc noop).
LAB_3VFS = (
    '[{"ifindex":3,"ifname":"enp1s0","flags":["BROADCAST","MULTICAST"],"mtu":1500,"qdisc":"noop","ope'
    'rstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address'
    '":"52:54:00:5a:00:01","broadcast":"ff:ff:ff:ff:ff:ff","promiscuity":0,"allmulti":0,"min_mtu":68,'
    '"max_mtu":9216,"inet6_addr_gen_mode":"eui64","num_tx_queues":8,"num_rx_queues":8,"gso_max_size":'
    '65536,"gso_max_segs":65535,"tso_max_size":65536,"tso_max_segs":65535,"gro_max_size":65536,"paren'
    'tbus":"pci","parentdev":"0000:01:00.0","vfinfo_list":[{"vf":0,"link_type":"ether","address":"00:'
    '00:00:00:00:00","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},'
    '"spoofchk":true,"link_state":"auto","trust":false},{"vf":1,"link_type":"ether","address":"52:54:'
    '00:6d:90:02","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{"vlan":42}],"rate":{"max_tx":0,"min_t'
    'x":0},"spoofchk":true,"link_state":"auto","trust":false},{"vf":2,"link_type":"ether","address":"'
    '00:00:00:00:00:00","broadcast":"ff:ff:ff:ff:ff:ff","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":'
    '0},"spoofchk":false,"link_state":"auto","trust":true}]}]'
)

# ixgbe (82599) with 2 VFs, iproute2 4.18-era JSON (RHEL 8.0): ``mac``, no ``link_type``.
IXGBE_OLD = """[{"ifindex":4,"ifname":"ens1f0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
"mtu":1500,"qdisc":"mq","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,
"link_type":"ether","address":"90:e2:ba:12:34:56","broadcast":"ff:ff:ff:ff:ff:ff",
"vfinfo_list":[
{"vf":0,"mac":"00:00:00:00:00:00","vlan_list":[{}],"rate":{"max_tx":0,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false,"query_rss_en":false},
{"vf":1,"mac":"52:54:00:AB:CD:EF","vlan_list":[{"vlan":200}],"rate":{"max_tx":1000,"min_tx":0},"spoofchk":true,"link_state":"auto","trust":false,"query_rss_en":false}
]}]"""

# A kernel without IFLA_VF_VLAN_LIST / IFLA_VF_RATE / trust (before 4.9): flat vlan, tx_rate.
FLAT_VLAN = """[{"ifname":"eth2","vfinfo_list":[
{"vf":0,"mac":"52:54:00:00:00:10","vlan":10,"qos":2,"tx_rate":500,"spoofchk":true,"link_state":"auto"},
{"vf":1,"mac":"52:54:00:00:00:11","spoofchk":false}
]}]"""

# mlx4 reports VLAN 4095 for a VF without VLAN; 802.1ad when a QinQ VLAN is set.
MLX4 = """[{"ifname":"ens2","vfinfo_list":[
{"vf":0,"link_type":"ether","address":"00:00:00:00:00:00","vlan_list":[{"vlan":4095}],"spoofchk":false,"link_state":"auto","trust":false},
{"vf":1,"link_type":"ether","address":"7e:8f:a1:02:03:04","vlan_list":[{"vlan":30,"protocol":"802.1ad"}],"spoofchk":false,"link_state":"auto","trust":false}
]}]"""

# A PF with SR-IOV but 0 VFs (or a driver that reports none): no vfinfo_list at all.
NO_VFS = """[{"ifindex":2,"ifname":"enp2s0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],
"mtu":1500,"operstate":"UP","link_type":"ether","address":"52:54:00:5a:00:02"}]"""


def test_igb_sample_all_vfs():
    result = _iplink.parse_vfinfo(IGB_7VFS, netdev="enp1s0")
    assert sorted(result) == list(range(7))
    assert result[0] == {
        "mac": "00:00:00:00:00:00", "vlan": 0, "qos": 0, "vlan_protocol": "802.1Q",
        "spoofchk": True, "trust": False, "link_state": "auto", "max_tx_rate": 0, "min_tx_rate": 0,
    }
    assert result[1]["mac"] == "52:54:00:6d:90:02"  # normalised to lower case
    assert result[1]["vlan"] == 42
    assert (result[3]["spoofchk"], result[3]["trust"]) == (False, True)
    assert (result[4]["vlan"], result[4]["qos"]) == (100, 3)
    assert result[5]["link_state"] == "disable"
    assert result[6]["link_state"] == "enable"


def test_recorded_lab_sample():
    result = _iplink.parse_vfinfo(LAB_3VFS, netdev="enp1s0")
    assert sorted(result) == [0, 1, 2]
    assert (result[0]["mac"], result[0]["vlan"], result[0]["spoofchk"], result[0]["trust"]) == (
        "00:00:00:00:00:00", 0, True, False)
    assert (result[1]["mac"], result[1]["vlan"], result[1]["link_state"]) == ("52:54:00:6d:90:02", 42, "auto")
    assert (result[2]["spoofchk"], result[2]["trust"]) == (False, True)


def test_fake_host_prints_what_the_lab_prints(fake):
    """FakeHost.ip_link_json() has the layout of the recorded sample (same keys per VF)."""
    import json

    pf = fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=3)
    fake.set_vf_admin(pf, 1, mac="52:54:00:6d:90:02", vlan=42)
    fake.set_vf_admin(pf, 2, trust=True, spoofchk=False)
    recorded = json.loads(LAB_3VFS)[0]["vfinfo_list"]
    faked = json.loads(fake.ip_link_json("enp1s0"))[0]["vfinfo_list"]
    assert faked == recorded


def test_old_iproute2_mac_key():
    result = _iplink.parse_vfinfo(IXGBE_OLD)
    assert result[0]["mac"] == "00:00:00:00:00:00"
    assert result[1]["mac"] == "52:54:00:ab:cd:ef"
    assert result[1]["vlan"] == 200
    assert result[1]["max_tx_rate"] == 1000


def test_flat_vlan_and_missing_fields():
    result = _iplink.parse_vfinfo(FLAT_VLAN)
    assert (result[0]["vlan"], result[0]["qos"], result[0]["max_tx_rate"]) == (10, 2, 500)
    assert result[0]["trust"] is None  # not reported by that kernel
    assert result[1]["vlan"] == 0  # omitted = no VLAN
    assert result[1]["link_state"] is None
    assert result[1]["max_tx_rate"] is None


def test_mlx4_vlan_4095_means_none_and_qinq():
    result = _iplink.parse_vfinfo(MLX4)
    assert result[0]["vlan"] == 0
    assert result[0]["vlan_protocol"] == "802.1Q"
    assert (result[1]["vlan"], result[1]["vlan_protocol"]) == (30, "802.1ad")


@pytest.mark.parametrize("text", [NO_VFS, "", "[]", "[{}]"])
def test_no_vfinfo_gives_empty(text):
    assert _iplink.parse_vfinfo(text) == {}


@pytest.mark.parametrize("text", ["not json", '"a string"', '[{"vfinfo_list":[{"mac":"x"}]}]'])
def test_garbage_raises_value_error(text):
    with pytest.raises(ValueError):
        _iplink.parse_vfinfo(text)


def test_selects_link_by_name():
    two = "[%s, %s]" % (NO_VFS.strip()[1:-1], IGB_7VFS.strip()[1:-1])
    assert len(_iplink.parse_vfinfo(two, netdev="enp1s0")) == 7
    assert _iplink.parse_vfinfo(two, netdev="enp2s0") == {}


def test_read_vf_settings_runs_ip_once(fake):
    calls = []
    pf = fake.add_pf("0000:01:00.0", "enp1s0", card="igb", totalvfs=7, numvfs=2)
    fake.set_vf_admin(pf, 1, mac="52:54:00:6d:90:02", vlan=42)

    def run(argv, **kwargs):
        calls.append(argv)
        return fake.ip_commands()(argv)

    result = _iplink.read_vf_settings(fake.host(run_command=run), "enp1s0")
    assert calls == [["ip", "-j", "-d", "link", "show", "dev", "enp1s0"]]
    assert (result[1]["mac"], result[1]["vlan"]) == ("52:54:00:6d:90:02", 42)


def test_read_vf_settings_legacy_layout(fake):
    pf = fake.add_pf("0000:01:00.0", "enp1s0", card="ixgbe", totalvfs=63, numvfs=2)
    fake.set_vf_admin(pf, 0, vlan=7, trust=None)
    host = fake.host(run_command=lambda argv, **kw: fake.ip_commands(legacy=True)(argv))
    result = _iplink.read_vf_settings(host, "enp1s0")
    assert (result[0]["vlan"], result[0]["trust"]) == (7, None)


@pytest.mark.parametrize("answer, message", [
    ((1, "", 'Device "enp1s0" does not exist.\n'), "failed with exit code 1: Device \"enp1s0\" does not exist."),
    ((255, "", 'Option "-j" is unknown, try "ip -help".\n'), 'Option "-j" is unknown'),
    ((0, "1: enp1s0: <BROADCAST> mtu 1500", ""), "not the JSON this module understands"),
])
def test_read_vf_settings_failures(fake, answer, message):
    host = fake.host(run_command=lambda argv, **kw: answer)
    with pytest.raises(SriovError) as info:
        _iplink.read_vf_settings(host, "enp1s0")
    assert message in info.value.msg
    assert "enp1s0" in info.value.msg


def test_read_vf_settings_rejects_bad_names(fake):
    with pytest.raises(SriovError):
        _iplink.read_vf_settings(fake.host(run_command=lambda argv, **kw: (0, "[]", "")), "a/b")
