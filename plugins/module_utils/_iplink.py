# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""VF admin settings as the PF reports them (``ip -j -d link show dev PF``).

The parsing is pure and tolerant of every iproute2 that prints JSON:

- the VF MAC is ``address`` (iproute2 >= 4.19) or ``mac`` (older);
- the VLAN is a ``vlan_list`` of one object (kernel >= 4.9) or flat ``vlan``/``qos`` keys, and
  is omitted when it is 0;
- mlx4 reports VLAN 4095 for "no VLAN";
- ``spoofchk`` and ``trust`` are omitted when the driver does not report them (-1).

Normalised settings of one VF: ``mac`` (lower case), ``vlan`` (int, 0 = no VLAN), ``qos`` (int),
``vlan_protocol`` (``802.1Q`` or ``802.1ad``), ``spoofchk`` / ``trust`` (bool or None when not
reported), ``link_state`` (``auto``/``enable``/``disable`` or None), ``max_tx_rate`` /
``min_tx_rate`` (Mbit/s, 0 = unlimited, None when not reported).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import validate_netdev_name

# mlx4 (and some firmware) reports this VLAN id when the VF has no VLAN.
VLAN_NONE_SENTINEL = 4095

# The keys every VF gets, in this order; None where the PF did not report the setting.
SETTING_KEYS = ("mac", "vlan", "qos", "vlan_protocol", "spoofchk", "trust", "link_state",
                "max_tx_rate", "min_tx_rate")

_LINK_STATES = ("auto", "enable", "disable")


def empty_settings():
    """Settings of a VF whose PF reported nothing (no netdev, no ``ip`` output)."""
    return dict((key, None) for key in SETTING_KEYS)


def _int(value, default=None):
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return default
    return default


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return None if value == -1 else bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("on", "true", "1", "yes"):
            return True
        if lowered in ("off", "false", "0", "no"):
            return False
    return None


def _vlan_fields(entry):
    """(vlan, qos, protocol) of one vfinfo entry, whichever layout iproute2 used."""
    vlan_list = entry.get("vlan_list")
    if isinstance(vlan_list, list):
        # One object per VLAN the kernel reports (it reports one); empty object = no VLAN.
        first = next((item for item in vlan_list if isinstance(item, dict)), {})
        source = first
    else:
        source = entry
    vlan = _int(source.get("vlan"), 0)
    qos = _int(source.get("qos"), 0)
    protocol = source.get("protocol") or "802.1Q"
    if vlan == VLAN_NONE_SENTINEL or vlan < 0:
        vlan = 0
    if vlan == 0:
        protocol = "802.1Q"
    return vlan, qos, protocol


def parse_vf_entry(entry):
    """Normalise one element of ``vfinfo_list``; return (index, settings)."""
    index = _int(entry.get("vf"))
    if index is None:
        raise ValueError("vfinfo entry without a VF number: %r" % (entry,))
    settings = empty_settings()
    mac = entry.get("address", entry.get("mac"))
    settings["mac"] = mac.lower() if isinstance(mac, str) else None
    settings["vlan"], settings["qos"], settings["vlan_protocol"] = _vlan_fields(entry)
    settings["spoofchk"] = _bool(entry["spoofchk"]) if "spoofchk" in entry else None
    settings["trust"] = _bool(entry["trust"]) if "trust" in entry else None
    link_state = entry.get("link_state")
    settings["link_state"] = link_state if link_state in _LINK_STATES else None
    rate = entry.get("rate")
    if isinstance(rate, dict):
        settings["max_tx_rate"] = _int(rate.get("max_tx"), 0)
        settings["min_tx_rate"] = _int(rate.get("min_tx"), 0)
    elif "tx_rate" in entry:  # kernels without IFLA_VF_RATE: the old single rate is the maximum
        settings["max_tx_rate"] = _int(entry.get("tx_rate"), 0)
        settings["min_tx_rate"] = 0
    return index, settings


# Per-VF counters of ``ip -s -j -d link show dev PF`` (iproute2 print_vf_stats64): each
# vfinfo entry gets {"stats": {"rx": {bytes, packets, multicast, broadcast, dropped},
# "tx": {tx_bytes, tx_packets, dropped}}} - measured with iproute2 6.1, whose tx object prefixes
# its keys; plain "bytes"/"packets" are accepted as well. "dropped" only where the kernel
# reports it (>= 4.20).
STATS_KEYS = ("rx_packets", "rx_bytes", "rx_dropped", "tx_packets", "tx_bytes", "tx_dropped")


def parse_vf_stats(entry):
    """The counters of one vfinfo entry: {rx_packets, rx_bytes, rx_dropped, tx_packets,
    tx_bytes, tx_dropped}, None for a counter not reported; None when there are no stats."""
    stats = entry.get("stats")
    if not isinstance(stats, dict):
        return None
    result = {}
    for direction in ("rx", "tx"):
        counters = stats.get(direction)
        counters = counters if isinstance(counters, dict) else {}
        for name in ("packets", "bytes", "dropped"):
            key = "%s_%s" % (direction, name)
            result[key] = _int(counters.get(name, counters.get(key)))
    return result


def _link_objects(data):
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    raise ValueError("expected a JSON list of links, got %s" % type(data).__name__)


def parse_vfinfo(json_text, netdev=None, stats=False):
    """Map VF index -> normalised settings from the JSON of ``ip -j [-s] [-d] link show dev PF``.

    ``netdev`` selects the link when the text holds several; by default the first link that
    has a ``vfinfo_list``. A PF without VFs (or whose driver reports none) gives ``{}``.
    ``stats``: each VF's settings also get ``stats`` (parse_vf_stats).
    Raise ValueError when the text is not the JSON ``ip`` prints.
    """
    data = json.loads(json_text) if json_text and json_text.strip() else []
    links = _link_objects(data)
    if netdev is not None:
        links = [link for link in links if link.get("ifname") == netdev] or links
    result = {}
    for link in links:
        entries = link.get("vfinfo_list")
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            index, settings = parse_vf_entry(entry)
            if stats:
                settings["stats"] = parse_vf_stats(entry)
            result[index] = settings
        break
    return result


def read_vf_settings(host, pf_netdev, stats=False):
    """Run ``ip -j -d link show dev PF`` once and return {VF index: settings}.

    ``stats``: the same single call with ``-s``, and each VF's settings carry ``stats``.

    Raise SriovError with a readable reason when ``ip`` fails or prints something unparsable
    (for example an iproute2 too old for ``-j``).
    """
    validate_netdev_name(pf_netdev)
    argv = ["ip", "-j"] + (["-s"] if stats else []) + ["-d", "link", "show", "dev", pf_netdev]
    rc, out, err = host.run(argv, check=False)
    if rc != 0:
        raise SriovError(
            "Could not read the VF settings of %s: '%s' failed with exit code %d: %s"
            % (pf_netdev, " ".join(argv), rc, (err or out or "").strip()),
        )
    try:
        return parse_vfinfo(out, netdev=pf_netdev, stats=stats)
    except ValueError as exc:
        raise SriovError(
            "Could not read the VF settings of %s: the output of '%s' is not the JSON this "
            "module understands (iproute2 too old for -j?): %s" % (pf_netdev, " ".join(argv), exc),
        )
