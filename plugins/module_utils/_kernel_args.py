# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Persistent kernel arguments: parsing, validation and three back ends.

Back ends (``BACKENDS``):

``grubby``
    RHEL, CentOS, Fedora: ``grubby --info=ALL`` reads every boot entry, ``grubby
    --update-kernel=ALL --args=... --remove-args=...`` changes them all.
``grub_dropin``
    Debian, Ubuntu: the module owns one drop-in, ``/etc/default/grub.d/99-virt-sriov.cfg``,
    which appends its arguments to ``GRUB_CMDLINE_LINUX``; ``update-grub`` (or ``grub-mkconfig
    -o /boot/grub/grub.cfg``) regenerates the boot menu when a file changed or when
    ``/boot/grub/grub.cfg`` does not carry the result yet. The resulting arguments are computed
    from ``/etc/default/grub`` and every ``/etc/default/grub.d/*.cfg`` by a conservative reader
    of the two ``GRUB_CMDLINE_LINUX*`` assignments (no shell runs). An argument to remove that
    is set outside the drop-in (in ``/etc/default/grub`` or another drop-in) is removed from
    the value of the line that sets it, token by token; the rest of that file stays as it was.
``rpm_ostree``
    ostree hosts (``/run/ostree-booted``): ``rpm-ostree kargs`` reads, ``rpm-ostree kargs
    --append-if-missing=... --delete-if-present=...`` changes the next deployment.

Semantics of the requested state, the same for every back end:

* ``present`` entry ``name=value`` (or a bare ``name``): afterwards the arguments contain that
  token, and every other token with the same name is removed (one value per name, unless the
  same name is listed several times in ``present``, then exactly those values).
* ``absent`` entry ``name``: every token with that name is removed, whatever its value;
  ``name=value``: only that exact token is removed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import find_binary

BACKENDS = ("grubby", "grub_dropin", "rpm_ostree")

NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
# Printable ASCII without whitespace, quotes, and the shell's $ ` ; \ characters.
VALUE_RE = re.compile(r"^[!#%&()*+,\-./0-9:<=>?@A-Z\[\]^_a-z{|}~]+$")
FORBIDDEN_IN_VALUE = " \t\r\n'\"$`;\\"

GRUB_DEFAULT_FILE = "/etc/default/grub"
GRUB_DROPIN_DIR = "/etc/default/grub.d"
GRUB_DROPIN_NAME = "99-virt-sriov.cfg"
GRUB_DROPIN_PATH = GRUB_DROPIN_DIR + "/" + GRUB_DROPIN_NAME
GRUB_CFG = "/boot/grub/grub.cfg"
OSTREE_BOOTED = "/run/ostree-booted"

DROPIN_HEADER = (
    "# Managed by virt.sriov.kernel_cmdline: kernel arguments appended to GRUB_CMDLINE_LINUX.\n"
    "# Local changes are overwritten. /etc/default/grub.d/*.cfg is read after /etc/default/grub.\n"
)

_CMDLINE_VARS = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
_ASSIGN_RE = re.compile(r"^\s*(?:export\s+)?(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$")
_MENTION_RE = re.compile(r"\bGRUB_CMDLINE_LINUX(?:_DEFAULT)?\s*\+?=")
_VAR_REF_RE = re.compile(r"\$(?:\{(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)\}|(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)(?![A-Za-z0-9_]))")
_PLAIN_WORD_RE = re.compile(r"^[A-Za-z0-9_.,:=/+@%-]*$")


# ---------------------------------------------------------------------------------- tokens


def arg_name(token):
    """``intel_iommu=on`` -> ``intel_iommu``; ``quiet`` -> ``quiet``."""
    return token.split("=", 1)[0]


def validate_arg(value, option="args"):
    """Return ``value`` as a validated kernel argument token, or raise SriovError.

    A name of ``[A-Za-z0-9_.-]+``, optionally ``=`` and a non-empty value of printable ASCII
    without whitespace, quotes, ``$``, backtick, ``;`` or backslash.
    """
    if not isinstance(value, str):
        raise SriovError("%s: %r is not a string; give kernel arguments as name or name=value." % (option, value))
    name, sep, val = value.partition("=")
    if not NAME_RE.match(name):
        raise SriovError(
            "%s: %r is not a valid kernel argument: the name %r must be made of letters, digits, "
            "'_', '.' and '-' (for example intel_iommu=on or iommu=pt)." % (option, value, name),
            invalid_arg=value)
    if sep:
        if val == "":
            raise SriovError(
                "%s: %r has an empty value; write %r for a flag or give a value after '='."
                % (option, value, name), invalid_arg=value)
        if not VALUE_RE.match(val):
            bad = sorted(set(c for c in val if c in FORBIDDEN_IN_VALUE or not VALUE_RE.match(c)))
            raise SriovError(
                "%s: %r is not a valid kernel argument: the value must not contain whitespace, quotes, "
                "'$', '`', ';', '\\' or non-ASCII characters (found %s)."
                % (option, value, ", ".join(repr(c) for c in bad)), invalid_arg=value)
    return value


def validate_request(present, absent):
    """Validate both lists; refuse a name both wanted and removed. Returns (present, absent)."""
    present = [validate_arg(v, "present") for v in (present or [])]
    absent = [validate_arg(v, "absent") for v in (absent or [])]
    for item in absent:
        for want in present:
            if item == want or ("=" not in item and arg_name(want) == item):
                raise SriovError(
                    "%r is both in present (%r) and in absent: a kernel argument cannot be both."
                    % (item, want), invalid_arg=item)
    return _dedup(present), _dedup(absent)


def _dedup(items):
    seen = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def split_cmdline(text):
    """Split a kernel command line into tokens the way the kernel does.

    Whitespace separates arguments; double quotes group (``foo="a b"`` is one token, kept with
    its quotes). Returns a list of strings.
    """
    tokens = []
    current = []
    in_quotes = False
    for char in text or "":
        if char == '"':
            in_quotes = not in_quotes
            current.append(char)
        elif char.isspace() and not in_quotes:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        tokens.append("".join(current))
    return tokens


def apply_request(tokens, present, absent):
    """Return the token list after applying ``present``/``absent`` (see module docstring).

    Existing tokens keep their order; missing ``present`` tokens are appended in the order given.
    """
    wanted_by_name = {}
    for item in present:
        wanted_by_name.setdefault(arg_name(item), []).append(item)
    absent_names = set(a for a in absent if "=" not in a)
    absent_exact = set(a for a in absent if "=" in a)
    result = []
    for token in tokens:
        name = arg_name(token)
        if name in absent_names or token in absent_exact:
            continue
        if name in wanted_by_name and token not in wanted_by_name[name]:
            continue
        result.append(token)
    for item in present:
        if item not in result:
            result.append(item)
    return result


def request_satisfied(tokens, present, absent):
    """True when ``tokens`` already are in the requested state."""
    return apply_request(tokens, present, absent) == list(tokens)


def running_mismatch(proc_tokens, present, absent):
    """What the running kernel lacks: (``present`` args missing from it, unwanted args it has).

    Unwanted: ``absent`` matches, and other values of a name listed in ``present``.
    """
    missing = [p for p in present if p not in proc_tokens]
    unwanted = []
    for token in proc_tokens:
        if token in unwanted:
            continue
        name = arg_name(token)
        wanted = [p for p in present if arg_name(p) == name]
        if (wanted and token not in wanted) or token in absent or name in absent:
            unwanted.append(token)
    return missing, unwanted


def read_proc_cmdline(host):
    text = host.read("/proc/cmdline")
    if text is None:
        raise SriovError("Cannot read /proc/cmdline on the host.")
    return split_cmdline(text)


# ---------------------------------------------------------------------------------- result


class Plan(object):
    """What a back end found and will do; drives check mode, the real run and the diff."""

    def __init__(self, backend, before, after, changed):
        self.backend = backend
        self.before = list(before)
        self.after = list(after)
        self.changed = changed
        self.files = []  # (path, before text or None, after text or None)
        self.commands = []  # argv lists the real run executes
        self.details = {}

    @property
    def added(self):
        return [t for t in self.after if t not in self.before]

    @property
    def removed(self):
        return [t for t in self.before if t not in self.after]


# ---------------------------------------------------------------------------------- grubby


class GrubbyBackend(object):
    name = "grubby"

    def __init__(self, host, binary=None):
        self.host = host
        self.binary = binary or find_binary(host, ["grubby"]) or "grubby"

    @staticmethod
    def parse_info(text):
        """``grubby --info=ALL`` -> list of dicts (index, kernel, args list)."""
        entries = []
        current = None
        for line in (text or "").splitlines():
            line = line.strip()
            if "=" not in line:
                continue
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if key == "index":
                current = {"index": value, "kernel": None, "args": []}
                entries.append(current)
            elif current is None:
                continue
            elif key == "kernel":
                current["kernel"] = value
            elif key == "args":
                current["args"] = split_cmdline(value)
        return entries

    def read(self):
        _rc, out, _err = self.host.run([self.binary, "--info=ALL"])
        entries = [e for e in self.parse_info(out) if e["kernel"] and e["kernel"] != "non linux entry"]
        if not entries:
            raise SriovError("grubby --info=ALL reported no boot entry with a Linux kernel.", stdout=out)
        rc, out, _err = self.host.run([self.binary, "--default-index"], check=False)
        default = out.strip() if rc == 0 else None
        for entry in entries:
            if entry["index"] == default:
                return entries, entry
        return entries, entries[0]

    def plan(self, present, absent):
        entries, default = self.read()
        to_add = []
        to_remove = []
        for entry in entries:
            new = apply_request(entry["args"], present, absent)
            for token in entry["args"]:
                if token not in new and token not in to_remove:
                    to_remove.append(token)
            for token in new:
                if token not in entry["args"] and token not in to_add:
                    to_add.append(token)
        after = apply_request(default["args"], present, absent)
        plan = Plan(self.name, default["args"], after, bool(to_add or to_remove))
        plan.details["entries"] = [{"index": e["index"], "kernel": e["kernel"]} for e in entries]
        # Two calls, removal first: a replaced value (intel_iommu=off -> on) shares its name
        # with the new token, and grubby's order within one call is not documented.
        if to_remove:
            plan.commands.append([self.binary, "--update-kernel=ALL", "--remove-args=" + " ".join(to_remove)])
        if to_add:
            plan.commands.append([self.binary, "--update-kernel=ALL", "--args=" + " ".join(to_add)])
        return plan

    def apply(self, plan):
        for argv in plan.commands:
            self.host.run(argv)

    def verify(self, present, absent):
        entries, default = self.read()
        wrong = [e["kernel"] for e in entries if not request_satisfied(e["args"], present, absent)]
        return default["args"], wrong


# ---------------------------------------------------------------------------------- rpm-ostree


class RpmOstreeBackend(object):
    name = "rpm_ostree"

    def __init__(self, host, binary=None):
        self.host = host
        self.binary = binary or find_binary(host, ["rpm-ostree"]) or "rpm-ostree"

    def read(self):
        _rc, out, _err = self.host.run([self.binary, "kargs"])
        return split_cmdline(out)

    def plan(self, present, absent):
        before = self.read()
        after = apply_request(before, present, absent)
        plan = Plan(self.name, before, after, before != after)
        if plan.changed:
            argv = [self.binary, "kargs"]
            argv.extend("--delete-if-present=" + t for t in before if t not in after)
            argv.extend("--append-if-missing=" + t for t in after if t not in before)
            plan.commands.append(argv)
        return plan

    def apply(self, plan):
        for argv in plan.commands:
            self.host.run(argv)

    def verify(self, present, absent):
        args = self.read()
        return args, ([] if request_satisfied(args, present, absent) else ["next deployment"])


# ---------------------------------------------------------------------------------- grub.d


class GrubConfigError(SriovError):
    pass


def _literal_pairs(text, origin):
    return [(token, origin) for token in split_cmdline(text)]


def _parse_shell_value(raw, env, where, origin):
    """Evaluate the right-hand side of ``GRUB_CMDLINE_LINUX=...`` conservatively.

    Accepts one double-quoted string (expanding only $GRUB_CMDLINE_LINUX and
    $GRUB_CMDLINE_LINUX_DEFAULT, each separated from other text by whitespace), one
    single-quoted string or one plain word, optionally followed by whitespace and a comment.
    ``env`` maps the two variables to lists of (token, origin). Returns such a list:
    expanded tokens keep their origin, literal ones get ``origin``.
    """
    text = raw.rstrip()
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            raise GrubConfigError("%s: unterminated double quote." % where)
        body, rest = text[1:end], text[end + 1:]
        if "\\" in body or "`" in body:
            raise GrubConfigError("%s: backslashes and backticks are not supported in the value." % where)
        pairs = []
        position = 0
        for match in _VAR_REF_RE.finditer(body):
            literal = body[position:match.start()]
            following = body[match.end():match.end() + 1]
            if (literal and not literal[-1].isspace()) or (following and not following.isspace()):
                raise GrubConfigError("%s: $%s must be separated from other text by spaces."
                                      % (where, match.group(1) or match.group(2)))
            pairs.extend(_literal_pairs(literal, origin))
            pairs.extend(env[match.group(1) or match.group(2)])
            position = match.end()
        literal = body[position:]
        if "$" in _VAR_REF_RE.sub("", body):
            raise GrubConfigError(
                "%s: only $GRUB_CMDLINE_LINUX and $GRUB_CMDLINE_LINUX_DEFAULT can be expanded." % where)
        pairs.extend(_literal_pairs(literal, origin))
    elif text.startswith("'"):
        end = text.find("'", 1)
        if end < 0:
            raise GrubConfigError("%s: unterminated single quote." % where)
        pairs, rest = _literal_pairs(text[1:end], origin), text[end + 1:]
    else:
        parts = text.split(None, 1)
        value = parts[0] if parts else ""
        rest = (" " + parts[1]) if len(parts) > 1 else ""
        if not _PLAIN_WORD_RE.match(value):
            raise GrubConfigError("%s: unquoted value %r is not a plain word." % (where, value))
        pairs = _literal_pairs(value, origin)
    rest_stripped = rest.strip()
    if rest_stripped and not (rest[:1].isspace() and rest_stripped.startswith("#")):
        raise GrubConfigError("%s: unexpected text %r after the value." % (where, rest_stripped))
    return pairs


def evaluate_grub_files(files):
    """Simulate sourcing ``files`` [(path, text or None)] for the two cmdline variables.

    Returns ``{"GRUB_CMDLINE_LINUX": [(token, (path, line)), ...], "GRUB_CMDLINE_LINUX_DEFAULT": [...]}``:
    each token with the file and line that put it there. Raises GrubConfigError for an assignment the
    reader does not understand (it never guesses).
    """
    env = dict((name, []) for name in _CMDLINE_VARS)
    for path, text in files:
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            where = "%s line %d" % (path, number)
            match = _ASSIGN_RE.match(line)
            if not match:
                if _MENTION_RE.search(line):
                    raise GrubConfigError(
                        "%s: cannot read %r: only plain 'GRUB_CMDLINE_LINUX=...' assignments on their own "
                        "line are understood." % (where, stripped), file=path, line=number)
                continue
            var, raw = match.group(1), match.group(2)
            try:
                env[var] = _parse_shell_value(raw, env, where, (path, number))
            except GrubConfigError as exc:
                raise GrubConfigError(
                    "%s Write a literal value (\"...\" or '...'), which may start with $%s."
                    % (exc.msg, var), file=path, line=number)
    return env


def remove_tokens_from_line(line, tokens):
    """Remove each of ``tokens`` once from the literal value of a ``GRUB_CMDLINE_LINUX*=`` line.

    Only the value's text changes (one adjacent space goes with each token); the quoting, any
    ``$GRUB_CMDLINE_LINUX`` reference and a trailing comment stay. Raises GrubConfigError when a
    token is not found as a whole word.
    """
    match = _ASSIGN_RE.match(line)
    if not match:
        raise GrubConfigError("not an assignment: %r" % line)
    start = match.start(2)
    raw = match.group(2)
    if raw[:1] in ("'", '"'):
        body_start = start + 1
        body_end = line.index(raw[0], body_start)
    else:
        word = raw.split(None, 1)[0] if raw.strip() else ""
        body_start, body_end = start, start + len(word)
    body = line[body_start:body_end]
    for token in tokens:
        pattern = re.compile(r"(^|\s)" + re.escape(token) + r"(?=\s|$)")
        found = pattern.search(body)
        if not found:
            raise GrubConfigError("%r not found in %r" % (token, line))
        begin, end = found.start(), found.end()
        if found.group(1):  # drop the space before the token
            body = body[:begin] + body[end:]
        else:  # token at the start: drop the space after it
            body = (body[end + 1:] if body[end:end + 1].isspace() else body[end:])
    return line[:body_start] + body + line[body_end:]


def parse_grub_cfg_default_args(text):
    """Arguments of the first ``linux`` line of a grub.cfg (the default entry with GRUB_DEFAULT=0).

    Returns a token list without the kernel image path, or None when there is no such line.
    """
    for line in (text or "").splitlines():
        stripped = line.strip()
        parts = stripped.split(None, 1)
        if parts and parts[0] in ("linux", "linux16", "linuxefi"):
            tokens = split_cmdline(parts[1] if len(parts) > 1 else "")
            return tokens[1:]
    return None


def render_dropin(tokens):
    if not tokens:
        return None
    return DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX %s"\n' % " ".join(tokens)


class GrubDropinBackend(object):
    name = "grub_dropin"

    def __init__(self, host, update_command=None):
        self.host = host
        self._update_command = update_command

    # -- reading --
    def _read_text(self, path):
        full = self.host.path(path)
        if not os.path.exists(full):
            return None
        try:
            with open(full, "r") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            raise SriovError("Cannot read %s: %s" % (path, exc))

    def _dropin_paths(self):
        return [GRUB_DROPIN_DIR + "/" + name for name in self.host.listdir(GRUB_DROPIN_DIR)
                if name.endswith(".cfg")]

    def _files(self, overrides):
        """The files in sourcing order as (path, text); ``overrides`` maps paths to new texts."""
        paths = self._dropin_paths()
        if GRUB_DROPIN_PATH not in paths:
            paths = sorted(paths + [GRUB_DROPIN_PATH])
        files = []
        for path in [GRUB_DEFAULT_FILE] + paths:
            files.append((path, overrides[path] if path in overrides else self._read_text(path)))
        return files

    @staticmethod
    def _boot_args(env_tokens):
        """The default boot entry gets GRUB_CMDLINE_LINUX then GRUB_CMDLINE_LINUX_DEFAULT."""
        return env_tokens["GRUB_CMDLINE_LINUX"] + env_tokens["GRUB_CMDLINE_LINUX_DEFAULT"]

    def _dropin_tokens(self, text):
        """Tokens our drop-in adds (whatever it looked like; it is rewritten canonically)."""
        if text is None:
            return []
        try:
            env = evaluate_grub_files([(GRUB_DROPIN_PATH, text)])
        except GrubConfigError:
            return []
        return [t for t, _o in self._boot_args(env)]

    def update_command(self):
        if self._update_command:
            return list(self._update_command)
        binary = find_binary(self.host, ["update-grub"])
        if binary:
            return [binary]
        binary = find_binary(self.host, ["grub-mkconfig"])
        if binary:
            return [binary, "-o", GRUB_CFG]
        raise SriovError("Neither update-grub nor grub-mkconfig was found on the host: cannot "
                         "regenerate %s for the grub_dropin back end." % GRUB_CFG)

    # -- planning --
    def plan(self, present, absent):
        if self._read_text(GRUB_DEFAULT_FILE) is None:
            raise SriovError("%s does not exist: the grub_dropin back end needs GRUB's Debian-style "
                             "configuration." % GRUB_DEFAULT_FILE)
        old_text = self._read_text(GRUB_DROPIN_PATH)
        env_before = evaluate_grub_files(self._files({}))
        before_pairs = self._boot_args(env_before)
        before = [t for t, _o in before_pairs]

        # Tokens from files the module does not own: removed from their line when they must go.
        foreign = [(t, o) for t, o in before_pairs if o[0] != GRUB_DROPIN_PATH]
        wanted_foreign = apply_request([t for t, _o in foreign], present, absent)
        edits = {}  # path -> {line number: [tokens to remove]}
        kept_foreign = []
        for token, (path, number) in foreign:
            if token in wanted_foreign:
                kept_foreign.append(token)
            else:
                edits.setdefault(path, {}).setdefault(number, []).append(token)
        overrides = {}
        for path, lines in edits.items():
            text = self._read_text(path)
            split = text.splitlines(True)
            for number, tokens in lines.items():
                ending = split[number - 1][len(split[number - 1].rstrip("\r\n")):]
                try:
                    split[number - 1] = remove_tokens_from_line(split[number - 1].rstrip("\r\n"), tokens) + ending
                except GrubConfigError:
                    raise SriovError(
                        "Cannot remove %s from %s line %d; remove it there by hand."
                        % (" ".join(tokens), path, number), file=path, line=number)
            overrides[path] = "".join(split)

        # Our drop-in: keep what it had (it owns those), minus absent, plus present not set elsewhere.
        own = apply_request(self._dropin_tokens(old_text), [], absent)
        wanted_names = set(arg_name(p) for p in present)
        own = [t for t in own if arg_name(t) not in wanted_names or t in present]
        for item in present:
            if item not in kept_foreign and item not in own:
                own.append(item)
        new_text = render_dropin(own)
        overrides[GRUB_DROPIN_PATH] = new_text
        env_after = evaluate_grub_files(self._files(overrides))
        after = [t for t, _o in self._boot_args(env_after)]
        if not request_satisfied(after, present, absent):
            overriding = [p for p, _t in self._files(overrides) if p > GRUB_DROPIN_PATH]
            raise SriovError(
                "Even with %s the GRUB configuration would not give %s: a drop-in read after it "
                "overrides GRUB_CMDLINE_LINUX (%s)." % (
                    GRUB_DROPIN_PATH, " ".join(present) or "the requested arguments",
                    ", ".join(overriding) or "unknown file"), files=overriding)

        file_changed = (old_text or None) != new_text
        grub_cfg_text = self._read_text(GRUB_CFG)
        cfg_args = parse_grub_cfg_default_args(grub_cfg_text)
        cfg_stale = cfg_args is not None and not request_satisfied(cfg_args, present, absent)
        plan = Plan(self.name, before, after, file_changed or cfg_stale or bool(edits))
        plan.details["dropin_path"] = GRUB_DROPIN_PATH
        plan.details["grub_cfg_stale"] = cfg_stale
        for path in sorted(edits):
            plan.files.append((path, self._read_text(path), overrides[path]))
        if file_changed:
            plan.files.append((GRUB_DROPIN_PATH, old_text, new_text))
        if plan.changed:
            plan.commands.append(self.update_command())
        return plan

    # -- acting --
    def apply(self, plan):
        for path, _old, new in plan.files:
            if new is None:
                self.host.remove(path)
            else:
                self.host.write_atomic(path, new)
        for argv in plan.commands:
            self.host.run(argv)

    def verify(self, present, absent):
        env = evaluate_grub_files(self._files({}))
        args = [t for t, _o in self._boot_args(env)]
        wrong = []
        if not request_satisfied(args, present, absent):
            wrong.append("/etc/default/grub + grub.d")
        cfg_args = parse_grub_cfg_default_args(self._read_text(GRUB_CFG))
        if cfg_args is not None and not request_satisfied(cfg_args, present, absent):
            wrong.append(GRUB_CFG)
        return args, wrong


# ---------------------------------------------------------------------------------- driver


def detect_backend(host):
    """Choose the back end from what the host has. Returns a back end name or raises."""
    if host.exists(OSTREE_BOOTED):
        if find_binary(host, ["rpm-ostree"]):
            return "rpm_ostree"
        raise SriovError("%s exists (an ostree host) but rpm-ostree was not found." % OSTREE_BOOTED)
    if find_binary(host, ["grubby"]):
        return "grubby"
    if host.exists(GRUB_DEFAULT_FILE) and find_binary(host, ["update-grub", "grub-mkconfig"]):
        return "grub_dropin"
    raise SriovError(
        "No supported way to set persistent kernel arguments was found: looked for rpm-ostree "
        "(with %s), grubby, and %s with update-grub or grub-mkconfig. Set backend explicitly if the "
        "host has one of them elsewhere." % (OSTREE_BOOTED, GRUB_DEFAULT_FILE))


def make_backend(host, name):
    if name == "grubby":
        return GrubbyBackend(host)
    if name == "rpm_ostree":
        return RpmOstreeBackend(host)
    if name == "grub_dropin":
        return GrubDropinBackend(host)
    raise SriovError("backend %r is not supported; valid: auto, %s." % (name, ", ".join(BACKENDS)))


def manage_kernel_args(host, present=None, absent=None, backend="auto", check_mode=False, want_diff=False):
    """Bring the persistent kernel arguments to the requested state. Returns the module result."""
    present, absent = validate_request(present, absent)
    if not present and not absent:
        raise SriovError("Nothing to do: give at least one argument in present or absent.")
    name = detect_backend(host) if backend == "auto" else backend
    impl = make_backend(host, name)
    proc_tokens = read_proc_cmdline(host)
    plan = impl.plan(present, absent)
    after = plan.after
    if plan.changed and not check_mode:
        impl.apply(plan)
        after, wrong = impl.verify(present, absent)
        if wrong:
            raise SriovError(
                "The %s back end ran but %s still do not have the requested arguments (%s)."
                % (name, ", ".join(wrong), " ".join(present + ["-" + a for a in absent])),
                args_after=after)
    missing, unwanted = running_mismatch(proc_tokens, present, absent)
    result = {
        "changed": plan.changed,
        "backend": name,
        "args_before": plan.before,
        "args_after": after,
        "added": [t for t in after if t not in plan.before],
        "removed": [t for t in plan.before if t not in after],
        "running_args": proc_tokens,
        "reboot_required": bool(missing or unwanted),
        "pending_args": missing,
        "pending_removals": unwanted,
        "commands": [list(c) for c in plan.commands] if plan.changed else [],
    }
    if "dropin_path" in plan.details:
        result["dropin_path"] = plan.details["dropin_path"]
    if want_diff:
        tracker = ChangeTracker()
        label = "persistent kernel arguments (%s)" % name
        tracker.add_file(label, "\n".join(plan.before) + "\n", "\n".join(after) + "\n")
        for path, old, new in plan.files:
            tracker.add_file(path, old, new)
        diff = tracker.diff()
        result["diff"] = diff if isinstance(diff, list) else [diff]
    return result
