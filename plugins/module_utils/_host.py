# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Access to the managed host through one root directory and one command runner.

Every file the collection reads or writes goes through ``Host.path()`` so that unit tests can
point a whole module at a fake tree; every command goes through ``Host.run()`` (argv lists only,
never a shell).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import subprocess
import tempfile

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError


# Where commands are looked for on the host (find_binary), in this order.
BIN_DIRS = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# Test and benchmark aid: a host root other than / (a fake sysfs tree), read per Host, never
# cached. Production leaves it unset.
ROOT_ENV = "VIRT_SRIOV_HOST_ROOT"


class Host(object):
    """The managed host, seen through ``root``.

    ``root`` defaults to the ``VIRT_SRIOV_HOST_ROOT`` environment variable when set (used by
    the benchmarks to run many "hosts" on one machine against fake trees), else ``/``.
    """

    def __init__(self, root=None, run_command=None):
        self.root = root or os.environ.get(ROOT_ENV) or "/"
        self._run_command = run_command

    def path(self, *parts):
        """Join ``parts`` below the root: ``host.path('/sys/class/net', name)``."""
        return os.path.join(self.root, os.path.join(*parts).lstrip("/"))

    def exists(self, *parts):
        return os.path.exists(self.path(*parts))

    def read(self, *parts, **kwargs):
        """Return the stripped text of a file, or ``default`` (None) when it cannot be read."""
        default = kwargs.get("default")
        try:
            with open(self.path(*parts), "r") as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return default

    def read_int(self, *parts, **kwargs):
        """Return a file's content as an int (decimal, or hex with 0x), or ``default``."""
        default = kwargs.get("default")
        text = self.read(*parts)
        if text is None:
            return default
        try:
            return int(text, 0)
        except ValueError:
            return default

    def read_text(self, *parts):
        """The exact text of a file (not stripped), or None when it does not exist.

        Unlike ``read``, a file that exists but cannot be read raises SriovError: a caller that
        is about to replace a file must not mistake "unreadable" for "absent".
        """
        full = self.path(*parts)
        try:
            with open(full, "r") as handle:
                return handle.read()
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise SriovError("Cannot read %s: %s" % (os.path.join(*parts), exc.strerror or exc))

    def write_atomic(self, path, text, mode=None):
        """Replace ``path`` with ``text``: temporary file in the same directory, fsync, rename.

        ``mode`` defaults to the mode of the file being replaced, else 0644. Missing parent
        directories are created (0755). Readers never see a half-written file.
        """
        full = self.path(path)
        directory = os.path.dirname(full)
        try:
            if mode is None:
                mode = (os.stat(full).st_mode & 0o7777) if os.path.exists(full) else 0o644
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            fd, tmp = tempfile.mkstemp(prefix=".virt-sriov-", suffix=".tmp", dir=directory)
        except (IOError, OSError) as exc:
            raise SriovError("Cannot write %s: %s" % (path, exc.strerror or exc))
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.rename(tmp, full)
        except (IOError, OSError) as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise SriovError("Cannot write %s: %s" % (path, exc.strerror or exc))

    def remove(self, path):
        """Delete a file; True when it existed, False when it was already absent."""
        try:
            os.unlink(self.path(path))
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise SriovError("Cannot remove %s: %s" % (path, exc.strerror or exc))
        return True

    def listdir(self, *parts):
        """Sorted entries of a directory, or an empty list when it does not exist."""
        try:
            return sorted(os.listdir(self.path(*parts)))
        except (IOError, OSError):
            return []

    def link_name(self, *parts):
        """Base name of a symlink's target (``driver`` -> ``igb``), or None."""
        try:
            target = os.readlink(self.path(*parts))  # one syscall: no lstat first
        except (IOError, OSError):  # absent, or not a link
            return None
        return os.path.basename(os.path.normpath(target))

    def realpath_name(self, *parts):
        """Base name of the fully resolved path (``/sys/class/net/X/device`` -> PCI address)."""
        full = self.path(*parts)
        if not os.path.exists(full):
            return None
        return os.path.basename(os.path.realpath(full))

    def run(self, argv, check=True, data=None):
        """Run ``argv`` (a list, no shell). Return (rc, stdout, stderr).

        With ``check`` a non-zero exit raises SriovError naming the command and its stderr.
        """
        if self._run_command is not None:
            kwargs = {}
            if data is not None:
                kwargs["data"] = data
            rc, out, err = self._run_command(list(argv), **kwargs)
        else:
            try:
                proc = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.PIPE if data is not None else None,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    universal_newlines=True,
                )
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise SriovError("Command %r was not found on the host." % argv[0])
                raise
            out, err = proc.communicate(data)
            rc = proc.returncode
        if check and rc != 0:
            raise SriovError(
                "Command %s failed with exit code %d: %s"
                % (" ".join(argv), rc, (err or out or "").strip()),
                rc=rc,
                stdout=out,
                stderr=err,
            )
        return rc, out, err


def find_binary(host, names):
    """First existing executable among ``names`` in BIN_DIRS on the host (its absolute path as
    seen on the host), or None."""
    for name in names:
        for directory in BIN_DIRS:
            candidate = directory + "/" + name
            full = host.path(candidate)
            if os.path.isfile(full) and os.access(full, os.X_OK):
                return candidate
    return None
