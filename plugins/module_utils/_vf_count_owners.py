# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Other owners of a PF's VF count: udev rules not written by this collection, NetworkManager
connections with ``sriov.total-vfs``, systemd ``.link`` files with ``SR-IOVVirtualFunctions=``
and the legacy ``max_vfs`` module parameter. They fight the collection's rule at boot (or when a
connection goes down), so the modules that persist a count warn about each one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

# Every directory udev reads rules from.
RULES_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d",
              "/usr/lib/udev/rules.d", "/lib/udev/rules.d")
NM_DIRS = ("/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections",
           "/usr/lib/NetworkManager/system-connections")
# Where systemd reads .link (udev) and .network (networkd) files.
SYSTEMD_NETWORK_DIRS = ("/etc/systemd/network", "/run/systemd/network",
                        "/usr/local/lib/systemd/network", "/usr/lib/systemd/network",
                        "/lib/systemd/network")
MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                 "/usr/lib/modprobe.d", "/lib/modprobe.d")

_DRIVER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_NUMVFS_ASSIGN_RE = re.compile(r"sriov_numvfs\}\s*=[^=]")
# A match item of any rule line: KEY=="value" or KEY!="value" (other items are not matches).
_MATCH_ITEM_RE = re.compile(r'([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=)\s*"([^"]*)"')


def read_config_text(host, path):
    """A configuration file's text (``Host.read_text``), or None when it is missing or cannot be
    read or decoded: such a file is not looked at."""
    try:
        return host.read_text(path)
    except (SriovError, UnicodeDecodeError):
        return None


def config_files(host, directories, suffix):
    """(path, text) of the files with ``suffix`` in the directories, first directory wins per name."""
    seen = set()
    for directory in directories:
        for name in host.listdir(directory):
            if not name.endswith(suffix) or name in seen:
                continue
            seen.add(name)
            path = "%s/%s" % (directory, name)
            text = read_config_text(host, path)
            if text is not None:
                yield path, text


def _glob_any(patterns, values):
    values = [v for v in values if v]
    return any(fnmatch.fnmatchcase(v, p) for p in patterns for v in values)


def _rule_targets_pf(line, facts):
    """False when a line that sets sriov_numvfs clearly names another device, else True."""
    items = [(m.group(1), m.group(2), m.group(3)) for m in _MATCH_ITEM_RE.finditer(line)]
    netdevs = facts.get("netdevs") or []
    candidates = {
        "KERNELS": [facts["pci_address"]] + netdevs,
        "KERNEL": netdevs,
        "NAME": netdevs,
        "ENV{INTERFACE}": netdevs,
        "ATTR{address}": [(facts.get("mac") or "").lower()],
        "ENV{ID_NET_DRIVER}": [facts.get("driver")],
        "DRIVERS": [facts.get("driver")],
    }
    for key, op, value in items:
        if op != "==" or key not in candidates:
            continue
        if not _glob_any(value.split("|"), candidates[key]):
            return False
    return True


def other_rule_owners(host, facts, own_path):
    found = []
    for path, text in config_files(host, RULES_DIRS, ".rules"):
        if path == own_path or os.path.basename(path) == os.path.basename(own_path):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#") or not _NUMVFS_ASSIGN_RE.search(line):
                continue
            if _rule_targets_pf(line, facts):
                found.append("udev rule %s:%d also sets sriov_numvfs for this PF" % (path, number))
    return found


def ini_sections(text):
    """Sections of an INI-style file (NetworkManager keyfile, systemd unit): {section: {key: [values]}}."""
    sections = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].strip().lower(), {})
            continue
        if current is not None and "=" in line:
            key, _sep, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def other_nm_owners(host, facts):
    found = []
    mac = (facts.get("mac") or "").lower()
    for path, text in config_files(host, NM_DIRS, ".nmconnection"):
        sections = ini_sections(text)
        total = (sections.get("sriov", {}).get("total-vfs") or [None])[0]
        if total is None:
            continue
        names = sections.get("connection", {}).get("interface-name") or []
        macs = [m.lower() for m in sections.get("ethernet", {}).get("mac-address") or []]
        if names and facts.get("netdev") not in names:
            continue
        if macs and mac not in macs:
            continue
        found.append("NetworkManager connection %s sets sriov.total-vfs=%s (NetworkManager resets "
                     "the count when the connection goes down)" % (path, total))
    return found


def other_link_owners(host, facts):
    found = []
    values = {
        "OriginalName": facts.get("netdevs") or [],
        "MACAddress": [(facts.get("mac") or "").lower()],
        "PermanentMACAddress": [(facts.get("mac") or "").lower()],
        "Path": ["pci-%s" % facts["pci_address"]],
        "Driver": [facts.get("driver")],
    }
    for path, text in config_files(host, SYSTEMD_NETWORK_DIRS, ".link"):
        sections = ini_sections(text)
        vfs = (sections.get("sr-iov", {}).get("SR-IOVVirtualFunctions")
               or sections.get("link", {}).get("SR-IOVVirtualFunctions"))
        if not vfs:
            continue
        match = sections.get("match", {})
        applies = True
        for key, wanted in values.items():
            for entry in match.get(key, []):
                patterns = [p.lower() if "MAC" in key else p for p in entry.split()]
                if patterns and not _glob_any(patterns, wanted):
                    applies = False
        if applies:
            found.append("systemd link file %s sets SR-IOVVirtualFunctions=%s" % (path, vfs[-1]))
    return found


def other_modparam_owners(host, facts):
    found = []
    driver = facts.get("driver")
    if not driver or not _DRIVER_RE.match(driver):
        return found
    value = host.read("/sys/module", driver.replace("-", "_"), "parameters", "max_vfs")
    if value and value.strip("0, ") != "":
        found.append("module parameter %s max_vfs=%s is set (legacy way to create VFs)" % (driver, value))
    pattern = re.compile(r"^\s*options\s+%s\s+.*\bmax_vfs\s*=" % re.escape(driver).replace("_", "[_-]"))
    for path, text in config_files(host, MODPROBE_DIRS, ".conf"):
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.match(line):
                found.append("%s:%d sets max_vfs for %s" % (path, number, driver))
    return found


def find_other_owners(host, facts, own_path):
    """Everything else that may also set this PF's VF count, as human sentences."""
    return (other_rule_owners(host, facts, own_path) + other_nm_owners(host, facts)
            + other_link_owners(host, facts) + other_modparam_owners(host, facts))


__all__ = [
    "config_files",
    "find_other_owners",
    "ini_sections",
    "other_link_owners",
    "other_modparam_owners",
    "other_nm_owners",
    "other_rule_owners",
    "read_config_text",
]
