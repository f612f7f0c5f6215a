# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Per-VF admin settings of PFs: validation, plan, guard, apply with rollback, persistence.

The settings live on the PF (``ip link set dev PF vf N ...``) and are reported by it
(``_iplink.read_vf_settings``). One module call handles one or several PFs:

1. ``normalize_settings``/``expand_vfs``: typed, validated desired values per VF.
2. ``plan_pf``: current values once per PF (one ``ip -j -d link``), the changes per VF and
   setting, the settings rule wanted.
3. ``check_guard``: MAC and VLAN belong to libvirt while a guest or an active hostdev network
   holds the VF; changing them then is refused (and refused when the scan cannot complete).
4. ``apply_changes``: one ``ip`` call per VF and setting; on the first failure everything this
   call applied is set back to its old value, in reverse order; the values are read back.
5. The rule file ``/etc/udev/rules.d/83-virt-sriov-vf-settings-<PF>.rules`` re-applies the
   settings when the PF's interface appears (boot, driver reload, PF reset). It sorts after the
   VF count rule of ``_udev`` (``82-virt-sriov-numvfs-<PF>.rules``), whose ``ATTR`` assignment
   creates the VFs while udev processes the rules; ``RUN`` programs run after every rule of the
   event, so the VFs exist when ``ip`` runs. One line per VF and setting, so that a setting the
   driver refuses at boot does not take the others down with it::

    ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", \
RUN+="/usr/sbin/ip link set dev $name vf 0 trust on"
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import BIN_DIRS, find_binary
from ansible_collections.virt.sriov.plugins.module_utils._iplink import read_vf_settings
from ansible_collections.virt.sriov.plugins.module_utils._mac import normalize_mac
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import read_pf, resolve_pf, vf_addresses
from ansible_collections.virt.sriov.plugins.module_utils._vf_count_owners import (
    NM_DIRS,
    SYSTEMD_NETWORK_DIRS,
    config_files,
    ini_sections,
    read_config_text,
)
from ansible_collections.virt.sriov.plugins.module_utils._vf_drivers import (
    DriverApplier,
    check_changes as check_driver_changes,
    is_driver_line,
    normalize_driver,
    plan_changes as plan_driver_changes,
    read_state as read_driver_state,
    rule_lines as driver_rule_lines,
    validate_driver_line,
)
from ansible_collections.virt.sriov.plugins.module_utils._udev import (
    DEFAULT_DIR,
    default_rule_path,
    parse_rule_line,
    reload_rules,
    udevadm_verify,
)

# The settings a VF entry may hold, and the ip keyword of each.
SETTING_NAMES = ("mac", "vlan", "qos", "vlan_proto", "spoofchk", "trust", "max_tx_rate",
                 "min_tx_rate", "link_state", "driver")
# What one ``ip link set ... vf N`` call changes, in the order they are applied (vlan covers
# vlan, qos and vlan_proto: ip sets them together).
APPLY_ORDER = ("spoofchk", "trust", "link_state", "max_tx_rate", "min_tx_rate", "vlan", "mac")
VLAN_PROTOS = ("802.1Q", "802.1ad")
LINK_STATES = ("auto", "enable", "disable")
ZERO_MAC = "00:00:00:00:00:00"

FILE_PREFIX = "83-virt-sriov-vf-settings-"
MARKER = "# Managed by Ansible (virt.sriov.sriov_vf_settings). Changes to this file are overwritten."

OS_NET_CONFIG_FILES = ("/etc/os-net-config/config.yaml", "/etc/os-net-config/config.json")

_RANGE_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
_MAC_TOKEN = r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}"
_SETTING_ARGS_RE = re.compile(
    r"^(?:mac %s|vlan \d{1,4} qos [0-7] proto 802\.1(?:Q|ad)|spoofchk (?:on|off)|"
    r"trust (?:on|off)|max_tx_rate \d{1,7}|min_tx_rate \d{1,7}|state (?:auto|enable|disable))$" % _MAC_TOKEN)
_RUN_RE = re.compile(r"^((?:/[A-Za-z0-9_.-]+)+/ip) link set dev \$name vf (\d{1,4}) (.+)$")

# errno names iproute2 prints as strerror text, for the failure message.
_ERRNO_TEXTS = (
    ("EOPNOTSUPP", "Operation not supported"),
    ("EPROTONOSUPPORT", "Protocol not supported"),
    ("EINVAL", "Invalid argument"),
    ("EPERM", "Operation not permitted"),
    ("EAGAIN", "Resource temporarily unavailable"),
    ("ERANGE", "Numerical result out of range"),
)


# ------------------------------------------------------------------------------------ validation
def _int_in(value, name, low, high, where):
    if isinstance(value, bool) or value is None:
        raise SriovError("Invalid %s %r for %s: expected an integer from %d to %d." % (name, value, where, low, high))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SriovError("Invalid %s %r for %s: expected an integer from %d to %d." % (name, value, where, low, high))
    if number < low or number > high or (isinstance(value, float) and value != number):
        raise SriovError("Invalid %s %r for %s: expected an integer from %d to %d." % (name, value, where, low, high))
    return number


def _bool(value, name, where):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise SriovError("Invalid %s %r for %s: expected true or false." % (name, value, where))


def normalize_mac_setting(value, where):
    """A unicast MAC in lower case, or 00:00:00:00:00:00 (no administrative MAC)."""
    if isinstance(value, str) and value.strip().lower() in (ZERO_MAC, "00-00-00-00-00-00", "000000000000"):
        return ZERO_MAC
    try:
        return normalize_mac(value)
    except SriovError as exc:
        raise SriovError("%s (for %s; 00:00:00:00:00:00 clears the administrative MAC)" % (exc.msg.rstrip("."), where))


def normalize_settings(raw, where):
    """Typed settings from one ``vf_defaults`` or ``vfs`` entry (keys with None are ignored).

    ``vlan`` becomes the triple vlan/qos/vlan_proto (qos 0 and 802.1Q unless given), because
    ``ip`` sets them together.
    """
    raw = dict((k, v) for k, v in (raw or {}).items() if v is not None and k != "vf")
    unknown = sorted(set(raw) - set(SETTING_NAMES))
    if unknown:
        raise SriovError("Unknown VF setting %s for %s: valid settings are %s."
                         % (", ".join(unknown), where, ", ".join(SETTING_NAMES)))
    result = {}
    if "mac" in raw:
        result["mac"] = normalize_mac_setting(raw["mac"], where)
    if "vlan" in raw:
        result["vlan"] = _int_in(raw["vlan"], "vlan", 0, 4095, where)
        result["qos"] = _int_in(raw.get("qos", 0), "qos", 0, 7, where)
        proto = raw.get("vlan_proto", "802.1Q")
        if proto not in VLAN_PROTOS:
            raise SriovError("Invalid vlan_proto %r for %s: expected one of %s."
                             % (proto, where, ", ".join(VLAN_PROTOS)))
        result["vlan_proto"] = proto
        if result["vlan"] == 0 and (result["qos"] or proto != "802.1Q"):
            raise SriovError("Invalid VLAN settings for %s: qos and vlan_proto need a vlan from 1 to "
                             "4095 (vlan 0 removes the VLAN)." % where)
    elif "qos" in raw or "vlan_proto" in raw:
        raise SriovError("Invalid VLAN settings for %s: qos and vlan_proto are only valid together "
                         "with vlan." % where)
    for name in ("spoofchk", "trust"):
        if name in raw:
            result[name] = _bool(raw[name], name, where)
    for name in ("max_tx_rate", "min_tx_rate"):
        if name in raw:
            result[name] = _int_in(raw[name], name, 0, 1000000, where)
    if result.get("max_tx_rate") and result.get("min_tx_rate", 0) > result["max_tx_rate"]:
        raise SriovError("Invalid rates for %s: min_tx_rate %d is above max_tx_rate %d."
                         % (where, result["min_tx_rate"], result["max_tx_rate"]))
    if "link_state" in raw:
        if raw["link_state"] not in LINK_STATES:
            raise SriovError("Invalid link_state %r for %s: expected one of %s."
                             % (raw["link_state"], where, ", ".join(LINK_STATES)))
        result["link_state"] = raw["link_state"]
    if "driver" in raw:
        result["driver"] = normalize_driver(raw["driver"], where)
    return result


def parse_vf_selector(value):
    """VF indexes of ``vf``: an integer, ``"3"`` or a range ``"0-3"``. Returns a list."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, int):
        if value < 0:
            value = None
        else:
            return [value]
    found = _RANGE_RE.match(value) if isinstance(value, str) else None
    if not found:
        raise SriovError("Invalid vf %r: expected a VF index such as 0 or a range such as '0-3'." % (value,))
    first = int(found.group(1))
    last = int(found.group(2)) if found.group(2) is not None else first
    if last < first:
        raise SriovError("Invalid vf %r: the range must go upwards, such as '0-3'." % (value,))
    return list(range(first, last + 1))


def _group_of(name):
    return "vlan" if name in ("vlan", "qos", "vlan_proto") else name


def desired_per_vf(label, numvfs, vf_defaults=None, vfs=None, missing=None):
    """{VF index: settings} from ``vf_defaults`` (every VF) and the ``vfs`` entries.

    An entry overrides the defaults; two entries that set the same setting of a VF to
    different values are refused. A VF index beyond the PF's VFs is refused, unless ``missing``
    is a list (check mode: the VFs may be created by an earlier task); the index is then added
    to it.
    """
    defaults = normalize_settings(vf_defaults, "vf_defaults of PF %s" % label)
    if "mac" in defaults and numvfs > 1:
        raise SriovError("Invalid vf_defaults of PF %s: a MAC address cannot be shared by its %d "
                         "VFs; set mac per VF in vfs." % (label, numvfs))
    result = dict((index, dict(defaults)) for index in range(numvfs))
    origin = {}
    for number, entry in enumerate(vfs or []):
        if not isinstance(entry, dict) or entry.get("vf") is None:
            raise SriovError("Invalid vfs entry %d of PF %s: expected a dict with vf (an index "
                             "or a range such as '0-3') and settings." % (number + 1, label))
        indexes = parse_vf_selector(entry["vf"])
        where = "VF %s of PF %s" % (entry["vf"], label)
        settings = normalize_settings(entry, where)
        if "mac" in settings and len(indexes) > 1 and settings["mac"] != ZERO_MAC:
            raise SriovError("Invalid vfs entry of PF %s: vf %r names %d VFs, but one MAC address "
                             "cannot be shared; set mac per VF." % (label, entry["vf"], len(indexes)))
        for index in indexes:
            if index >= numvfs and missing is not None:
                if index not in missing:
                    missing.append(index)
                result.setdefault(index, {})
            elif index >= numvfs:
                raise SriovError(
                    "VF %d of PF %s does not exist: the PF has %d VFs%s. Create the VFs first "
                    "(virt.sriov.sriov_vfs)." % (index, label, numvfs,
                                                 " (0-%d)" % (numvfs - 1) if numvfs else ""))
            for name, value in settings.items():
                key = (index, name)
                if key in origin and origin[key][1] != value:
                    raise SriovError("Conflicting %s for VF %d of PF %s: vfs entries %d and %d set "
                                     "%r and %r." % (name, index, label, origin[key][0] + 1, number + 1,
                                                     origin[key][1], value))
                origin[key] = (number, value)
                result[index][name] = value
    macs = {}
    for index, settings in sorted(result.items()):
        mac = settings.get("mac")
        if mac and mac != ZERO_MAC:
            if mac in macs:
                raise SriovError("MAC address %s is set on VF %d and VF %d of PF %s: each VF needs its "
                                 "own." % (mac, macs[mac], index, label))
            macs[mac] = index
    return dict((index, settings) for index, settings in result.items() if settings)


# ------------------------------------------------------------------------------------------ plan
def current_values(reported):
    """Settings as ``_iplink`` reports them, keyed like the module's options."""
    reported = reported or {}
    return {
        "mac": reported.get("mac"),
        "vlan": reported.get("vlan"),
        "qos": reported.get("qos"),
        "vlan_proto": reported.get("vlan_protocol"),
        "spoofchk": reported.get("spoofchk"),
        "trust": reported.get("trust"),
        "max_tx_rate": reported.get("max_tx_rate"),
        "min_tx_rate": reported.get("min_tx_rate"),
        "link_state": reported.get("link_state"),
    }


def _members(group):
    return ("vlan", "qos", "vlan_proto") if group == "vlan" else (group,)


def plan_changes(desired, current):
    """List of changes {vf, setting, before{}, after{}} in apply order, per VF."""
    changes = []
    for index in sorted(desired):
        wanted = desired[index]
        have = current_values(current.get(index))
        for group in APPLY_ORDER:
            members = [m for m in _members(group) if m in wanted]
            if not members:
                continue
            before = dict((m, have.get(m)) for m in _members(group))
            after = dict((m, wanted.get(m, have.get(m))) for m in _members(group))
            if before != after:
                changes.append({"vf": index, "setting": group, "before": before, "after": after})
    return changes


def setting_args(group, values):
    """The ``ip link set ... vf N`` arguments of one setting, from typed values."""
    if group == "mac":
        return ["mac", normalize_mac_setting(values["mac"], "the rule")]
    if group == "vlan":
        vlan = _int_in(values.get("vlan") or 0, "vlan", 0, 4095, "the command")
        qos = _int_in(values.get("qos") or 0, "qos", 0, 7, "the command")
        proto = values.get("vlan_proto") or "802.1Q"
        if proto not in VLAN_PROTOS:
            raise SriovError("Invalid vlan_proto %r." % (proto,))
        return ["vlan", str(vlan), "qos", str(qos), "proto", proto]
    if group in ("spoofchk", "trust"):
        return [group, "on" if values[group] else "off"]
    if group in ("max_tx_rate", "min_tx_rate"):
        return [group, str(_int_in(values[group], group, 0, 1000000, "the command"))]
    if group == "link_state":
        if values["link_state"] not in LINK_STATES:
            raise SriovError("Invalid link_state %r." % (values["link_state"],))
        return ["state", values["link_state"]]
    raise SriovError("Unknown VF setting %r." % (group,))


def rule_path(address):
    """/etc/udev/rules.d/83-virt-sriov-vf-settings-0000:01:00.0.rules"""
    return "%s/%s%s.rules" % (DEFAULT_DIR, FILE_PREFIX, parse_pci_address(address))


def render_rule(address, desired, ip_path, vf_addresses_=None):
    """The rule file text for the desired settings of a PF (None when there are none).

    ``vf_addresses_`` (VF index -> PCI address) is needed for the driver lines, which match the
    VF's own PCI events; a VF without a known address (check mode: not created yet) gets none.
    """
    address = parse_pci_address(address)
    vf_addresses_ = vf_addresses_ or {}
    count = 0
    lines = [
        MARKER,
        "# Re-applies the VF settings of PF %s each time its interface appears (boot, driver "
        "reload, PF reset)." % address,
        "# Sorts after %s, whose VF count assignment creates the VFs first; RUN programs run "
        "after every rule of the event." % os.path.basename(default_rule_path(address)),
    ]
    for index in sorted(desired):
        wanted = desired[index]
        for group in APPLY_ORDER:
            members = [m for m in _members(group) if m in wanted]
            if not members:
                continue
            values = dict(wanted)
            if group == "vlan":
                values.setdefault("qos", 0)
                values.setdefault("vlan_proto", "802.1Q")
            argv = [ip_path, "link", "set", "dev", "$name", "vf", str(int(index))] + setting_args(group, values)
            lines.append('ACTION=="add", SUBSYSTEM=="net", KERNELS=="%s", ATTR{device/sriov_numvfs}=="?*", '
                         'RUN+="%s"' % (address, " ".join(argv)))
            count += 1
    drivers = [(index, desired[index]["driver"]) for index in sorted(desired)
               if desired[index].get("driver") and vf_addresses_.get(index) is not None]
    driver_lines = []
    for index, wanted in drivers:
        vf_lines = driver_rule_lines(vf_addresses_[index], wanted)
        if vf_lines:
            driver_lines.append("# VF %d (%s): driver %s, on the VF's own PCI events."
                                % (index, vf_addresses_[index], wanted))
            driver_lines.extend(vf_lines)
            count += len(vf_lines)
    if count == 0:
        return None
    if driver_lines:
        lines.append("# The kernel binds a new VF before udev sees it; these lines move it where "
                     "driver_override says, and leave it alone once someone else clears that.")
        lines.extend(driver_lines)
    text = "\n".join(lines) + "\n"
    validate_rule_text(text, address)
    return text


def validate_rule_text(text, address=None):
    """Check that ``text`` is exactly the kind of settings rule this module writes."""
    count = 0
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        count += 1
        if is_driver_line(line):
            validate_driver_line(line)
            continue
        items = parse_rule_line(line)
        expected_keys = [("ACTION", "=="), ("SUBSYSTEM", "=="), ("KERNELS", "=="),
                         ("ATTR{device/sriov_numvfs}", "=="), ("RUN", "+=")]
        if [(k, o) for k, o, _v in items] != expected_keys:
            raise SriovError("Invalid VF settings rule: expected ACTION, SUBSYSTEM, KERNELS, the "
                             "sriov_numvfs guard and one RUN item, in this order: %r." % line)
        values = [v for _k, _o, v in items]
        if values[0] != "add" or values[1] != "net" or values[3] != "?*":
            raise SriovError('Invalid VF settings rule: the line must match ACTION=="add", '
                             'SUBSYSTEM=="net" and ATTR{device/sriov_numvfs}=="?*": %r.' % line)
        kernels = str(parse_pci_address(values[2]))
        if kernels != values[2] or (address is not None and kernels != str(parse_pci_address(address))):
            raise SriovError("Invalid VF settings rule: KERNELS must be the PF's PCI address: %r." % line)
        run = _RUN_RE.match(values[4])
        if not run or not _SETTING_ARGS_RE.match(run.group(3)):
            raise SriovError("Invalid VF settings rule: the only program it may run is '<absolute "
                             "path>/ip link set dev $name vf N <one setting>', not %r." % values[4])
    if count == 0:
        raise SriovError("Invalid VF settings rule: no rule line.")
    return count


# ----------------------------------------------------------------------- pool network rule files
# libvirt_vf_pool_network persists the settings of a pool's VFs in one file per network; a VF
# and setting must have one owner only (two rules would fight at every boot).
POOL_FILE_PREFIX = "84-virt-sriov-pool-"
_IP_KEYWORD_GROUPS = {"state": "link_state", "vlan": "vlan", "mac": "mac", "spoofchk": "spoofchk",
                      "trust": "trust", "max_tx_rate": "max_tx_rate", "min_tx_rate": "min_tx_rate"}


def rule_setting_pairs(text, address):
    """Sorted (VF index, setting) pairs that a settings rule text sets on the VFs of PF ``address``.

    Lines that are not settings lines of that PF (comments, driver lines, other PFs, lines that
    do not parse) are skipped: this lists what a file claims, it does not validate it.
    """
    wanted = str(parse_pci_address(address))
    pairs = set()
    for line in (text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or is_driver_line(line):
            continue
        try:
            items = dict((key, value) for key, _op, value in parse_rule_line(line))
        except SriovError:
            continue
        run = _RUN_RE.match(items.get("RUN", ""))
        if items.get("KERNELS") != wanted or not run:
            continue
        group = _IP_KEYWORD_GROUPS.get(run.group(3).split()[0])
        if group is not None:
            pairs.add((int(run.group(2)), group))
    return sorted(pairs)


def pool_rule_settings(host, address, exclude=None):
    """[(path, VF index, setting)] that the pool network rule files (84-virt-sriov-pool-*) set on
    the VFs of PF ``address``; ``exclude``: a path to leave out (the caller's own file)."""
    found = []
    for name in host.listdir(DEFAULT_DIR):
        path = "%s/%s" % (DEFAULT_DIR, name)
        if not name.startswith(POOL_FILE_PREFIX) or not name.endswith(".rules") or path == exclude:
            continue
        for index, group in rule_setting_pairs(host.read_text(path), address):
            found.append((path, index, group))
    return found


def check_pool_rule_overlap(host, plans):
    """Refuse settings of this call on VFs whose same setting a pool network's rule file owns."""
    clashes = []
    for plan in plans:
        wanted = set((index, _group_of(name)) for index, settings in plan["desired"].items()
                     for name in settings if name != "driver")
        for path, index, group in pool_rule_settings(host, plan["address"]):
            if (index, group) in wanted:
                clashes.append("%s of VF %d of PF %s (set by %s)" % (group, index, plan["label"], path))
    if clashes:
        raise SriovError(
            "Refusing to set VF settings that a libvirt_vf_pool_network rule file already sets: %s. "
            "Two owners of one setting would undo each other at every boot: set it in the pool "
            "network's vf_settings, or remove it there first." % "; ".join(clashes),
            overlaps=clashes)


# --------------------------------------------------------------------------------- other owners
def find_other_owners(host, facts):
    """Other configuration that also sets VF settings of this PF, as human sentences."""
    found = []
    netdev = facts.get("netdev") or ""
    mac = (facts.get("mac") or "").lower()
    for path, text in config_files(host, NM_DIRS, ".nmconnection"):
        sections = ini_sections(text)
        sriov = sections.get("sriov", {})
        if not any(key == "vfs" or key.startswith("vf.") for key in sriov):
            continue
        names = sections.get("connection", {}).get("interface-name") or []
        macs = [m.lower() for m in sections.get("ethernet", {}).get("mac-address") or []]
        if (names and netdev not in names) or (macs and mac not in macs):
            continue
        found.append("NetworkManager connection %s sets sriov.vfs (VF settings) for this PF" % path)
    for path, text in config_files(host, SYSTEMD_NETWORK_DIRS, ".network"):
        if not re.search(r"^\s*\[SR-IOV\]\s*$", text, re.MULTILINE):
            continue
        match = ini_sections(text).get("match", {})
        patterns = " ".join(match.get("Name", [])).split()
        if patterns and not any(fnmatch.fnmatchcase(netdev, p) for p in patterns):
            continue
        found.append("systemd-networkd file %s has an [SR-IOV] section for this PF" % path)
    for path in OS_NET_CONFIG_FILES:
        text = read_config_text(host, path)
        if text and "sriov_vf" in text and (not netdev or netdev in text):
            found.append("os-net-config %s has sriov_vf entries for this PF" % path)
    return found


# ----------------------------------------------------------------------------------------- guard
def load_usage(host, uri):
    """VfUsage from libvirt; SriovError with the reason when the scan cannot complete."""
    from ansible_collections.virt.sriov.plugins.module_utils._libvirt import HAS_LIBVIRT, open_connection
    from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

    if not HAS_LIBVIRT:
        raise SriovError("the libvirt Python bindings (python3-libvirt) are not installed on the host")
    try:
        with open_connection(uri, read_only=True) as conn:
            return collect_vf_usage(conn, host)
    except SriovError as exc:
        raise SriovError(exc.msg.rstrip("."))
    except Exception as exc:  # pylint: disable=broad-except
        raise SriovError("listing libvirt domains and networks failed: %s" % exc)


def _guarded(plans):
    """(plan, change) pairs that libvirt's users of a VF must not see: MAC, VLAN, driver."""
    return [(plan, change) for plan in plans
            for change in plan["changes"] + plan.get("driver_changes", [])
            if change["setting"] in ("mac", "vlan", "driver")]


def check_guard(plans, usage_loader):
    """Refuse MAC/VLAN and driver changes on VFs that a guest or an active hostdev network holds.

    ``usage_loader()`` returns a VfUsage or raises SriovError (then every such change is refused
    with that reason: a guard that cannot see does not let the change through).
    """
    owned = _guarded(plans)
    if not owned:
        return
    try:
        usage = usage_loader()
    except SriovError as exc:
        vfs = ", ".join("%s VF %d %s" % (plan["label"], change["vf"], change["setting"]) for plan, change in owned)
        if any(change["setting"] == "driver" for _plan, change in owned):
            raise SriovError(
                "Refusing to change MAC, VLAN or driver (%s): libvirt sets MAC and VLAN on VFs its "
                "guests use and moves them between drivers, and whether a guest or hostdev network "
                "uses these VFs could not be checked: %s. Make libvirt reachable (uri) or leave mac, "
                "vlan and driver out." % (vfs, exc.msg.rstrip(".")),
            )
        raise SriovError(
            "Refusing to change MAC or VLAN (%s): libvirt sets them on VFs its guests use, and "
            "whether a guest or hostdev network uses these VFs could not be checked: %s. Make "
            "libvirt reachable (uri) or leave mac and vlan out." % (vfs, exc.msg.rstrip(".")),
        )
    busy = []
    for plan, change in owned:
        address = plan["vf_addresses"].get(change["vf"])
        holders = usage.holders(address) if address is not None else []
        if holders:
            busy.append({"pf": plan["label"], "vf": change["vf"], "pci_address": str(address),
                         "setting": change["setting"], "users": holders})
    if not busy:
        return
    named = " | ".join("PF %s VF %d (%s) %s: %s" % (b["pf"], b["vf"], b["pci_address"], b["setting"], "; ".join(b["users"]))
                       for b in busy)
    if all(b["setting"] == "driver" for b in busy):
        raise SriovError(
            "Refusing to change the driver of VFs in use: %s. A guest that uses the VF, or starts "
            "with it, needs it where libvirt puts it. Detach the VF from the guest (or remove it "
            "from the hostdev network) first." % named,
            vfs_in_use=busy,
        )
    raise SriovError(
        "Refusing to change %s of VFs in use: libvirt sets them while a guest holds the "
        "VF and restores them when it releases it: %s. Set the MAC and VLAN in the guest's "
        "interface definition (virt.sriov.libvirt_hostdev_interface), or release the VF first; "
        "trust, spoofchk, rates and link_state can be changed while in use."
        % ("MAC, VLAN or driver" if any(b["setting"] == "driver" for b in busy) else "MAC or VLAN", named),
        vfs_in_use=busy,
    )


# ----------------------------------------------------------------------------------------- apply
def _ip_argv(ip_path, netdev, index, group, values):
    return [ip_path, "link", "set", "dev", netdev, "vf", str(int(index))] + setting_args(group, values)


def _errno_name(text):
    for name, message in _ERRNO_TEXTS:
        if message in (text or ""):
            return name
    return None


def apply_changes(host, plans, ip_path):
    """Apply every change, one ``ip`` call each; on failure undo what was applied, then raise."""
    journal = []
    for plan in plans:
        for change in plan["changes"]:
            argv = _ip_argv(ip_path, plan["netdev"], change["vf"], change["setting"], change["after"])
            rc, out, err = host.run(argv, check=False)
            if rc != 0:
                reason = (err or out or "").strip()
                undone, not_undone = rollback(host, journal, ip_path)
                code = _errno_name(reason)
                raise SriovError(
                    "The %s driver of PF %s refused %s %s on VF %d ('%s': %s%s). %s"
                    % (plan["driver"] or "unknown", plan["label"], change["setting"],
                       _describe(change["setting"], change["after"]), change["vf"], " ".join(argv), reason,
                       " [%s]" % code if code else "", _rollback_sentence(undone, not_undone)),
                    driver=plan["driver"], vf=change["vf"], setting=change["setting"], errno=code,
                    stderr=reason, rolled_back=undone, not_rolled_back=not_undone,
                )
            journal.append((plan, change))
    return journal


def _describe(group, values):
    if group == "vlan":
        return "vlan %s qos %s proto %s" % (values.get("vlan"), values.get("qos"), values.get("vlan_proto"))
    return "= %s" % (values.get(group),)


def rollback(host, journal, ip_path):
    """Set back, newest first, what the journal applied. Returns (undone, not undone) labels."""
    undone, not_undone = [], []
    for plan, change in reversed(journal):
        label = "%s VF %d %s" % (plan["label"], change["vf"], change["setting"])
        before = change["before"]
        if any(before.get(m) is None for m in _members(change["setting"])):
            not_undone.append(label + " (old value unknown)")
            continue
        try:
            argv = _ip_argv(ip_path, plan["netdev"], change["vf"], change["setting"], before)
            rc, _out, _err = host.run(argv, check=False)
        except SriovError:
            rc = 1
        (undone if rc == 0 else not_undone).append(label)
    return undone, not_undone


def _rollback_sentence(undone, not_undone):
    if not undone and not not_undone:
        return "Nothing had been changed by this run."
    text = "Set back what this run had changed: %s." % (", ".join(undone) or "nothing")
    if not_undone:
        text += " Could NOT set back: %s." % ", ".join(not_undone)
    return text


def verify_applied(host, plans, ip_path, journal, reader=read_vf_settings):
    """Read each changed PF once and check every desired value; roll back and fail otherwise."""
    for plan in plans:
        if not plan["changes"]:
            continue
        now = reader(host, plan["netdev"])
        plan["after_read"] = now
        for index, wanted in plan["desired"].items():
            have = current_values(now.get(index))
            wrong = sorted(name for name, value in wanted.items() if have.get(name) is not None and have[name] != value)
            if wrong:
                undone, not_undone = rollback(host, journal, ip_path)
                raise SriovError(
                    "The %s driver of PF %s accepted but did not keep %s of VF %d (reads back %s). %s"
                    % (plan["driver"] or "unknown", plan["label"], ", ".join(wrong), index,
                       ", ".join("%s=%s" % (n, have[n]) for n in wrong),
                       _rollback_sentence(undone, not_undone)),
                    driver=plan["driver"], vf=index, settings=wrong, rolled_back=undone,
                    not_rolled_back=not_undone,
                )


# ------------------------------------------------------------------------------------ orchestration
def _label(facts):
    return "%s (%s)" % (facts["netdev"], facts["pci_address"]) if facts.get("netdev") else facts["pci_address"]


def plan_pf(host, entry, persist, ip_path, reader=read_vf_settings, check_mode=False):
    """Everything about one PF entry before anything changes."""
    address = resolve_pf(host, pf=entry.get("pf"), pci_address=entry.get("pci_address"))
    facts = read_pf(host, address)
    label = _label(facts)
    _require_netdev(facts, label)
    numvfs = facts.get("numvfs") or 0
    missing = [] if check_mode else None
    desired = desired_per_vf(label, numvfs, entry.get("vf_defaults"), entry.get("vfs"), missing=missing)
    plan = _plan_desired(host, address, facts, entry, persist, ip_path, desired, reader=reader,
                         addresses=vf_addresses(host, address))
    if missing:
        plan["warnings"].insert(0, "Check mode: PF %s has %d VFs now; VF %s does not exist yet (an earlier "
                                "task would create it) and its settings are predicted as changes%s."
                                % (label, numvfs, ", ".join(str(i) for i in sorted(missing)),
                                   "; vf_defaults cover only the VFs that exist now" if entry.get("vf_defaults") else ""))
    elif check_mode and entry.get("vf_defaults") and numvfs == 0:
        plan["warnings"].insert(0, "Check mode: PF %s has no VFs now, so vf_defaults predict nothing; an "
                                "earlier task may create VFs that a real run would set." % label)
    return plan


def plan_pf_for_count(host, address, entry, persist, ip_path, numvfs, created=False, addresses=None,
                      reader=read_vf_settings, count_persisted=False):
    """One PF's settings planned against the VF count a run of sriov_vfs is about to set.

    ``numvfs``: the count after the run (VF indexes from ``numvfs`` up are refused).
    ``created``: the run creates the VFs (anew), so every VF starts with the driver's defaults;
    each desired setting is then planned as a change (its old value unknown), and so is a
    driver. ``addresses``: VF index -> PCI address after the run (predicted when ``created``).
    ``count_persisted``: the same run writes the PF's count rule (no warning about a missing one).
    """
    facts = read_pf(host, address)
    label = _label(facts)
    _require_netdev(facts, label)
    desired = desired_per_vf(label, numvfs, entry.get("vf_defaults"), entry.get("vfs"))
    if addresses is None:
        addresses = vf_addresses(host, address)
    return _plan_desired(host, address, facts, entry, persist, ip_path, desired, reader=reader,
                         addresses=addresses, created=created, count_persisted=count_persisted)


def _require_netdev(facts, label):
    if not facts.get("netdev"):
        raise SriovError("PF %s has no network interface (no host driver bound): its VF settings "
                         "are set through it." % label)


def _plan_desired(host, address, facts, entry, persist, ip_path, desired, reader=read_vf_settings,
                  addresses=None, created=False, count_persisted=False):
    """Changes, driver changes, rule and warnings of one PF for ``desired`` settings."""
    if entry.get("persist") is not None:
        persist = entry["persist"]
    label = _label(facts)
    numvfs = facts.get("numvfs") or 0
    addresses = addresses or {}
    wants_settings = any(name != "driver" for settings in desired.values() for name in settings)
    current = reader(host, facts["netdev"]) if wants_settings and not created else {}
    changes = plan_changes(desired, current)
    driver_states = {} if created else dict(
        (index, read_driver_state(host, addresses[index]))
        for index, settings in desired.items() if "driver" in settings and index in addresses)
    driver_changes = plan_driver_changes(desired, driver_states)
    path = rule_path(address)
    rule_before = host.read_text(path)
    rule_after = render_rule(address, desired, ip_path, addresses) if persist else None
    warnings = []
    for index, wanted in sorted(desired.items()):
        have = current_values(current.get(index))
        unknown = sorted(n for n in wanted if n != "driver" and have.get(n) is None)
        if unknown and index in current:
            warnings.append("PF %s does not report %s of VF %d: the module cannot tell whether it "
                            "is set and applies it on every run." % (label, ", ".join(unknown), index))
    if rule_after is not None and not count_persisted and not host.exists(default_rule_path(address)):
        warnings.append("The VF count of PF %s is not persisted by virt.sriov (no %s): after a "
                        "reboot the settings rule finds no VFs unless something else creates them "
                        "before it runs." % (label, default_rule_path(address)))
    return {
        "address": address,
        "label": label,
        "netdev": facts["netdev"],
        "driver": facts.get("driver"),
        "numvfs": numvfs,
        "facts": facts,
        "desired": desired,
        "current": current,
        "changes": changes,
        "driver_states": driver_states,
        "driver_changes": driver_changes,
        "vf_addresses": addresses,
        "rule_path": path,
        "rule_before": rule_before,
        "rule_after": rule_after,
        "rule_changed": rule_before != rule_after,
        "warnings": warnings,
    }


def _entries(params):
    if params.get("pfs"):
        if params.get("pf") or params.get("pci_address") or params.get("vfs") or params.get("vf_defaults"):
            raise SriovError("Use either pfs (a list of PFs with their settings) or pf/pci_address "
                             "with vfs/vf_defaults, not both.")
        entries = params["pfs"]
    elif params.get("pf") is not None or params.get("pci_address") is not None:
        entries = [params]
    else:
        raise SriovError("One of pfs, pf or pci_address is required.")
    return entries, {}


def _report_vf(plan, index, settings, driver_state):
    values = current_values(settings)
    address = plan["vf_addresses"].get(index)
    values.update({"vf": index, "pci_address": str(address) if address is not None else None,
                   "driver": (driver_state or {}).get("driver"),
                   "driver_override": (driver_state or {}).get("driver_override")})
    return values


def _predicted_driver_state(wanted, state):
    """What read_driver_state would show after moving a VF to ``wanted`` (check mode)."""
    if wanted == "vfio-pci":
        return {"driver": "vfio-pci", "driver_override": "vfio-pci"}
    if wanted == "none":
        return {"driver": None, "driver_override": "none"}
    driver = (state or {}).get("driver")
    return {"driver": driver if driver not in (None, "vfio-pci", "pci-stub") else None, "driver_override": None}


def _apply_drivers(applier, plans, journal, ip_path, host):
    """Move the VFs to their drivers; on failure undo the drivers and the settings of this run."""
    try:
        applier.apply(plans)
    except SriovError as exc:
        undone, not_undone = applier.rollback()
        more_undone, more_not_undone = rollback(host, journal, ip_path)
        undone, not_undone = undone + more_undone, not_undone + more_not_undone
        raise SriovError("%s. %s" % (exc.msg.rstrip("."), _rollback_sentence(undone, not_undone)),
                         rolled_back=undone, not_rolled_back=not_undone, **exc.details)


def manage_vf_settings(host, params, check_mode=False, usage_loader=None, reader=read_vf_settings,
                       writer=None):
    """Everything sriov_vf_settings does; returns the result dict. ``writer``: the bounded
    sysfs writer for driver changes (``_numvfs.SubprocessWriter``)."""
    persist = params.get("persist", True)
    entries, seen = _entries(params)
    ip_path = require_ip(host)
    plans = []
    for entry in entries:
        plan = plan_pf(host, entry, persist, ip_path, reader=reader, check_mode=check_mode)
        if str(plan["address"]) in seen:
            raise SriovError("PF %s is listed twice in pfs: give each PF once." % plan["label"])
        seen[str(plan["address"])] = True
        plans.append(plan)
    if usage_loader is None:
        def usage_loader():
            return load_usage(host, params.get("uri") or "qemu:///system")
    guard_plans(host, plans, usage_loader)
    warnings, verified = review_plans(host, plans)

    reloaded = False
    if not check_mode:
        rules_changed = apply_plans(host, plans, ip_path, writer=writer, reader=reader)
        if rules_changed:
            reloaded, reload_warnings = reload_rules(host)
            warnings.extend(reload_warnings)

    result_pfs, diff = report_plans(host, plans, check_mode)
    return {
        "changed": any(p["changed"] for p in result_pfs),
        "pfs": result_pfs,
        "verified": verified,
        "reloaded": reloaded,
        "warnings": warnings,
        "diff": diff,
    }


def require_ip(host):
    """Path of ``ip``; SriovError when iproute2 is missing."""
    ip_path = find_binary(host, ["ip"])
    if ip_path is None:
        raise SriovError("The ip command (iproute2) is needed to set VF settings; it is not in %s."
                         % ", ".join(BIN_DIRS))
    return ip_path


def guard_plans(host, plans, usage_loader):
    """Every guard of the settings plans (driver changes the host cannot make, MAC/VLAN/driver
    of VFs in use), before anything changes."""
    for plan in plans:
        check_driver_changes(host, plan)
    check_guard(plans, usage_loader)
    check_pool_rule_overlap(host, plans)


def review_plans(host, plans):
    """(warnings, verified): the plans' warnings, other owners of the settings, ``udevadm
    verify`` of the rules that change."""
    warnings = []
    verified = False
    for plan in plans:
        warnings.extend(plan["warnings"])
        if plan["rule_after"] is not None:
            warnings.extend("Another owner of VF settings of PF %s: %s." % (plan["label"], o)
                            for o in find_other_owners(host, plan["facts"]))
        if plan["rule_changed"] and plan["rule_after"] is not None:
            verified = udevadm_verify(host, plan["rule_after"]) or verified
    return warnings, verified


def apply_plans(host, plans, ip_path, writer=None, reader=read_vf_settings):
    """Apply the settings and drivers of every plan (all set back on a failure), then write or
    remove the rule files. Returns whether a rule file changed (the caller reloads udev)."""
    journal = apply_changes(host, plans, ip_path)
    verify_applied(host, plans, ip_path, journal, reader=reader)
    if any(plan["driver_changes"] for plan in plans):
        if writer is None:
            from ansible_collections.virt.sriov.plugins.module_utils._numvfs import SubprocessWriter
            writer = SubprocessWriter()
        _apply_drivers(DriverApplier(host, writer), plans, journal, ip_path, host)
    rules_changed = [p for p in plans if p["rule_changed"]]
    for plan in rules_changed:
        if plan["rule_after"] is None:
            host.remove(plan["rule_path"])
        else:
            host.write_atomic(plan["rule_path"], plan["rule_after"], mode=0o644)
    return bool(rules_changed)


def changes_by_vf(plan):
    """The plan's setting and driver changes merged per VF: [(``'<PF> vf N'``, before, after)],
    in the order of each VF's first change (the --diff items of a plan)."""
    grouped, order = {}, []
    for change in plan["changes"] + plan.get("driver_changes", []):
        key = "%s vf %d" % (plan["netdev"], change["vf"])
        if key not in grouped:
            order.append(key)
            grouped[key] = ({}, {})
        grouped[key][0].update(change["before"])
        grouped[key][1].update(change["after"])
    return [(key,) + grouped[key] for key in order]


def final_values(plan, check_mode):
    """Each VF's settings after the run: read back after apply, or in check mode the current
    values with the planned changes merged in (index -> the reader's dict)."""
    final = plan.get("after_read") if not check_mode and plan.get("after_read") is not None else None
    if final is None:
        final = dict(plan["current"])
        if check_mode:
            for change in plan["changes"]:
                merged = current_values(final.get(change["vf"]))
                merged.update(change["after"])
                final[change["vf"]] = dict(merged, vlan_protocol=merged.get("vlan_proto"))
    return final


def report_plans(host, plans, check_mode, tracker=None):
    """(per-PF results, diff) of the plans after apply (in check mode, as predicted)."""
    own_tracker = tracker is None
    tracker = tracker or ChangeTracker()
    result_pfs = []
    for plan in plans:
        for key, before, after in sorted(changes_by_vf(plan), key=lambda item: item[0]):
            tracker.add(key, before, after)
        if plan["rule_changed"]:
            tracker.add_file(plan["rule_path"], plan["rule_before"], plan["rule_after"])
        result_pfs.append(report_plan(host, plan, check_mode))
    return result_pfs, (tracker.diff() if own_tracker else None)


def report_plan(host, plan, check_mode):
    """The result of one PF, in the shape sriov_vf_settings returns per PF."""
    final = final_values(plan, check_mode)
    drivers = {}
    for index in plan["desired"]:
        address = plan["vf_addresses"].get(index)
        state = read_driver_state(host, address) if address is not None else None
        wanted = plan["desired"][index].get("driver")
        if check_mode and wanted and any(c["vf"] == index for c in plan["driver_changes"]):
            state = _predicted_driver_state(wanted, state)
        drivers[index] = state
    return {
        "pf": plan["netdev"],
        "pci_address": str(plan["address"]),
        "driver": plan["driver"],
        "numvfs": plan["numvfs"],
        "changed": bool(plan["changes"]) or bool(plan["driver_changes"]) or plan["rule_changed"],
        "changes": plan["changes"] + plan["driver_changes"],
        "vfs": [_report_vf(plan, index, final.get(index), drivers.get(index)) for index in sorted(plan["desired"])],
        "rule_path": plan["rule_path"],
        "rule_changed": plan["rule_changed"],
        "rule": plan["rule_after"],
    }


__all__ = [
    "APPLY_ORDER",
    "FILE_PREFIX",
    "apply_changes",
    "apply_plans",
    "changes_by_vf",
    "check_guard",
    "check_pool_rule_overlap",
    "desired_per_vf",
    "final_values",
    "find_other_owners",
    "guard_plans",
    "load_usage",
    "manage_vf_settings",
    "normalize_settings",
    "parse_vf_selector",
    "plan_changes",
    "plan_pf",
    "plan_pf_for_count",
    "pool_rule_settings",
    "report_plan",
    "report_plans",
    "require_ip",
    "review_plans",
    "render_rule",
    "rule_path",
    "rule_setting_pairs",
    "validate_rule_text",
]
