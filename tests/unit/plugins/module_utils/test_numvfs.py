# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import time

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _libvirt
from ansible_collections.virt.sriov.plugins.module_utils import _numvfs
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError
from ansible_collections.virt.sriov.tests.unit.fakehost import FakeWriter
from ansible_collections.virt.sriov.tests.unit.fakelibvirt import (
    Clock,
    FakeConn,
    NetworkControl,
    guest,
    hostdev_pool,
    usage_of,
)

PF1 = "0000:01:00.0"
PF2 = "0000:02:00.0"


def no_commands(argv, **kwargs):
    raise AssertionError("unexpected command %r" % (argv,))


@pytest.mark.parametrize("value, expected", [
    (0, 0), (4, 4), ("4", 4), (" 7 ", 7), ("max", "max"), ("MAX", "max"), ("+3", 3),
])
def test_parse_num_vfs_valid(value, expected):
    assert _numvfs.parse_num_vfs(value) == expected


@pytest.mark.parametrize("value", [-1, "-2", "4.5", 4.0, True, None, "four", "", "4\n5", [4], "\u0663"])
def test_parse_num_vfs_invalid(value):
    with pytest.raises(SriovError) as info:
        _numvfs.parse_num_vfs(value)
    assert "num_vfs" in info.value.msg and "'max'" in info.value.msg


def test_plan_same_count_no_change(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    plan = _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=4)
    assert not plan.changed
    assert plan.actions() == []


def test_plan_max_and_absent(fake):
    fake.add_pf(PF1, "enp1s0", totalvfs=7, numvfs=2)
    plan = _numvfs.plan_numvfs(fake.host(), pci_address="01:00.0", num_vfs="max")
    assert (plan.before, plan.target) == (2, 7)
    assert plan.actions() == ["write 0 to sriov_numvfs (remove 2 VFs)", "write 7 to sriov_numvfs"]
    plan = _numvfs.plan_numvfs(fake.host(), pf="enp1s0", state="absent")
    assert plan.target == 0 and plan.removes_vfs


def test_plan_above_totalvfs_names_limit(fake):
    fake.add_pf(PF1, "enp1s0", totalvfs=7)
    with pytest.raises(SriovError) as info:
        _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=8)
    assert "at most 7" in info.value.msg and "enp1s0" in info.value.msg


def test_plan_vf_given_as_pf(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=2)
    with pytest.raises(SriovError) as info:
        _numvfs.plan_numvfs(fake.host(), pf="enp1s0v0", num_vfs=2)
    assert "virtual function of PF 0000:01:00.0" in info.value.msg


@pytest.mark.parametrize("name", ["nope0", 'en"p1', "enp1s0\nx", "a/b"])
def test_plan_unknown_or_bad_pf(fake, name):
    fake.add_pf(PF1, "enp1s0")
    with pytest.raises(SriovError) as info:
        _numvfs.plan_numvfs(fake.host(), pf=name, num_vfs=2)
    assert repr(name) in info.value.msg


def test_plan_no_driver_enoent(fake):
    fake.add_pf(PF1, "enp1s0", driver=False)
    with pytest.raises(SriovError) as info:
        _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=2)
    assert "no driver bound" in info.value.msg


def test_plan_link_up(fake):
    fake.add_pf(PF1, "enp1s0", operstate="down")
    fake.write("sys/class/net/enp1s0/flags", "0x1002\n")
    plan = _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=2)
    assert plan.link_up_needed
    assert not _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=2, link_up=False).link_up_needed
    fake.write("sys/class/net/enp1s0/flags", "0x1003\n")
    assert not _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=2).link_up_needed


def test_apply_zero_first_then_n(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)
    writer = FakeWriter(fake)
    clock = Clock()
    warnings = _numvfs.apply_numvfs(host, plan, writer=writer, clock=clock, sleep=clock.sleep)
    assert writer.writes == [0, 2]
    assert warnings == []
    assert fake.read("sys/bus/pci/devices/%s/sriov_numvfs" % PF1).strip() == "2"


def test_apply_from_zero_writes_once(fake):
    fake.add_pf(PF1, "enp1s0")
    host = fake.host()
    writer = FakeWriter(fake)
    _numvfs.apply_numvfs(host, _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=3), writer=writer)
    assert writer.writes == [3]


@pytest.mark.parametrize("code, needle", [
    (errno.ERANGE, "limit of 7"),
    (errno.ENOENT, "does not support SR-IOV"),
    (errno.EBUSY, "only through 0"),
    (errno.EPERM, "assigned to a guest"),
    (errno.ENOMEM, "pci=realloc"),
    (errno.ENOSPC, "no resources left"),
    (errno.EIO, "refused the write"),
])
def test_apply_errno_explained(fake, code, needle):
    fake.add_pf(PF1, "enp1s0")
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=3)
    with pytest.raises(SriovError) as info:
        _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake, fail={3: code}))
    assert needle in info.value.msg
    assert errno.errorcode[code] in info.value.msg
    assert "enp1s0 (0000:01:00.0)" in info.value.msg


def stuck_write(fake, hang, reads, vfio_vf=None):
    """The error of apply_numvfs 4 -> 2 on PF1 when the write of ``hang`` never returns and
    sriov_numvfs then reads ``reads``; VF ``vfio_vf`` is bound to vfio-pci (a guest's)."""
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    if vfio_vf is not None:
        fake.bind_vfio(fake.vf_address(PF1, vfio_vf))
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)
    with pytest.raises(SriovError) as info:
        _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake, hang={hang}), timeout=5,
                             reader=lambda path, timeout: reads)
    return info.value


def test_apply_stuck_write_of_zero_with_vfio_blames_the_guest(fake):
    error = stuck_write(fake, hang=0, reads=_numvfs.TIMED_OUT, vfio_vf=1)
    msg = error.msg
    assert "Writing 0 to sriov_numvfs of PF enp1s0 (0000:01:00.0) did not return within 5 s" in msg
    assert "VF(s) 1 are bound to vfio-pci" in msg and "guest" in msg
    assert "did not answer within" in msg  # what the PF holds now: the read back blocks too
    assert error.details["stuck_pid"] == 4242 and error.details["stalled_write"] == 0


def test_apply_stuck_write_of_zero_without_vfio_does_not_blame_guests(fake):
    msg = stuck_write(fake, hang=0, reads="4\n").msg
    assert "guest" not in msg and "vfio" in msg and "driver igb" in msg
    assert "sriov_numvfs reads 4 now" in msg


def test_apply_stuck_write_of_n_names_the_driver(fake):
    error = stuck_write(fake, hang=2, reads="0\n", vfio_vf=1)
    msg = error.msg
    assert msg.startswith("Writing 2 to sriov_numvfs") and "creating the VFs" in msg
    assert "guest" not in msg and "sriov_numvfs reads 0 now" in msg
    assert error.details["stalled_write"] == 2


def test_writes_and_settle_have_separate_deadlines(fake):
    """Each write gets the whole timeout: a slow write of 0 does not eat the write of N's time."""
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)
    clock = Clock()
    seen = []
    inner = FakeWriter(fake)

    def slow_writer(path, value, timeout):
        seen.append(timeout)
        clock.now += 4  # each write takes 4 of the 5 seconds
        return inner(path, value, timeout)

    _numvfs.apply_numvfs(host, plan, writer=slow_writer, timeout=5, clock=clock, sleep=clock.sleep)
    assert seen == [5, 5]


def test_unstarted_writer_is_killed_before_reporting(tmp_path):
    """A child that misses its start deadline is killed: it never writes afterwards."""
    target = tmp_path / "sriov_numvfs"
    target.write_text("0\n")
    # a start deadline of 0 s: the child cannot have printed its R yet
    result = _numvfs.run_child(_numvfs.WRITER_PROGRAM, [str(target), "4\n"], 10, start_timeout=0)
    assert result.timed_out and not result.started
    time.sleep(1.5)  # a surviving child would have written by now
    assert target.read_text() == "0\n"
    with pytest.raises(OSError):
        os.kill(result.pid, 0)


def test_unstarted_writer_message(fake):
    fake.add_pf(PF1, "enp1s0")
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)

    def never_started(path, value, timeout):
        return _numvfs.WriteResult(timed_out=True, pid=1, started=False)

    with pytest.raises(SriovError) as info:
        _numvfs.apply_numvfs(host, plan, writer=never_started)
    assert "killed before its write. Nothing was written." in info.value.msg


def test_apply_driver_enables_fewer(fake):
    fake.add_pf(PF1, "enp1s0")
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=6)
    clock = Clock()
    with pytest.raises(SriovError) as info:
        _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake, partial={6: 3}), timeout=5,
                             clock=clock, sleep=clock.sleep)
    assert "Asked for 6 VFs" in info.value.msg and "enabled 3" in info.value.msg
    assert clock.now - 1000.0 <= 6  # bounded by the timeout, not forever


def test_apply_missing_netdevs_warns_bounded(fake):
    fake.add_pf(PF1, "enp1s0")
    host = fake.host()
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)
    clock = Clock()
    warnings = _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake, vf_driver=False), timeout=3,
                                    clock=clock, sleep=clock.sleep)
    assert len(warnings) == 1 and "no host network interface" in warnings[0]
    # with autoprobe off no netdev is expected
    fake.set_numvfs(PF1, 0)
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2, drivers_autoprobe=False)
    warnings = _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake, vf_driver=False), timeout=3,
                                    clock=clock, sleep=clock.sleep)
    assert warnings == []
    assert fake.read("sys/bus/pci/devices/%s/sriov_drivers_autoprobe" % PF1).strip() == "0"


def test_apply_runs_udevadm_settle_and_link_up(fake):
    fake.add_pf(PF1, "enp1s0", operstate="down")
    fake.write("sys/class/net/enp1s0/flags", "0x1002\n")
    fake.add_program("usr/bin/udevadm")
    calls = []

    def commands(argv, **kwargs):
        calls.append(argv)
        return 0, "", ""

    host = fake.host(run_command=commands)
    plan = _numvfs.plan_numvfs(host, pf="enp1s0", num_vfs=2)
    _numvfs.apply_numvfs(host, plan, writer=FakeWriter(fake), timeout=30)
    assert calls[0] == ["ip", "link", "set", "dev", "enp1s0", "up"]
    assert calls[1][:2] == ["/usr/bin/udevadm", "settle"]


def test_find_vf_users_sysfs_and_libvirt(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    vf1 = fake.vf_address(PF1, 1)
    fake.bind_vfio(vf1)
    usage = usage_of(fake, domains=[guest("offVM", [fake.vf_address(PF1, 2)], running=False)])
    busy = _numvfs.find_vf_users(fake.host(), PF1, usage)
    assert [b["index"] for b in busy] == [1, 2]
    assert "vfio-pci" in busy[0]["users"][0] and not busy[0]["running_guest"]
    assert busy[1]["users"] == ["domain offVM (shut off)"]
    plan = _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=2)
    with pytest.raises(SriovError) as info:
        _numvfs.check_removal_allowed(fake.host(), plan, usage)
    assert "VF 1 (%s)" % vf1 in info.value.msg and "offVM" in info.value.msg
    busy, restart = _numvfs.check_removal_allowed(fake.host(), plan, usage, force=True)
    assert len(busy) == 2 and restart == []


def test_running_guest_is_refused_even_with_force(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    vf = fake.vf_address(PF1, 3)
    fake.bind_vfio(vf)
    writer = FakeWriter(fake)
    usage = usage_of(fake, domains=[guest("guestVM", [vf])])
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 2, "force": True}, writer=writer,
                           usage_loader=lambda h: (usage, None))
    assert "running guests hold these" in info.value.msg and "guestVM" in info.value.msg
    assert "force=true does not override" in info.value.msg
    assert writer.writes == []


def test_pool_with_connections_is_a_running_guest(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    usage = usage_of(fake, networks=[hostdev_pool(connections=1)])
    plan = _numvfs.plan_numvfs(fake.host(), pf="enp1s0", num_vfs=6)
    with pytest.raises(SriovError) as info:
        _numvfs.check_removal_allowed(fake.host(), plan, usage, force=True)
    assert "running guests hold" in info.value.msg and "active hostdev network passthrough" in info.value.msg


class LoggingWriter(FakeWriter):
    def __init__(self, fake, log, **kwargs):
        super(LoggingWriter, self).__init__(fake, **kwargs)
        self.log = log

    def __call__(self, path, value, timeout):
        self.log.append(("write", value.strip()))
        return super(LoggingWriter, self).__call__(path, value, timeout)


def test_idle_pool_is_restarted_around_the_change(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    usage = usage_of(fake, networks=[hostdev_pool()])
    log = []
    control = NetworkControl(log=log)
    params = {"pf": "enp1s0", "num_vfs": 6}
    check = _numvfs.manage_vfs(fake.host(), params, check_mode=True, writer=FakeWriter(fake),
                               usage_loader=lambda h: (usage, None), network_control=control)
    assert check["changed"] and check["restarted_networks"] == ["passthrough"] and log == []
    assert check["actions"][0].startswith("stop hostdev network passthrough")
    assert check["diff"]["after"]["restarted_networks"] == ["passthrough"]
    result = _numvfs.manage_vfs(fake.host(), params, writer=LoggingWriter(fake, log),
                                usage_loader=lambda h: (usage, None), network_control=control)
    assert result["restarted_networks"] == ["passthrough"] and result["vfs_in_use"] == []
    assert log == [("stop", "passthrough"), ("write", "0"), ("write", "6"), ("start", "passthrough")]


def test_idle_pool_is_started_again_when_the_write_fails(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    usage = usage_of(fake, networks=[hostdev_pool()])
    control = NetworkControl()
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 6},
                           writer=FakeWriter(fake, fail={6: errno.ENOMEM}),
                           usage_loader=lambda h: (usage, None), network_control=control)
    assert "pci=realloc" in info.value.msg
    assert control.calls == [("stop", "passthrough"), ("start", "passthrough")]


def test_network_that_does_not_start_again_is_reported(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    usage = usage_of(fake, networks=[hostdev_pool()])
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 6}, writer=FakeWriter(fake),
                           usage_loader=lambda h: (usage, None), network_control=NetworkControl(fail_start=True))
    assert "Restarting hostdev network(s)" in info.value.msg and "No usable Vf's" in info.value.msg
    assert info.value.details["networks_down"] == ["passthrough"]
    assert fake.read("sys/bus/pci/devices/%s/sriov_numvfs" % PF1).strip() == "6"


def test_subprocess_writer_real_file(tmp_path):
    target = tmp_path / "sriov_numvfs"
    target.write_text("0\n")
    result = _numvfs.SubprocessWriter()(str(target), "4\n", 10)
    assert result.ok and target.read_text() == "4\n"


def test_subprocess_writer_errno(tmp_path):
    result = _numvfs.SubprocessWriter()(str(tmp_path / "missing" / "sriov_numvfs"), "4\n", 10)
    assert not result.ok and result.errno == errno.ENOENT


def test_subprocess_writer_hang_is_bounded(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)  # opening a FIFO for writing blocks until a reader comes: a stuck write
    start = time.monotonic()
    result = _numvfs.SubprocessWriter()(fifo, "0\n", 0.5)
    assert result.timed_out and result.pid
    assert time.monotonic() - start < 5
    # release the abandoned child
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    time.sleep(0.2)
    os.close(fd)


def test_manage_vfs_check_mode_predicts(fake):
    fake.add_pf(PF1, "enp1s0")
    writer = FakeWriter(fake)
    result = _numvfs.manage_vfs(fake.host(no_commands), {"pf": "enp1s0", "num_vfs": 4}, check_mode=True,
                                writer=writer)
    assert result["changed"] and result["numvfs_after"] == 4 and result["numvfs_before"] == 0
    assert writer.writes == []
    assert result["diff"] == {"before": {"numvfs": 0}, "after": {"numvfs": 4}}


def test_manage_vfs_refusal_in_check_mode_too(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=2)
    fake.bind_vfio(fake.vf_address(PF1, 0))
    writer = FakeWriter(fake)
    with pytest.raises(SriovError):
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 4}, check_mode=True, writer=writer,
                           usage_loader=lambda h: (None, "no libvirt"))
    assert writer.writes == []


@pytest.mark.parametrize("timeout", [0, -5, True, "10"])
def test_manage_vfs_bad_timeout(fake, timeout):
    fake.add_pf(PF1, "enp1s0")
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 4, "timeout": timeout})
    assert "timeout" in info.value.msg


def test_gather_usage_without_daemon_names_the_reason(fake, monkeypatch):
    def broken(uri, read_only=False):
        raise SriovError("Cannot connect to libvirt at URI 'x'.")

    monkeypatch.setattr(_libvirt, "open_connection", broken)
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", True)
    usage, reason = _numvfs.gather_usage(fake.host(), "x")
    assert usage is None and "libvirt is unreachable" in reason and "Cannot connect" in reason
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", False)
    usage, reason = _numvfs.gather_usage(fake.host(), "x")
    assert usage is None and "python3-libvirt" in reason


def test_gather_usage_error_while_listing(fake, monkeypatch):
    broken = FakeConn(list_error=RuntimeError("internal error: client socket is closed"))
    monkeypatch.setattr(_libvirt, "open_connection", lambda uri, read_only=False: broken)
    monkeypatch.setattr(_libvirt, "HAS_LIBVIRT", True)
    usage, reason = _numvfs.gather_usage(fake.host(), "x")
    assert usage is None and "client socket is closed" in reason


SCAN_ERROR = "libvirt is unreachable (Cannot connect to libvirt at URI 'qemu:///system')"


@pytest.mark.parametrize("check_mode", [True, False])
def test_incomplete_scan_refuses_removal(fake, check_mode):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    writer = FakeWriter(fake)
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 2}, check_mode=check_mode,
                           writer=writer, usage_loader=lambda h: (None, SCAN_ERROR))
    assert "Refusing" in info.value.msg and SCAN_ERROR in info.value.msg and "force=true" in info.value.msg
    assert info.value.details["scan_error"] == SCAN_ERROR
    assert writer.writes == [] and fake.read("sys/bus/pci/devices/%s/sriov_numvfs" % PF1).strip() == "4"


def test_incomplete_scan_with_force_warns_and_changes(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    writer = FakeWriter(fake)
    result = _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 2, "force": True},
                                writer=writer, usage_loader=lambda h: (None, SCAN_ERROR))
    assert writer.writes == [0, 2] and result["changed"]
    assert any("without the libvirt check" in w and SCAN_ERROR in w for w in result["warnings"])


def test_incomplete_scan_does_not_block_creating_vfs(fake):
    fake.add_pf(PF1, "enp1s0")
    writer = FakeWriter(fake)
    result = _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 2}, writer=writer,
                                usage_loader=lambda h: (None, SCAN_ERROR))
    assert writer.writes == [2] and result["changed"]
    assert not [w for w in result["warnings"] if "libvirt" in w]


def test_read_bounded(tmp_path):
    target = tmp_path / "sriov_numvfs"
    target.write_text("4\n")
    assert _numvfs.read_bounded(str(target), 10) == "4"
    assert _numvfs.read_bounded(str(tmp_path / "missing"), 10) is None
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)  # opening a FIFO for reading blocks until a writer comes
    assert _numvfs.read_bounded(fifo, 0.5) is _numvfs.TIMED_OUT
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.close(fd)


def test_blocked_numvfs_read_fails_before_any_change(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    writer = FakeWriter(fake)
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), {"pf": "enp1s0", "num_vfs": 2}, writer=writer,
                           reader=lambda path, timeout: _numvfs.TIMED_OUT)
    assert "did not answer" in info.value.msg and "stuck" in info.value.msg
    assert "enp1s0 (0000:01:00.0)" in info.value.msg
    assert writer.writes == []


def test_autoprobe_alone_keeps_existing_vfs_and_says_so(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    writer = FakeWriter(fake)
    params = {"pf": "enp1s0", "num_vfs": 4, "drivers_autoprobe": False}
    result = _numvfs.manage_vfs(fake.host(), params, writer=writer)
    assert result["changed"] and writer.writes == []
    assert any("4 existing VFs keep their driver binding" in w and "recreate=true" in w for w in result["warnings"])


def test_recreate_rebuilds_vfs_and_is_guarded(fake):
    fake.add_pf(PF1, "enp1s0", numvfs=4)
    fake.bind_vfio(fake.vf_address(PF1, 2))
    params = {"pf": "enp1s0", "num_vfs": 4, "drivers_autoprobe": False, "recreate": True}
    writer = FakeWriter(fake, vf_driver=False)
    with pytest.raises(SriovError) as info:
        _numvfs.manage_vfs(fake.host(), params, writer=writer, usage_loader=lambda h: (None, None))
    assert "from 4 to 4" in info.value.msg and writer.writes == []
    fake.bind(fake.vf_address(PF1, 2), "igbvf")
    check = _numvfs.manage_vfs(fake.host(), params, check_mode=True, writer=writer)
    assert check["actions"] == ["set sriov_drivers_autoprobe to 0",
                                "write 0 to sriov_numvfs (remove 4 VFs, to create them again)",
                                "write 4 to sriov_numvfs"]
    result = _numvfs.manage_vfs(fake.host(), params, writer=writer)
    assert result["changed"] and writer.writes == [0, 4]
    assert not any("keep their driver" in w for w in result["warnings"])
    again = _numvfs.manage_vfs(fake.host(), params, writer=writer)
    assert not again["changed"] and writer.writes == [0, 4]
