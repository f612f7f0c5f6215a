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

import os
import re
import shutil
import tempfile

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import BIN_DIRS, find_binary
from ansible_collections.virt.sriov.plugins.module_utils._numvfs_read import (
    check_numvfs_answers,
    parse_num_vfs,
    resolve_count,
)
from ansible_collections.virt.sriov.plugins.module_utils._pci import parse_pci_address
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import read_pf, resolve_pf
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label
from ansible_collections.virt.sriov.plugins.module_utils._vf_count_owners import find_other_owners

DEFAULT_DIR = "/etc/udev/rules.d"
# Directories a rule file may be written to (``path`` is restricted to these).
ALLOWED_DIRS = ("/etc/udev/rules.d", "/run/udev/rules.d")
# 82: after 80-net-setup-link.rules, which sets ENV{ID_NET_DRIVER} used by match=driver.
FILE_PREFIX = "82-virt-sriov-numvfs-"
MATCHES = ("pci_address", "mac", "driver")
MARKER = "# Managed by Ansible (virt.sriov.sriov_udev_rule). Changes to this file are overwritten."

LINK_UP_ARGS = "link set dev $name up"
# udev renames network interfaces in this file; a rule file that sorts before it sees the
# kernel's name in $name and no ENV{ID_NET_DRIVER}.
NET_SETUP_LINK = "80-net-setup-link.rules"

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
    "ATTR{device/sriov_drivers_autoprobe}": ("=",),
    "RUN": ("+=",),
}
_SELECTORS = ("KERNELS", "ATTR{address}", "ENV{ID_NET_DRIVER}")
_RUN_LINK_UP_RE = re.compile(r"^(?:/[A-Za-z0-9_.-]+)+/ip %s$" % re.escape(LINK_UP_ARGS))


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
def render_rule(address, num_vfs, match="pci_address", mac=None, driver=None, ip_path=None,
                drivers_autoprobe=None):
    """The rule file's text, built only from validated tokens.

    With ``ip_path`` (the absolute path of ``ip``) a second rule line brings the PF's link up.
    With ``drivers_autoprobe`` (True/False) the count line sets ``sriov_drivers_autoprobe``
    first: udev assigns the ATTRs of one line in order, so the VFs are created with it.
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
    autoprobe = ""
    if drivers_autoprobe is not None:
        autoprobe = 'ATTR{device/sriov_drivers_autoprobe}="%d", ' % int(bool(drivers_autoprobe))
    lines = [
        MARKER,
        "# Creates %d SR-IOV VFs on %s when its network interface appears at boot." % (num_vfs, about),
        '# The ATTR{device/sriov_numvfs}=="0" guard keeps a re-trigger from failing with EBUSY.',
    ]
    if autoprobe:
        lines.append("# sriov_drivers_autoprobe is set first (udev assigns in order): the new VFs %s."
                     % ("get their host driver" if drivers_autoprobe else "get no host driver"))
    lines.append('ACTION=="add", SUBSYSTEM=="net", %s, ATTR{device/sriov_numvfs}=="0", '
                 '%sATTR{device/sriov_numvfs}="%d"' % (selector, autoprobe, num_vfs))
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
    autoprobe = ("ATTR{device/sriov_drivers_autoprobe}", "=")
    if keys.count(autoprobe) > 1:
        raise SriovError("Invalid udev rule text: at most one ATTR{device/sriov_drivers_autoprobe} item.")
    if autoprobe in keys:
        if values[autoprobe] not in ("0", "1"):
            raise SriovError("Invalid udev rule text: sriov_drivers_autoprobe must be 0 or 1.")
        if keys.index(autoprobe) > keys.index(("ATTR{device/sriov_numvfs}", "=")):
            raise SriovError("Invalid udev rule text: sriov_drivers_autoprobe must be set before "
                             "sriov_numvfs (it applies to VFs created afterwards).")
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


def read_collection_rules(host):
    """The VF count rules this collection wrote (files with its marker line in ALLOWED_DIRS, the
    first directory winning per file name, as udev reads them), for reporting:
    [{path, match, selector, num_vfs, link_up, drivers_autoprobe}]. A marked file whose text is
    not a valid rule of ours is left out (it is then one of the other owners, if it sets the count).
    """
    found = []
    seen = set()
    for directory in ALLOWED_DIRS:
        for name in sorted(host.listdir(directory)):
            if not name.endswith(".rules") or name in seen:
                continue
            seen.add(name)
            path = "%s/%s" % (directory, name)
            try:
                text = host.read_text(path)
            except (SriovError, UnicodeDecodeError):
                continue
            if text is None or MARKER not in text.splitlines():
                continue
            try:
                items = validate_rule_text(text)
            except SriovError:
                continue
            values = dict(((key, op), value) for key, op, value in items)
            selector = [(key, value) for key, _op, value in items if key in _SELECTORS][0]
            autoprobe = values.get(("ATTR{device/sriov_drivers_autoprobe}", "="))
            found.append({
                "path": path,
                "match": {"KERNELS": "pci_address", "ATTR{address}": "mac",
                          "ENV{ID_NET_DRIVER}": "driver"}[selector[0]],
                "selector": selector[1],
                "num_vfs": int(values[("ATTR{device/sriov_numvfs}", "=")]),
                "link_up": link_up_line(text) is not None,
                "drivers_autoprobe": None if autoprobe is None else autoprobe == "1",
            })
    return found


def rule_of_pf(rules, facts):
    """The entry of read_collection_rules() that sets this PF's count, or None: the default file
    first, then a rule by PCI address, by MAC, by driver."""
    wanted = {
        "pci_address": str(facts.get("pci_address")),
        "mac": (facts.get("mac") or "").lower() or None,
        "driver": facts.get("driver"),
    }
    default = default_rule_path(facts["pci_address"])
    matching = [rule for rule in rules if wanted[rule["match"]] is not None
                and rule["selector"] == wanted[rule["match"]]]
    order = dict((match, number) for number, match in enumerate(MATCHES))
    matching.sort(key=lambda rule: (rule["path"] != default, order[rule["match"]]))
    return matching[0] if matching else None


def udevadm_version(host):
    udevadm = find_binary(host, ["udevadm"])
    if udevadm is None:
        return None
    rc, out, _err = host.run([udevadm, "--version"], check=False)
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
        rc, out, err = host.run([find_binary(host, ["udevadm"]), "verify", "--resolve-names=never", path],
                                check=False)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    if rc != 0:
        raise SriovError("udevadm verify rejected the rule text: %s" % ((err or out or "").strip()),
                         rule=text)
    return True


class RulePlan(object):
    """What a run does to one PF's rule file: ``current`` and ``desired`` texts (None = absent)."""

    def __init__(self, path, address, current, desired, mode_wrong=False, num_vfs=None,
                 match="pci_address", explicit_path=False, warnings=None, other_owners=None):
        self.path = path
        self.address = address
        self.current = current
        self.desired = desired
        self.mode_wrong = mode_wrong
        self.num_vfs = num_vfs
        self.match = match
        self.explicit_path = explicit_path
        self.warnings = list(warnings or [])
        self.other_owners = list(other_owners or [])

    @property
    def changed(self):
        return self.current != self.desired or self.mode_wrong


def _read_current(host, path):
    full = host.path(path)
    if os.path.isdir(full):
        raise SriovError("Invalid path %r: it is a directory." % path)
    current = host.read_text(path)
    mode = (os.stat(full).st_mode & 0o7777) if current is not None else None
    return current, mode


def _match_tokens(match, facts):
    """(mac, driver) for the rule's selector, and warnings, from the PF's facts."""
    mac = driver = None
    warnings = []
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
    return mac, driver, warnings


def plan_rule(host, params, facts=None, num_vfs=None):
    """Validate the request and compute the rule file's current and desired text (nothing is
    written). ``facts``/``num_vfs``: the PF's facts and resolved count when the caller has read
    them already (sriov_vfs); otherwise they are read here."""
    state = params.get("state", "present")
    match = params.get("match", "pci_address")
    link_up = bool(params.get("link_up"))
    if match not in MATCHES:
        raise SriovError("Invalid match %r: expected one of %s." % (match, ", ".join(MATCHES)))
    if state not in ("present", "absent"):
        raise SriovError("Invalid state %r: expected 'present' or 'absent'." % (state,))
    explicit = params.get("path") is not None
    path = validate_rule_path(params["path"]) if explicit else None
    warnings = []
    desired = None
    address = None
    if state == "present":
        if facts is None:
            if params.get("num_vfs") is None:
                raise SriovError("num_vfs is required with state=present: an integer >= 1 or 'max'.")
            wanted = parse_num_vfs(params["num_vfs"])
            address = resolve_pf(host, pf=params.get("pf"), pci_address=params.get("pci_address"))
            check_numvfs_answers(host, address, str(address))
            facts = read_pf(host, address)
            num_vfs = resolve_count(wanted, facts)
        else:
            address = parse_pci_address(facts["pci_address"])
        if num_vfs == 0:
            raise SriovError("A udev rule for 0 VFs of PF %s does nothing: use state=absent to "
                             "remove the rule." % pf_label(facts))
        if params.get("drivers_autoprobe") is not None and facts.get("drivers_autoprobe") is None:
            raise SriovError("PF %s has no sriov_drivers_autoprobe attribute (kernel too old?): omit "
                             "drivers_autoprobe." % pf_label(facts))
        mac, driver, match_warnings = _match_tokens(match, facts)
        warnings.extend(match_warnings)
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
        desired = render_rule(address, num_vfs, match=match, mac=mac, driver=driver, ip_path=ip_path,
                              drivers_autoprobe=params.get("drivers_autoprobe"))
        early = os.path.basename(path) < NET_SETUP_LINK
        if match == "driver" and early:
            warnings.append("The rule file %s sorts before %s, which sets ENV{ID_NET_DRIVER}: the "
                            "driver match may never fire." % (path, NET_SETUP_LINK))
        if ip_path is not None and early:
            warnings.append("The rule file %s sorts before %s, which renames network interfaces: "
                            "its link line's $name may still be the kernel's name of the PF. Use "
                            "a file name that sorts after it (the default starts with 82-)."
                            % (path, NET_SETUP_LINK))
    else:
        num_vfs = None
        if params.get("pci_address") is not None:
            address = parse_pci_address(params["pci_address"])
        elif path is None:
            address = resolve_pf(host, pf=params.get("pf"), pci_address=None)
        path = path or default_rule_path(address)
    current, mode = _read_current(host, path)
    other = find_other_owners(host, facts, path) if state == "present" else []
    warnings.extend("Another owner of the VF count of PF %s: %s." % (pf_label(facts), o) for o in other)
    return RulePlan(path, address, current, desired,
                    mode_wrong=current is not None and desired is not None and mode != 0o644,
                    num_vfs=num_vfs, match=match, explicit_path=explicit, warnings=warnings,
                    other_owners=other)


def guard_rule(host, plan):
    """Checks before anything is written: a file given by ``path`` must be one of ours (its
    marker comment), and a changed rule text passes ``udevadm verify`` where it exists.
    Returns whether udevadm verified the text."""
    if plan.explicit_path and plan.changed and plan.current is not None \
            and MARKER not in plan.current.splitlines():
        raise SriovError(
            "Refusing to %s %s: the file does not carry this collection's marker line %r, so it "
            "was not written by virt.sriov. Choose another path, or move the file away by hand "
            "if it is obsolete." % ("delete" if plan.desired is None else "overwrite", plan.path, MARKER),
            path=plan.path,
        )
    if plan.changed and plan.desired is not None:
        return udevadm_verify(host, plan.desired)
    return False


def apply_rule(host, plan):
    """Write or remove the planned file (no reload: see reload_rules)."""
    if not plan.changed:
        return
    if plan.desired is None:
        host.remove(plan.path)
    else:
        host.write_atomic(plan.path, plan.desired, mode=0o644)


def reload_rules(host):
    """``udevadm control --reload``. Returns (reloaded, warnings)."""
    udevadm = find_binary(host, ["udevadm"])
    if udevadm is None:
        return False, ["udevadm was not found: udev picks up the rule change at its next start."]
    host.run([udevadm, "control", "--reload"])
    return True, []


def rule_diff(plan, tracker=None):
    tracker = tracker or ChangeTracker()
    tracker.add_file(plan.path, plan.current, plan.desired)
    return tracker


def rule_result(plan, verified=False, reloaded=False):
    """The result keys of one rule (sriov_udev_rule's result, sriov_vfs' ``rule``)."""
    return {
        "changed": plan.changed,
        "path": plan.path,
        "pci_address": str(plan.address) if plan.address is not None else None,
        "num_vfs": plan.num_vfs,
        "match": plan.match,
        "rule": (_rule_lines(plan.desired) or [None])[0],
        "link_up_rule": link_up_line(plan.desired),
        "content": plan.desired,
        "verified": verified,
        "reloaded": reloaded,
        "other_owners": plan.other_owners,
    }


def manage_rule(host, params, check_mode=False):
    """Everything sriov_udev_rule does: plan, guard, apply, report."""
    plan = plan_rule(host, params)
    verified = guard_rule(host, plan)
    warnings = list(plan.warnings)
    reloaded = False
    if plan.changed and not check_mode:
        apply_rule(host, plan)
        reloaded, reload_warnings = reload_rules(host)
        warnings.extend(reload_warnings)
    result = rule_result(plan, verified=verified, reloaded=reloaded)
    result["warnings"] = warnings
    result["diff"] = rule_diff(plan).diff()
    return result


__all__ = [
    "ALLOWED_DIRS",
    "DEFAULT_DIR",
    "RulePlan",
    "apply_rule",
    "default_rule_path",
    "guard_rule",
    "link_up_line",
    "manage_rule",
    "plan_rule",
    "reload_rules",
    "read_collection_rules",
    "rule_of_pf",
    "rule_result",
    "parse_rule_line",
    "render_rule",
    "udevadm_verify",
    "validate_driver",
    "validate_mac",
    "validate_rule_path",
    "validate_rule_text",
]
