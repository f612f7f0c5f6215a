# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""udev rules that recreate a PF's VFs at boot: rendering from validated tokens, validation of
the text, the rule file itself, and detection of other owners of the same VF count.

The rule runs on the PF's net ``add`` event (the PF's driver is bound by then, so ``device/``
reaches the PCI device and its ``sriov_numvfs``) and writes the count only while it reads 0,
so that a re-trigger never fails with EBUSY::

    ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="0", \
ATTR{device/sriov_numvfs}="4"

With ``link_up`` a second line brings the PF's link up on the same event (libvirt sets a VF's
MAC and VLAN through the PF and refuses while the PF is down). It runs ``ip`` without a shell;
``$name`` is the interface name udev substitutes, never text from the user::

    ACTION=="add", SUBSYSTEM=="net", KERNELS=="0000:01:00.0", ATTR{device/sriov_numvfs}=="?*", \
RUN+="/usr/sbin/ip link set dev $name up"
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re
import shutil
import tempfile

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import BIN_DIRS, find_binary
from ansible_collections.virt.sriov.plugins.module_utils._numvfs import (
    check_numvfs_answers,
    parse_num_vfs,
    pf_label,
    resolve_count,
)
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import read_pf, resolve_pf

DEFAULT_DIR = "/etc/udev/rules.d"
# Directories a rule file may be written to (``path`` is restricted to these).
ALLOWED_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d")
# Every directory udev reads rules from (for finding other owners of a VF count).
RULES_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d",
              "/usr/lib/udev/rules.d", "/lib/udev/rules.d")
# 82: after 80-net-setup-link.rules, which sets ENV{ID_NET_DRIVER} used by match=driver.
FILE_PREFIX = "82-virt-sriov-numvfs-"
MATCHES = ("pci_address", "mac", "driver")
MARKER = "# Managed by Ansible (virt.sriov.sriov_udev_rule). Changes to this file are overwritten."

NM_DIRS = ("/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections",
           "/usr/lib/NetworkManager/system-connections")
LINK_DIRS = ("/etc/systemd/network", "/run/systemd/network", "/usr/local/lib/systemd/network",
             "/usr/lib/systemd/network", "/lib/systemd/network")
LINK_UP_ARGS = "link set dev $name up"

MODPROBE_DIRS = ("/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                 "/usr/lib/modprobe.d", "/lib/modprobe.d")

_MAC_RE = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
_DRIVER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]*\.rules$")
# One "KEY op "value"" item of a rule line; values never contain quotes, backslashes or newlines.
_ITEM_RE = re.compile(r'\s*([A-Z_]+(?:\{[A-Za-z0-9_./-]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"\\\n]*)"\s*(,|$)')
# The keys our rules use, with the operators allowed for each.
_ALLOWED_ITEMS = {
    "ACTION": ("==",),
    "SUBSYSTEM": ("==",),
    "KERNELS": ("==",),
    "ATTR{address}": ("==",),
    "ENV{ID_NET_DRIVER}": ("==",),
    "ATTR{device/sriov_numvfs}": ("==", "="),
    "RUN": ("+=",),
}
_SELECTORS = ("KERNELS", "ATTR{address}", "ENV{ID_NET_DRIVER}")
_RUN_LINK_UP_RE = re.compile(r"^(?:/[A-Za-z0-9_.-]+)+/ip %s$" % re.escape(LINK_UP_ARGS))
_NUMVFS_ASSIGN_RE = re.compile(r"sriov_numvfs\}\s*=[^=]")


# ------------------------------------------------------------------------------------- tokens
def validate_mac(value):
    text = value.strip().lower() if isinstance(value, str) else None
    if not text or not _MAC_RE.match(text):
        raise SriovError("Invalid MAC address %r for a udev rule: expected six hex pairs such as "
                         "'52:54:00:12:34:56'." % (value,))
    return text


def validate_driver(value):
    if not isinstance(value, str) or not _DRIVER_RE.match(value):
        raise SriovError("Invalid driver name %r for a udev rule: expected letters, digits, '_', "
                         "'-' or '.' (for example 'ixgbe')." % (value,))
    return value


def validate_rule_path(path):
    """Return a normalised rule file path; it must sit directly in one of ALLOWED_DIRS."""
    valid = "an absolute path of a '.rules' file directly in %s" % " or ".join(ALLOWED_DIRS)
    if not isinstance(path, str) or "\n" in path or "\x00" in path:
        raise SriovError("Invalid path %r: expected %s." % (path, valid))
    if not path.startswith("/") or os.path.normpath(path) != path:
        raise SriovError("Invalid path %r: expected %s, without '..' or '//'." % (path, valid))
    directory, name = os.path.split(path)
    if directory not in ALLOWED_DIRS:
        raise SriovError("Invalid path %r: it is outside the udev rules directories; expected %s."
                         % (path, valid))
    if not _FILE_RE.match(name):
        raise SriovError("Invalid path %r: the file name must end in '.rules' and use only "
                         "letters, digits and '_.:@+-'; expected %s." % (path, valid))
    return path


def default_rule_path(address):
    """/etc/udev/rules.d/82-virt-sriov-numvfs-0000:01:00.0.rules"""
    return "%s/%s%s.rules" % (DEFAULT_DIR, FILE_PREFIX, parse_pci_address(address))


# ------------------------------------------------------------------------------------ rendering
def render_rule(address, num_vfs, match="pci_address", mac=None, driver=None, ip_path=None):
    """The rule file's text, built only from validated tokens.

    With ``ip_path`` (the absolute path of ``ip``) a second rule line brings the PF's link up.
    """
    address = parse_pci_address(address)
    if isinstance(num_vfs, bool) or not isinstance(num_vfs, int) or num_vfs < 1:
        raise SriovError("Invalid VF count %r for a udev rule: expected an integer >= 1 (remove "
                         "the rule with state=absent for 0 VFs)." % (num_vfs,))
    if match == "pci_address":
        selector = 'KERNELS=="%s"' % address
        about = "PF %s" % address
    elif match == "mac":
        selector = 'ATTR{address}=="%s"' % validate_mac(mac)
        about = "the PF with MAC address %s (PF %s when written)" % (validate_mac(mac), address)
    elif match == "driver":
        selector = 'ENV{ID_NET_DRIVER}=="%s"' % validate_driver(driver)
        about = "EVERY port driven by %s (written for PF %s)" % (driver, address)
    else:
        raise SriovError("Invalid match %r: expected one of %s." % (match, ", ".join(MATCHES)))
    lines = [
        MARKER,
        "# Creates %d SR-IOV VFs on %s when its network interface appears at boot." % (num_vfs, about),
        '# The ATTR{device/sriov_numvfs}=="0" guard keeps a re-trigger from failing with EBUSY.',
        'ACTION=="add", SUBSYSTEM=="net", %s, ATTR{device/sriov_numvfs}=="0", '
        'ATTR{device/sriov_numvfs}="%d"' % (selector, num_vfs),
    ]
    if ip_path is not None:
        run_value = "%s %s" % (ip_path, LINK_UP_ARGS)
        if not _RUN_LINK_UP_RE.match(run_value):
            raise SriovError("Invalid path %r of the ip command: expected an absolute path such "
                             "as '/usr/sbin/ip'." % (ip_path,))
        lines += [
            "# Brings the link of %s up when its interface appears: libvirt sets a VF's MAC and "
            "VLAN through the PF and refuses while the PF is down." % about,
            'ACTION=="add", SUBSYSTEM=="net", %s, ATTR{device/sriov_numvfs}=="?*", '
            'RUN+="%s"' % (selector, run_value),
        ]
    text = "\n".join(lines) + "\n"
    validate_rule_text(text)
    return text


def parse_rule_line(line):
    """Split one rule line into [(key, op, value)]; raise SriovError when it is not well formed."""
    items = []
    pos = 0
    while pos < len(line):
        found = _ITEM_RE.match(line, pos)
        if not found or found.end() == pos:
            raise SriovError("Invalid udev rule text near %r." % line[pos:pos + 40])
        items.append((found.group(1), found.group(2), found.group(3)))
        pos = found.end()
        if found.group(4) != ",":
            break
    if line[pos:].strip():
        raise SriovError("Invalid udev rule text near %r." % line[pos:pos + 40])
    return items


def _check_items(items):
    for key, op, value in items:
        if op not in _ALLOWED_ITEMS.get(key, ()):
            raise SriovError("Invalid udev rule text: unexpected %s%s%r." % (key, op, value))
    keys = [(key, op) for key, op, _value in items]
    values = dict(((key, op), value) for key, op, value in items)
    for needed in [("ACTION", "=="), ("SUBSYSTEM", "==")]:
        if keys.count(needed) != 1:
            raise SriovError("Invalid udev rule text: expected exactly one %s%s item." % needed)
    if values[("ACTION", "==")] != "add" or values[("SUBSYSTEM", "==")] != "net":
        raise SriovError('Invalid udev rule text: the rule must match ACTION=="add", SUBSYSTEM=="net".')
    selectors = [(key, value) for key, _op, value in items if key in _SELECTORS]
    if len(selectors) != 1:
        raise SriovError("Invalid udev rule text: expected exactly one of KERNELS, ATTR{address}, "
                         "ENV{ID_NET_DRIVER}.")
    return keys, values, selectors[0]


def _check_numvfs_line(items):
    keys, values, selector = _check_items(items)
    for needed in [("ATTR{device/sriov_numvfs}", "=="), ("ATTR{device/sriov_numvfs}", "=")]:
        if keys.count(needed) != 1:
            raise SriovError("Invalid udev rule text: expected exactly one %s%s item." % needed)
    if ("RUN", "+=") in keys:
        raise SriovError("Invalid udev rule text: the VF count line must not run a program.")
    if values[("ATTR{device/sriov_numvfs}", "==")] != "0":
        raise SriovError('Invalid udev rule text: the guard must be ATTR{device/sriov_numvfs}=="0".')
    if not values[("ATTR{device/sriov_numvfs}", "=")].isdigit():
        raise SriovError("Invalid udev rule text: the VF count must be an integer.")
    return selector


def _check_link_up_line(items):
    keys, values, selector = _check_items(items)
    if keys.count(("RUN", "+=")) != 1 or keys.count(("ATTR{device/sriov_numvfs}", "==")) != 1 \
            or len(keys) != 5:
        raise SriovError("Invalid udev rule text: the link line must hold ACTION, SUBSYSTEM, one "
                         "selector, the ATTR{device/sriov_numvfs}==\"?*\" guard and one RUN item.")
    if values[("ATTR{device/sriov_numvfs}", "==")] != "?*":
        raise SriovError('Invalid udev rule text: the link line\'s guard must be '
                         'ATTR{device/sriov_numvfs}=="?*" (a PF).')
    if not _RUN_LINK_UP_RE.match(values[("RUN", "+=")]):
        raise SriovError("Invalid udev rule text: the only program a rule may run is '<absolute "
                         "path>/ip %s', not %r." % (LINK_UP_ARGS, values[("RUN", "+=")]))
    return selector


def validate_rule_text(text):
    """Check that ``text`` is exactly the kind of rule this collection writes.

    Comments and blank lines aside: one line with ACTION=="add", SUBSYSTEM=="net", one selector,
    the =="0" guard and one integer assignment to ATTR{device/sriov_numvfs}; optionally a second
    line with the same selector that runs ``<path>/ip link set dev $name up`` on a PF. Returns
    the items of the VF count line.
    """
    rule_lines = _rule_lines(text)
    if len(rule_lines) not in (1, 2):
        raise SriovError("Invalid udev rule text: expected one rule line (two with link_up), found "
                         "%d." % len(rule_lines))
    items = parse_rule_line(rule_lines[0])
    selector = _check_numvfs_line(items)
    if len(rule_lines) == 2:
        if _check_link_up_line(parse_rule_line(rule_lines[1])) != selector:
            raise SriovError("Invalid udev rule text: both lines must select the same PF.")
    return items


def _rule_lines(text):
    """The rule lines of a rule text: neither blank nor comments."""
    return [line for line in (text or "").splitlines() if line.strip() and not line.lstrip().startswith("#")]


def link_up_line(text):
    """The link line (the second rule line) of a rule text this collection wrote, or None."""
    rule_lines = _rule_lines(text)
    return rule_lines[1] if len(rule_lines) == 2 else None


def _udevadm_path(host):
    for directory in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        if host.exists(directory, "udevadm"):
            return "udevadm"
    return None


def udevadm_version(host):
    if _udevadm_path(host) is None:
        return None
    rc, out, _err = host.run(["udevadm", "--version"], check=False)
    found = re.match(r"\s*(\d+)", out or "")
    return int(found.group(1)) if rc == 0 and found else None


def udevadm_verify(host, text):
    """Run ``udevadm verify`` (systemd >= 254) on the text; return True when it ran."""
    version = udevadm_version(host)
    if version is None or version < 254:
        return False
    tmpdir = tempfile.mkdtemp(prefix="virt-sriov-udev-")
    try:
        path = os.path.join(tmpdir, "90-virt-sriov-check.rules")
        with open(path, "w") as handle:
            handle.write(text)
        rc, out, err = host.run(["udevadm", "verify", "--resolve-names=never", path], check=False)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if rc != 0:
        raise SriovError("udevadm verify rejected the rule text: %s" % ((err or out or "").strip()),
                         rule=text)
    return True


# ------------------------------------------------------------------------------- other owners
def _read_text(host, path):
    try:
        with open(host.path(path), "r") as handle:
            return handle.read()
    except (IOError, OSError, UnicodeDecodeError):
        return None


def _files(host, directories, suffix):
    """(path, text) of the files with ``suffix`` in the directories, first directory wins per name."""
    seen = set()
    for directory in directories:
        for name in host.listdir(directory):
            if not name.endswith(suffix) or name in seen:
                continue
            seen.add(name)
            path = "%s/%s" % (directory, name)
            text = _read_text(host, path)
            if text is not None:
                yield path, text


def _glob_any(patterns, values):
    values = [v for v in values if v]
    return any(fnmatch.fnmatchcase(v, p) for p in patterns for v in values)


def _rule_targets_pf(line, facts):
    """False when a line that sets sriov_numvfs clearly names another device, else True."""
    try:
        items = parse_rule_line(line)
    except SriovError:
        items = [(m.group(1), m.group(2), m.group(3)) for m in re.finditer(
            r'([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=)\s*"([^"]*)"', line)]
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
    for path, text in _files(host, RULES_DIRS, ".rules"):
        if path == own_path or os.path.basename(path) == os.path.basename(own_path):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if line.lstrip().startswith("#") or not _NUMVFS_ASSIGN_RE.search(line):
                continue
            if _rule_targets_pf(line, facts):
                found.append("udev rule %s:%d also sets sriov_numvfs for this PF" % (path, number))
    return found


def _ini_sections(text):
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
    for path, text in _files(host, NM_DIRS, ".nmconnection"):
        sections = _ini_sections(text)
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
    for path, text in _files(host, LINK_DIRS, ".link"):
        sections = _ini_sections(text)
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
    for path, text in _files(host, MODPROBE_DIRS, ".conf"):
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.match(line):
                found.append("%s:%d sets max_vfs for %s" % (path, number, driver))
    return found


def find_other_owners(host, facts, own_path):
    """Everything else that may also set this PF's VF count, as human sentences."""
    return (other_rule_owners(host, facts, own_path) + other_nm_owners(host, facts)
            + other_link_owners(host, facts) + other_modparam_owners(host, facts))


def manage_rule(host, params, check_mode=False):
    """Everything sriov_udev_rule does. Returns the result dict (with warnings and diff)."""
    state = params.get("state", "present")
    match = params.get("match", "pci_address")
    link_up = bool(params.get("link_up"))
    if match not in MATCHES:
        raise SriovError("Invalid match %r: expected one of %s." % (match, ", ".join(MATCHES)))
    path = params.get("path")
    if path is not None:
        path = validate_rule_path(path)
    warnings = []
    facts = None
    desired = None
    num_vfs = None
    if state == "present":
        if params.get("num_vfs") is None:
            raise SriovError("num_vfs is required with state=present: an integer >= 1 or 'max'.")
        wanted = parse_num_vfs(params["num_vfs"])
        address = resolve_pf(host, pf=params.get("pf"), pci_address=params.get("pci_address"))
        check_numvfs_answers(host, address, str(address))
        facts = read_pf(host, address)
        num_vfs = resolve_count(wanted, facts)
        if num_vfs == 0:
            raise SriovError("A udev rule for 0 VFs of PF %s does nothing: use state=absent to "
                             "remove the rule." % pf_label(facts))
        mac = driver = None
        if match == "mac":
            if not facts.get("mac"):
                raise SriovError("match=mac needs the PF's MAC address, but PF %s has no network "
                                 "interface." % pf_label(facts))
            mac = validate_mac(facts["mac"])
        elif match == "driver":
            if not facts.get("driver"):
                raise SriovError("match=driver needs the PF's driver, but no driver is bound to "
                                 "PF %s." % pf_label(facts))
            driver = validate_driver(facts["driver"])
            warnings.append(
                "match=driver: the rule ENV{ID_NET_DRIVER}==\"%s\" applies to EVERY port driven "
                "by %s on this host, not only PF %s; prefer match=pci_address."
                % (driver, driver, pf_label(facts)))
        ip_path = None
        if link_up:
            ip_path = find_binary(host, ["ip"])
            if ip_path is None:
                raise SriovError("link_up=true needs the ip command (iproute2) on the host; it is "
                                 "not in %s. Install iproute2 or set link_up=false." % ", ".join(BIN_DIRS))
            if match == "driver":
                warnings.append("match=driver with link_up: the rule brings up EVERY port driven "
                                "by %s on this host." % driver)
        path = path or default_rule_path(address)
        desired = render_rule(address, num_vfs, match=match, mac=mac, driver=driver, ip_path=ip_path)
        if match == "driver" and os.path.basename(path) < "80-net-setup-link.rules":
            warnings.append("The rule file %s sorts before 80-net-setup-link.rules, which sets "
                            "ENV{ID_NET_DRIVER}: the driver match may never fire." % path)
    elif state == "absent":
        if path is None:
            if params.get("pci_address") is not None:
                address = parse_pci_address(params["pci_address"])
            else:
                address = resolve_pf(host, pf=params.get("pf"), pci_address=None)
            path = default_rule_path(address)
        else:
            address = None
            if params.get("pci_address") is not None:
                address = parse_pci_address(params["pci_address"])
    else:
        raise SriovError("Invalid state %r: expected 'present' or 'absent'." % (state,))

    full = host.path(path)
    if os.path.isdir(full):
        raise SriovError("Invalid path %r: it is a directory." % path)
    current = _read_text(host, path) if os.path.exists(full) else None
    mode_wrong = False
    if current is not None and desired is not None:
        mode_wrong = (os.stat(full).st_mode & 0o7777) != 0o644
    changed = current != desired or mode_wrong
    verified = False
    if changed and desired is not None:
        verified = udevadm_verify(host, desired)
    other = []
    if state == "present":
        other = find_other_owners(host, facts, path)
        warnings.extend("Another owner of the VF count of PF %s: %s." % (pf_label(facts), o) for o in other)

    reloaded = False
    if changed and not check_mode:
        if desired is None:
            host.remove(path)
        else:
            host.write_atomic(path, desired, mode=0o644)
        if _udevadm_path(host) is not None:
            host.run(["udevadm", "control", "--reload"])
            reloaded = True
        else:
            warnings.append("udevadm was not found: udev picks up the rule change at its next start.")

    tracker = ChangeTracker()
    tracker.add_file(path, current, desired)
    return {
        "changed": changed,
        "path": path,
        "pci_address": str(address) if address is not None else None,
        "num_vfs": num_vfs,
        "match": match,
        "rule": (_rule_lines(desired) or [None])[0],
        "link_up_rule": link_up_line(desired),
        "content": desired,
        "verified": verified,
        "reloaded": reloaded,
        "other_owners": other,
        "warnings": warnings,
        "diff": tracker.diff(),
    }


__all__ = [
    "ALLOWED_DIRS",
    "DEFAULT_DIR",
    "default_rule_path",
    "find_other_owners",
    "link_up_line",
    "manage_rule",
    "parse_rule_line",
    "render_rule",
    "udevadm_verify",
    "validate_driver",
    "validate_mac",
    "validate_rule_path",
    "validate_rule_text",
]
