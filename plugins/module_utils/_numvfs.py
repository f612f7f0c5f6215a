# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Changing a PF's ``sriov_numvfs`` safely.

The kernel's rules: the same value is a no-op; a different
non-zero value while VFs exist is refused with EBUSY, so the change is 0 first, then N; a write
of 0 while a guest holds a VF through vfio-pci blocks in the kernel, possibly forever, so the
write runs in a child process with a deadline and VFs in use are refused before anything is
written; a driver may enable fewer VFs than asked, so the count is read back.

``plan_numvfs()`` computes what a run would do (it drives check mode, ``changed`` and the
diff); ``apply_numvfs()`` does it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import select
import subprocess
import sys
import time

from ansible_collections.virt.sriov.plugins.module_utils._diff import ChangeTracker
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.plugins.module_utils._host import find_binary
# the count helpers live in a small module of their own (sriov_udev_rule and sriov_vf_settings
# need them without this one); imported here under their old names
from ansible_collections.virt.sriov.plugins.module_utils._numvfs_read import (  # noqa: F401 pylint: disable=unused-import
    PROBE_TIMEOUT,
    TIMED_OUT,
    check_numvfs_answers,
    parse_num_vfs,
    read_bounded,
    resolve_count,
)
from ansible_collections.virt.sriov.plugins.module_utils._sysfs import (
    CLASS_NET,
    PCI_DEVICES,
    read_pf,
    resolve_pf,
    vf_addresses,
)
from ansible_collections.virt.sriov.plugins.module_utils._values import pf_label

DEFAULT_TIMEOUT = 60
# Drivers that mean "this VF is handed to a guest (or about to be)".
PASSTHROUGH_DRIVERS = ("vfio-pci", "pci-stub")
IFF_UP = 0x1
POLL_INTERVAL = 0.2

# Operations that can block in the kernel run in a child process: ``python -I -S -c PROGRAM
# args``. The child first prints ``R`` (ready), so that a slow interpreter start on a loaded host
# is not mistaken for a stuck kernel call, then does the one system call. On failure it prints
# ``<errno> <strerror>`` on stderr and exits 1. A thread would not do: a thread stuck in an
# uninterruptible write keeps the module's process from exiting.
WRITER_PROGRAM = (
    "import os, sys\n"
    "sys.stdout.write('R')\n"
    "sys.stdout.flush()\n"
    "try:\n"
    "    fd = os.open(sys.argv[1], os.O_WRONLY)\n"
    "    try:\n"
    "        os.write(fd, sys.argv[2].encode('ascii'))\n"
    "    finally:\n"
    "        os.close(fd)\n"
    "except OSError as exc:\n"
    "    sys.stderr.write('%d %s' % (exc.errno or 0, exc.strerror or ''))\n"
    "    sys.exit(1)\n"
)
# How long a child may take to start (import nothing, print "R") on a loaded host.
START_TIMEOUT = 120


class WriteResult(object):
    """Outcome of one bounded child operation: ``ok`` (with ``output``), or ``errno``/``message``,
    or ``timed_out`` (``started`` False when the child never got to the system call)."""

    def __init__(self, ok=False, err=None, message=None, timed_out=False, pid=None, output=None,
                 started=True):
        self.ok = ok
        self.errno = err
        self.message = message
        self.timed_out = timed_out
        self.pid = pid
        self.output = output
        self.started = started


def _kill_unstarted(proc, out_fd, grace=1.0):
    """Kill a child that missed its start deadline. True when it provably never got to its
    system call: it died from the signal without having printed its ``R``."""
    try:
        proc.kill()
    except OSError:
        pass
    end = time.monotonic() + grace
    while proc.poll() is None and time.monotonic() < end:
        time.sleep(0.02)
    if proc.poll() is None:
        return False  # not dead: it may sit in the kernel already
    ready, _w, _x = select.select([out_fd], [], [], 0)
    return not (ready and os.read(out_fd, 1) == b"R")


def run_child(program, args, timeout, start_timeout=START_TIMEOUT):
    """Run ``program`` in a child Python and wait at most ``timeout`` seconds once it is ready.

    A child that does not print its ``R`` within ``start_timeout`` is killed, and reported as
    never started only when it died without having printed it. On a timeout after the start the
    child is abandoned (it may sit in the kernel in D state, where no signal reaches it); the
    module's own process stays free to report.
    """
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", program] + list(args),
        close_fds=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    out_fd = proc.stdout.fileno()
    start_deadline = time.monotonic() + start_timeout
    while True:
        remaining = start_deadline - time.monotonic()
        if remaining <= 0:
            if _kill_unstarted(proc, out_fd):
                return WriteResult(timed_out=True, pid=proc.pid, started=False)
            return WriteResult(timed_out=True, pid=proc.pid)
        ready, _w, _x = select.select([out_fd], [], [], min(remaining, 0.5))
        if ready:
            os.read(out_fd, 1)  # the "R", or b"" when the child died early
            break
        if proc.poll() is not None:
            break
    deadline = time.monotonic() + max(timeout, 0.1)
    while proc.poll() is None:
        if time.monotonic() >= deadline:
            return WriteResult(timed_out=True, pid=proc.pid)
        time.sleep(0.05)
    output = proc.stdout.read().decode("utf-8", "replace")
    err_text = proc.stderr.read().decode("utf-8", "replace").strip()
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode == 0:
        return WriteResult(ok=True, output=output)
    code, _sep, message = err_text.partition(" ")
    try:
        code = int(code)
    except ValueError:
        code, message = None, err_text or "exit code %d" % proc.returncode
    return WriteResult(err=code, message=message)


class SubprocessWriter(object):
    """Write a value to a sysfs file from a child process, waiting at most ``timeout`` seconds
    once the child is ready (see run_child)."""

    def __init__(self, start_timeout=START_TIMEOUT):
        self.start_timeout = start_timeout

    def __call__(self, path, value, timeout):
        return run_child(WRITER_PROGRAM, [path, value], timeout, start_timeout=self.start_timeout)


# ------------------------------------------------------------------------------------ errno map
def explain_errno(code, message, facts, value):
    """A sentence for a failed write of ``value`` to the PF's sriov_numvfs."""
    label = pf_label(facts)
    name = errno.errorcode.get(code, "errno %s" % code) if code is not None else "error"
    detail = "%s: %s" % (name, message) if message else name
    driver = facts.get("driver")
    if code == errno.ERANGE:
        why = "the value is above the device's limit of %s VFs (sriov_totalvfs)" % facts.get("totalvfs")
    elif code == errno.ENOENT:
        if not driver:
            why = "no driver is bound to the PF (load and bind its network driver first)"
        else:
            why = "driver %s does not support SR-IOV on this device (no sriov_configure)" % driver
    elif code == errno.EBUSY:
        why = ("VFs are already enabled: the kernel changes a non-zero count only through 0 "
               "(another tool may have changed the count at the same time), or the device is busy")
    elif code == errno.EPERM:
        why = ("the driver refuses to remove VFs that are assigned to a guest: detach the VFs from "
               "their guests first")
    elif code == errno.ENOMEM:
        why = ("the PCI resources (MMIO BAR space or bus numbers) for %s VFs are not available: "
               "boot with the kernel argument pci=realloc, or enable SR-IOV / enough BAR space "
               "in the firmware" % value)
    elif code == errno.ENOSPC:
        why = ("the driver has no resources left (queues, interrupt vectors or firmware slots) "
               "for %s VFs: ask for fewer VFs or change the device's firmware configuration" % value)
    elif code == errno.EINVAL:
        why = "the driver rejected the value"
    elif code == errno.EACCES:
        why = "permission denied: the module must run as root (become: true)"
    else:
        why = "the kernel or driver %s refused the write" % (driver or "(none)")
    return "Writing %s to sriov_numvfs of PF %s failed (%s): %s." % (value, label, detail, why)


# ---------------------------------------------------------------------------------------- plan
def _admin_up(host, netdev):
    flags = host.read_int(CLASS_NET, netdev, "flags")
    if flags is not None:
        return bool(flags & IFF_UP)
    return host.read(CLASS_NET, netdev, "operstate") == "up"


class NumvfsPlan(object):
    """What a run does for one PF. ``changes`` lists the actions, in order."""

    def __init__(self, address, facts, before, target, autoprobe_before, autoprobe_after, link_up_needed,
                 recreate=False):
        self.address = address
        self.recreate = recreate
        self.facts = facts
        self.before = before
        self.target = target
        self.autoprobe_before = autoprobe_before
        self.autoprobe_after = autoprobe_after
        self.link_up_needed = link_up_needed

    @property
    def recreates(self):
        """Only autoprobe changes while VFs exist, and ``recreate`` asks to rebuild them."""
        return bool(self.recreate and self.autoprobe_change and self.before > 0 and self.before == self.target)

    @property
    def count_change(self):
        return self.before != self.target or self.recreates

    def autoprobe_warning(self):
        """The sentence for an autoprobe change that leaves existing VFs as they are, or None."""
        if not self.autoprobe_change or self.before == 0 or self.count_change:
            return None
        return ("sriov_drivers_autoprobe of PF %s changes to %d, which applies to VFs created "
                "afterwards: its %d existing VFs keep their driver binding. Set recreate=true to "
                "remove and create them again (guarded like any count change)."
                % (self.label, int(self.autoprobe_after), self.before))

    @property
    def removes_vfs(self):
        return self.count_change and self.before > 0

    @property
    def autoprobe_change(self):
        return self.autoprobe_after is not None and self.autoprobe_after != self.autoprobe_before

    @property
    def changed(self):
        return self.count_change or self.autoprobe_change or self.link_up_needed

    @property
    def label(self):
        return pf_label(self.facts)

    def actions(self):
        """Human list of the steps, in the order apply_numvfs() performs them."""
        steps = []
        if self.autoprobe_change:
            steps.append("set sriov_drivers_autoprobe to %d" % int(self.autoprobe_after))
        if self.link_up_needed:
            steps.append("bring PF link %s up" % self.facts["netdev"])
        if self.count_change:
            if self.before > 0:
                steps.append("write 0 to sriov_numvfs (remove %d VFs%s)" % (
                    self.before, ", to create them again" if self.recreates else ""))
            if self.target > 0:
                steps.append("write %d to sriov_numvfs" % self.target)
        return steps


def plan_numvfs(host, pf=None, pci_address=None, num_vfs=None, state="present",
                drivers_autoprobe=None, link_up=True, reader=None, recreate=False):
    """Validate the request against the PF and return a NumvfsPlan (nothing is written)."""
    if state not in ("present", "absent"):
        raise SriovError("Invalid state %r: expected 'present' or 'absent'." % (state,))
    if state == "present":
        if num_vfs is None:
            raise SriovError("num_vfs is required with state=present: an integer or 'max'.")
        wanted = parse_num_vfs(num_vfs)
    else:
        wanted = 0
        if num_vfs is not None and parse_num_vfs(num_vfs) not in (0,):
            raise SriovError(
                "num_vfs=%r contradicts state=absent (which means 0 VFs): omit num_vfs or use "
                "state=present." % (num_vfs,)
            )
    address = resolve_pf(host, pf=pf, pci_address=pci_address)
    check_numvfs_answers(host, address, "%s (%s)" % (pf, address) if pf else str(address), reader=reader)
    facts = read_pf(host, address)
    target = resolve_count(wanted, facts)
    if target > 0 and not facts.get("driver"):
        raise SriovError(
            "PF %s has no driver bound: the kernel cannot create VFs without one (ENOENT). Load "
            "and bind its network driver first." % pf_label(facts)
        )
    if drivers_autoprobe is not None and facts.get("drivers_autoprobe") is None:
        raise SriovError(
            "PF %s has no sriov_drivers_autoprobe attribute (kernel too old?): omit "
            "drivers_autoprobe." % pf_label(facts)
        )
    autoprobe_after = None if drivers_autoprobe is None else bool(drivers_autoprobe)
    link_up_needed = bool(link_up and target > 0 and facts.get("netdev")
                          and not _admin_up(host, facts["netdev"]))
    return NumvfsPlan(address, facts, facts.get("numvfs") or 0, target, facts.get("drivers_autoprobe"),
                      autoprobe_after, link_up_needed, recreate=bool(recreate))


# ---------------------------------------------------------------------------------------- usage
def gather_usage(host, uri):
    """Scan libvirt once for VF users. Return (VfUsage, None), or (None, reason) when the scan
    could not complete; the reason names why (bindings missing, daemon unreachable, an error
    while listing). Never raises: the caller decides whether an incomplete scan may pass.
    The libvirt layer is imported here, by the runs that scan, not when the module loads
    (sriov_udev_rule and sriov_vf_settings use this module's count helpers only)."""
    from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
    from ansible_collections.virt.sriov.plugins.module_utils._vf_usage import collect_vf_usage

    if not _libvirt.HAS_LIBVIRT:
        return None, ("python3-libvirt (libvirt-python) is not installed on the host, so VF users "
                      "in libvirt domains and networks cannot be checked")
    try:
        with _libvirt.open_connection(uri, read_only=True) as conn:
            return collect_vf_usage(conn, host), None
    except SriovError as exc:
        return None, "libvirt is unreachable (%s)" % exc.msg.rstrip(".")
    except Exception as exc:  # pylint: disable=broad-except
        return None, "the scan of libvirt domains and networks failed (%s)" % (
            str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_scan_complete(plan, scan_error, force=False, what=None):
    """Refuse a change that removes or renumbers VFs when the libvirt scan did not complete.

    Without the scan, shut-off guests whose definition names a VF and active hostdev networks
    are invisible; only sysfs (vfio-pci, pci-stub) is left. ``force`` lets the change through
    with a warning (returned), otherwise SriovError names the reason.
    """
    if not scan_error or not plan.removes_vfs:
        return []
    what = what or "change the VF count of PF %s from %d to %d" % (plan.label, plan.before, plan.target)
    if not force:
        raise SriovError(
            "Refusing to %s: the change removes every existing VF, and whether libvirt guests or "
            "hostdev networks use them could not be checked: %s. Make libvirt reachable (start "
            "libvirtd, install python3-libvirt) and run again, or set force=true to change the "
            "count with only the sysfs check (VFs bound to vfio-pci or pci-stub)."
            % (what, scan_error),
            scan_error=scan_error,
        )
    return ["force=true: changing the VF count of PF %s without the libvirt check (%s); only VFs "
            "bound to vfio-pci or pci-stub were looked for." % (plan.label, scan_error)]


def find_vf_users(host, pf_address, usage=None, skip_networks=()):
    """VFs of the PF that something uses: list of {index, pci_address, users[], running_guest}.

    ``skip_networks``: idle hostdev networks that the run stops and starts again around the
    change; they do not count as users."""
    busy = []
    for index, address in vf_addresses(host, pf_address).items():
        users = []
        driver = host.link_name(PCI_DEVICES, str(address), "driver")
        if driver in PASSTHROUGH_DRIVERS:
            users.append("bound to %s (assigned or being assigned to a guest)" % driver)
        running = False
        if usage is not None:
            users.extend(usage.holders(address, skip_networks=skip_networks))
            running = usage.held_by_running_guest(address)
        if users:
            busy.append({"index": index, "pci_address": str(address), "users": users,
                         "running_guest": running})
    return busy


def idle_networks(host, pf_address, usage):
    """Names of the active hostdev networks without connections that include a VF of the PF."""
    if usage is None:
        return []
    names = []
    for address in vf_addresses(host, pf_address).values():
        for name in usage.idle_networks_of(address):
            if name not in names:
                names.append(name)
    return names


def _busy_text(busy):
    return " | ".join("VF %d (%s): %s" % (b["index"], b["pci_address"], "; ".join(b["users"])) for b in busy)


def check_removal_allowed(host, plan, usage=None, force=False):
    """Refuse a change that removes VFs in use, naming each VF and its user.

    Returns (busy VFs let through by ``force``, idle networks to restart around the change).
    A VF held by a running guest is refused even with ``force``: the write of 0 would block in
    the kernel until the guest releases it, possibly forever. Active hostdev networks without
    connections are not users: the caller stops them before the change and starts them after,
    which refreshes their VF list.
    """
    if not plan.removes_vfs:
        return [], []
    restart = idle_networks(host, plan.address, usage)
    busy = find_vf_users(host, plan.address, usage, skip_networks=restart)
    running = [b for b in busy if b["running_guest"]]
    if running:
        raise SriovError(
            "Refusing to change the VF count of PF %s from %d to %d: the change removes every "
            "existing VF and running guests hold these: %s. Removing a VF under a running guest "
            "blocks in the kernel until the guest releases it, so force=true does not override "
            "this. Detach the VFs from the guests (or shut the guests down) first."
            % (plan.label, plan.before, plan.target, _busy_text(running)),
            vfs_in_use=busy,
        )
    if busy and not force:
        raise SriovError(
            "Refusing to change the VF count of PF %s from %d to %d: the change removes every "
            "existing VF and these are in use: %s. Detach them from their guests (and remove them "
            "from the definitions of shut-off guests), or set force=true if none of them is held "
            "by a running program." % (plan.label, plan.before, plan.target, _busy_text(busy)),
            vfs_in_use=busy,
        )
    return busy, restart


def libvirt_network_control(uri):
    """A callable ``control(name, action)`` that stops (``destroy``) or starts (``create``) a
    libvirt network through a read-write connection; failures raise SriovError."""
    def control(name, action):
        from ansible_collections.virt.sriov.plugins.module_utils import _libvirt

        with _libvirt.open_connection(uri) as conn:
            try:
                network = conn.networkLookupByName(name)
                if action == "stop":
                    network.destroy()
                else:
                    network.create()
            except Exception as exc:  # pylint: disable=broad-except
                raise SriovError("Cannot %s the hostdev network %s: %s" % (action, name, exc), network=name)
    return control


def network_actions(networks, actions):
    """The plan's actions with the stop and start of the restarted networks around them."""
    return (["stop hostdev network %s (no guest uses it)" % name for name in networks] + list(actions)
            + ["start hostdev network %s (its VF list refreshed)" % name for name in networks])


def restart_around(networks, control, work):
    """Stop ``networks``, run ``work()``, start them again, also when ``work`` failed.

    A network that does not start again is reported with libvirt's error, next to the error of
    ``work`` if there was one."""
    stopped = []
    failure = None
    try:
        for name in networks:
            control(name, "stop")
            stopped.append(name)
        result = work()
    except SriovError as exc:
        failure = exc
        result = None
    start_errors = []
    for name in stopped:
        try:
            control(name, "start")
        except SriovError as exc:
            start_errors.append(exc.msg)
    if start_errors:
        text = "Restarting hostdev network(s) after the VF count change failed: %s" % " | ".join(start_errors)
        if failure is not None:
            text = "%s Also: %s" % (failure.msg.rstrip("."), text)
        raise SriovError(text, networks_down=stopped)
    if failure is not None:
        raise failure
    return result


# ---------------------------------------------------------------------------------------- apply
class _Deadline(object):
    def __init__(self, seconds, clock):
        self._clock = clock
        self.seconds = seconds
        self._end = clock() + seconds

    def remaining(self):
        return max(self._end - self._clock(), 0.0)

    def expired(self):
        return self._clock() >= self._end


# How long reading sriov_numvfs back after a stuck write may take (it blocks while the write
# holds the device lock).
READBACK_TIMEOUT = 5


def _vfio_vfs(host, address):
    """Indexes of the PF's VFs bound to a passthrough driver (vfio-pci, pci-stub)."""
    return [index for index, vf in vf_addresses(host, address).items()
            if host.link_name(PCI_DEVICES, str(vf), "driver") in PASSTHROUGH_DRIVERS]


def _pf_holds_now(host, plan, reader):
    """What the PF holds now, for a message: read back in a child with a short bound."""
    text = reader(host.path(PCI_DEVICES, str(plan.address), "sriov_numvfs"), READBACK_TIMEOUT)
    if text is TIMED_OUT:
        return ("reading its sriov_numvfs back did not answer within %d s either (the kernel "
                "still holds the device lock)" % READBACK_TIMEOUT)
    if text is None or not text.strip().isdigit():
        return "its sriov_numvfs could not be read back"
    return "sriov_numvfs reads %s now" % text.strip()


def _bounded_write(host, plan, value, writer, seconds, reader=None):
    """Write ``value`` to the PF's sriov_numvfs in a child, bounded by ``seconds`` (its own
    deadline). On a timeout the message says which write stalled and what the PF holds now, and
    blames a guest only for the write of 0 with VFs bound to vfio-pci/pci-stub."""
    reader = reader or read_bounded
    vfio = _vfio_vfs(host, plan.address) if value == 0 else []
    path = host.path(PCI_DEVICES, str(plan.address), "sriov_numvfs")
    result = writer(path, "%d\n" % value, seconds)
    if result.timed_out and not result.started:
        raise SriovError(
            "The helper process that writes %d to sriov_numvfs of PF %s did not start within %d "
            "s (is the host overloaded?) and was killed before its write. Nothing was written."
            % (value, plan.label, START_TIMEOUT),
        )
    if result.timed_out:
        now = _pf_holds_now(host, plan, reader)
        if value == 0 and vfio:
            why = ("the write of 0 (removing the %d VFs) is stuck in the kernel: VF(s) %s are "
                   "bound to vfio-pci/pci-stub, and the kernel waits until the guest that holds "
                   "them releases the device. It completes when the guest is shut down (or virsh "
                   "destroy); until then reading sriov_numvfs blocks and the host logs hung-task "
                   "warnings" % (plan.before, ", ".join(str(i) for i in vfio)))
        elif value == 0:
            why = ("the write of 0 (removing the %d VFs) is stuck in the kernel or the driver; no "
                   "VF was bound to vfio-pci, so look at the driver %s in the kernel log (dmesg)"
                   % (plan.before, plan.facts.get("driver")))
        else:
            why = ("the write of %d (creating the VFs) did not finish: the driver %s is slow or "
                   "stuck creating VFs (firmware, resources); see the kernel log (dmesg)"
                   % (value, plan.facts.get("driver")))
        raise SriovError(
            "Writing %d to sriov_numvfs of PF %s did not return within %d s: %s. The writer "
            "process (pid %s) was left behind; %s. Run again once it has finished."
            % (value, plan.label, seconds, why, result.pid, now),
            stuck_pid=result.pid,
            stalled_write=value,
        )
    if not result.ok:
        raise SriovError(explain_errno(result.errno, result.message, plan.facts, value),
                         errno=errno.errorcode.get(result.errno, result.errno))


def _settle(host, deadline):
    """``udevadm settle`` bounded by the deadline, when the host has udevadm."""
    seconds = int(deadline.remaining())
    if seconds < 1:
        return
    udevadm = find_binary(host, ["udevadm"])
    if udevadm is not None:
        host.run([udevadm, "settle", "--timeout=%d" % seconds], check=False)


def _vfs_ready(host, address, target, autoprobe):
    """(links, missing netdevs) for the PF now."""
    vfs = vf_addresses(host, address)
    missing = []
    if autoprobe:
        for index, vf in vfs.items():
            if not host.listdir(PCI_DEVICES, str(vf), "net"):
                missing.append(index)
    return len(vfs), missing


def wait_for_vfs(host, plan, deadline, sleep=time.sleep):
    """Wait (bounded) for every virtfnN link and, with autoprobe on, every VF netdev.

    Returns a list of warnings (netdevs that did not appear). Fewer VFs than asked is a failure.
    """
    _settle(host, deadline)
    autoprobe = plan.autoprobe_after if plan.autoprobe_after is not None else plan.autoprobe_before
    while True:
        links, missing = _vfs_ready(host, plan.address, plan.target, autoprobe)
        if links >= plan.target and not missing:
            break
        if deadline.expired():
            break
        sleep(POLL_INTERVAL)
    numvfs = host.read_int(PCI_DEVICES, str(plan.address), "sriov_numvfs", default=0)
    if numvfs < plan.target or links < plan.target:
        raise SriovError(
            "Asked for %d VFs on PF %s but driver %s enabled %d (sriov_numvfs reads %d, %d virtfn "
            "links after %d s). The driver accepted the write and created fewer VFs: see the "
            "kernel log (dmesg) for its reason (firmware limits, queues, interrupt vectors)."
            % (plan.target, plan.label, plan.facts.get("driver"), min(numvfs, links), numvfs, links,
               deadline.seconds),
            numvfs=numvfs,
        )
    warnings = []
    if missing:
        warnings.append(
            "VF(s) %s of PF %s have no host network interface after %d s although "
            "sriov_drivers_autoprobe is on: the VF driver may not be installed or still probing."
            % (", ".join(str(i) for i in missing), plan.label, deadline.seconds)
        )
    return warnings


def apply_numvfs(host, plan, writer=None, timeout=DEFAULT_TIMEOUT, clock=time.monotonic, sleep=time.sleep,
                 reader=None):
    """Carry out a plan (the caller has already checked usage). Returns a list of warnings.

    The write of 0, the write of N and the wait for the VFs (udev settle, links, netdevs) each
    get ``timeout`` seconds of their own."""
    writer = writer or SubprocessWriter()
    warnings = []
    if plan.autoprobe_change:
        path = host.path(PCI_DEVICES, str(plan.address), "sriov_drivers_autoprobe")
        try:
            with open(path, "w") as handle:
                handle.write("%d\n" % int(plan.autoprobe_after))
        except (IOError, OSError) as exc:
            raise SriovError("Cannot set sriov_drivers_autoprobe of PF %s: %s" % (plan.label, exc))
    if plan.link_up_needed:
        host.run(["ip", "link", "set", "dev", plan.facts["netdev"], "up"])
    if plan.count_change:
        if plan.before > 0:
            _bounded_write(host, plan, 0, writer, timeout, reader=reader)
        if plan.target > 0:
            _bounded_write(host, plan, plan.target, writer, timeout, reader=reader)
            warnings.extend(wait_for_vfs(host, plan, _Deadline(timeout, clock), sleep=sleep))
    return warnings


def describe(host, address, usage=None, warnings=None):
    """The PF in the shared return shape (docs/docsite/rst/architecture.rst, _sriov_facts.describe_pf).
    Imported here: sriov_udev_rule and sriov_vf_settings load this module for its count helpers
    and never describe a PF, so they do not load the facts and libvirt usage layers."""
    from ansible_collections.virt.sriov.plugins.module_utils._sriov_facts import describe_pf

    return describe_pf(host, address, usage=usage, warnings=warnings)


def manage_vfs(host, params, check_mode=False, writer=None, usage_loader=None, clock=time.monotonic,
               sleep=time.sleep, reader=None, network_control=None):
    """Everything sriov_vfs does. ``params``: the module's parameters. Returns the result dict."""
    timeout = params.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
        raise SriovError("Invalid timeout %r: expected a whole number of seconds >= 1." % (timeout,))
    plan = plan_numvfs(
        host,
        pf=params.get("pf"),
        pci_address=params.get("pci_address"),
        num_vfs=params.get("num_vfs"),
        state=params.get("state", "present"),
        drivers_autoprobe=params.get("drivers_autoprobe"),
        link_up=params.get("link_up", True),
        reader=reader,
        recreate=params.get("recreate", False),
    )
    usage, scan_error = (usage_loader(host) if usage_loader else (None, None))
    warnings = []
    busy = []
    restart = []
    if plan.removes_vfs:
        warnings.extend(check_scan_complete(plan, scan_error, force=params.get("force", False)))
        busy, restart = check_removal_allowed(host, plan, usage, force=params.get("force", False))
        if busy:
            warnings.append("force=true: removing VFs that are in use: %s" % ", ".join(
                "VF %d (%s)" % (b["index"], b["pci_address"]) for b in busy))
    tracker = ChangeTracker()
    tracker.add("numvfs", plan.before, plan.target)
    if plan.autoprobe_after is not None:
        tracker.add("drivers_autoprobe", plan.autoprobe_before, plan.autoprobe_after)
    if plan.link_up_needed:
        tracker.add("link", "down", "up")
    if restart:
        tracker.add("restarted_networks", [], restart)
    if plan.recreates:
        tracker.add("vfs_recreated", False, True)
    if plan.autoprobe_warning():
        warnings.append(plan.autoprobe_warning())
    if plan.changed and not check_mode:
        def work():
            return apply_numvfs(host, plan, writer=writer, timeout=timeout, clock=clock, sleep=sleep,
                                reader=reader)

        warnings.extend(restart_around(restart, network_control, work) if restart else work())
        if plan.count_change and usage is not None:
            # The VF addresses changed: rescan so used_by/networks describe the new VFs.
            usage, _ignored = usage_loader(host)
    pf_data = describe(host, plan.address, usage=usage, warnings=warnings)
    return {
        "changed": plan.changed,
        "pf": pf_data,
        "vfs": pf_data.get("vfs", []),
        "numvfs_before": plan.before,
        "numvfs_after": plan.target if check_mode else pf_data.get("numvfs"),
        "actions": network_actions(restart, plan.actions()),
        "vfs_in_use": busy,
        "restarted_networks": restart,
        "warnings": warnings,
        "diff": tracker.diff(),
    }


__all__ = [
    "DEFAULT_TIMEOUT",
    "NumvfsPlan",
    "SubprocessWriter",
    "WriteResult",
    "apply_numvfs",
    "check_numvfs_answers",
    "check_removal_allowed",
    "check_scan_complete",
    "describe",
    "explain_errno",
    "find_vf_users",
    "idle_networks",
    "libvirt_network_control",
    "network_actions",
    "restart_around",
    "gather_usage",
    "manage_vfs",
    "parse_num_vfs",
    "plan_numvfs",
    "read_bounded",
    "resolve_count",
    "wait_for_vfs",
]
