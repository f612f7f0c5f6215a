# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One host-wide lock for the modules that change the host.

Two runs of a playbook against the same host (two AWX jobs, an operator and a cron job) must not
interleave a VF count change, a rule rewrite or a libvirt redefinition. Every mutating module
holds ``/run/virt-sriov.lock`` (``flock``, released by the kernel when the process ends, even
on SIGKILL) for the whole of its work, waits for it a bounded time, and names the holder when
it gives up.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import time
from contextlib import contextmanager

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

LOCK_PATH = "/run/virt-sriov.lock"
DEFAULT_LOCK_TIMEOUT = 300


def _holder(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 256).decode("utf-8", "replace").strip() or "unknown"
    except OSError:
        return "unknown"


@contextmanager
def host_lock(host, owner, timeout=DEFAULT_LOCK_TIMEOUT, poll=0.2, clock=time.monotonic, sleep=time.sleep):
    """Hold the host-wide lock while the block runs.

    ``owner`` is a short text (``sriov_vfs``) written into the lock file with the PID, so a run
    that waits in vain can say who holds it. Raises SriovError after ``timeout`` seconds.
    """
    path = host.path(LOCK_PATH)
    directory = os.path.dirname(path)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SriovError("Cannot open the host lock %s: %s" % (LOCK_PATH, exc.strerror or exc))
    try:
        deadline = clock() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise SriovError("Cannot take the host lock %s: %s" % (LOCK_PATH, exc.strerror or exc))
            if clock() >= deadline:
                raise SriovError(
                    "Another virt.sriov change is running on this host (%s holds %s) and did not "
                    "finish within %d s. Wait for it to end and run again." % (_holder(fd), LOCK_PATH, timeout),
                    lock_holder=_holder(fd),
                )
            sleep(poll)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, ("%s (pid %d)\n" % (owner, os.getpid())).encode("utf-8"))
        yield
    finally:
        os.close(fd)  # releases the flock
