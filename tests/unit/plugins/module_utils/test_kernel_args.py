# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.module_utils import _kernel_args as ka
from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

DEBIAN_GRUB = """# a comment mentioning GRUB_CMDLINE_LINUX="ignored"
GRUB_DEFAULT=0
GRUB_TIMEOUT=5
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0,115200n8 net.ifnames=1"
"""

GRUB_CFG = """### BEGIN /etc/grub.d/10_linux ###
menuentry 'Debian GNU/Linux' --class debian {
\tinsmod ext2
\tlinux\t/boot/vmlinuz-6.1.0-40-amd64 root=UUID=abcd ro %s
\tinitrd\t/boot/initrd.img-6.1.0-40-amd64
}
submenu 'Advanced options' {
\tmenuentry 'recovery' {
\t\tlinux\t/boot/vmlinuz-6.1.0-40-amd64 root=UUID=abcd ro single console=ttyS0,115200n8
\t}
}
"""


def recorder(responses=None):
    """A run_command that records argv and answers from ``responses`` (argv tuple prefix -> reply)."""
    calls = []

    def run(argv, **kwargs):
        calls.append(list(argv))
        for prefix, reply in (responses or {}).items():
            if tuple(argv[:len(prefix)]) == prefix:
                return reply(argv) if callable(reply) else reply
        return 0, "", ""

    run.calls = calls
    return run


def make_exec(fake, rel):
    path = fake.write(rel, "#!/bin/sh\n")
    os.chmod(path, 0o755)
    return path


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize("value", ["intel_iommu=on", "iommu=pt", "quiet", "vfio-pci.ids=8086:10ca,8086:10ed",
                                   "console=ttyS0,115200n8", "root=UUID=0d4f-11", "isolcpus=1-3", "a.b_c-d"])
def test_validate_arg_accepts(value):
    assert ka.validate_arg(value) == value


@pytest.mark.parametrize("value, fragment", [
    ("", "name ''"),
    ("intel iommu=on", "name 'intel iommu'"),
    ("intel_iommu=", "empty value"),
    ("=on", "name ''"),
    ("iommu=pt quiet", "whitespace"),
    ("iommu=pt;reboot", "';'"),
    ("iommu=$(id)", "'$'"),
    ("iommu=`id`", "'`'"),
    ('iommu="pt"', "'\"'"),
    ("iommu='pt'", "\"'\""),
    ("iommu=pt\nquiet", "'\\n'"),
    ("iommu=p\\t", "'\\\\'"),
    (u"iommu=p\u00e9", "non-ASCII"),
    ("n$me=1", "name 'n$me'"),
])
def test_validate_arg_rejects(value, fragment):
    with pytest.raises(SriovError) as err:
        ka.validate_arg(value, "present")
    assert fragment in err.value.msg
    assert repr(value) in err.value.msg
    assert err.value.msg.startswith("present: ")


def test_validate_request_conflict():
    with pytest.raises(SriovError, match="both in present"):
        ka.validate_request(["iommu=pt"], ["iommu"])
    with pytest.raises(SriovError, match="both in present"):
        ka.validate_request(["iommu=pt"], ["iommu=pt"])
    # removing another value of a name that is wanted is fine (and redundant)
    assert ka.validate_request(["iommu=pt", "iommu=pt"], ["iommu=off"]) == (["iommu=pt"], ["iommu=off"])


# ------------------------------------------------------------------------------- token logic


def test_parse_cmdline_quotes():
    text = 'BOOT_IMAGE=/boot/vmlinuz ro  dyndbg="file x.c +p"  quiet\n'
    assert ka.split_cmdline(text) == ["BOOT_IMAGE=/boot/vmlinuz", "ro", 'dyndbg="file x.c +p"', "quiet"]


@pytest.mark.parametrize("tokens, present, absent, expected", [
    (["ro", "quiet"], ["intel_iommu=on", "iommu=pt"], [], ["ro", "quiet", "intel_iommu=on", "iommu=pt"]),
    (["ro", "intel_iommu=off", "quiet"], ["intel_iommu=on"], [], ["ro", "quiet", "intel_iommu=on"]),
    (["ro", "intel_iommu=on", "quiet"], ["intel_iommu=on"], [], ["ro", "intel_iommu=on", "quiet"]),
    (["iommu=pt", "iommu=soft", "ro"], [], ["iommu"], ["ro"]),
    (["iommu=pt", "iommu=soft", "ro"], [], ["iommu=soft"], ["iommu=pt", "ro"]),
    (["console=tty0"], ["console=tty0", "console=ttyS0"], [], ["console=tty0", "console=ttyS0"]),
    (["quiet", "quiet"], ["quiet"], [], ["quiet", "quiet"]),
])
def test_apply_request(tokens, present, absent, expected):
    assert ka.apply_request(tokens, present, absent) == expected
    assert ka.request_satisfied(expected, present, absent)


def test_running_mismatch():
    running = ["ro", "intel_iommu=off", "iommu=soft"]
    assert ka.running_mismatch(running, ["intel_iommu=on"], ["iommu"]) == (["intel_iommu=on"], ["intel_iommu=off", "iommu=soft"])
    assert ka.running_mismatch(running, [], ["iommu=soft"]) == ([], ["iommu=soft"])
    assert ka.running_mismatch(["ro", "intel_iommu=on", "iommu=pt"], ["intel_iommu=on", "iommu=pt"], []) == ([], [])


# ------------------------------------------------------------------------------- grub files


@pytest.mark.parametrize("line, expected", [
    ('GRUB_CMDLINE_LINUX="a b=1"', ["a", "b=1"]),
    ("GRUB_CMDLINE_LINUX='a $b'", ["a", "$b"]),
    ("GRUB_CMDLINE_LINUX=a", ["a"]),
    ("GRUB_CMDLINE_LINUX=", []),
    ('export GRUB_CMDLINE_LINUX="a"  # comment', ["a"]),
    ('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX c"', ["x", "c"]),
    ('GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX} c"', ["x", "c"]),
    ('GRUB_CMDLINE_LINUX="c $GRUB_CMDLINE_LINUX_DEFAULT"', ["c", "d"]),
])
def test_evaluate_grub_files_forms(line, expected):
    files = [("/etc/default/grub", 'GRUB_CMDLINE_LINUX="x"\nGRUB_CMDLINE_LINUX_DEFAULT="d"\n'),
             ("/etc/default/grub.d/t.cfg", line + "\n")]
    env = ka.evaluate_grub_files(files)
    assert [t for t, _p in env["GRUB_CMDLINE_LINUX"]] == expected


@pytest.mark.parametrize("line", [
    'GRUB_CMDLINE_LINUX="$(cat /x)"',
    'GRUB_CMDLINE_LINUX="$OTHER a"',
    'GRUB_CMDLINE_LINUX="a \\"b\\""',
    'GRUB_CMDLINE_LINUX="`id`"',
    'GRUB_CMDLINE_LINUX="a"b',
    'GRUB_CMDLINE_LINUX="${GRUB_CMDLINE_LINUX}x"',
    'GRUB_CMDLINE_LINUX="unterminated',
    "GRUB_CMDLINE_LINUX=$foo",
    '[ -e /x ] && GRUB_CMDLINE_LINUX="a"',
])
def test_evaluate_grub_files_refuses(line):
    with pytest.raises(SriovError) as err:
        ka.evaluate_grub_files([("/etc/default/grub.d/t.cfg", line + "\n")])
    assert "/etc/default/grub.d/t.cfg line 1" in err.value.msg


def test_evaluate_grub_files_origins():
    env = ka.evaluate_grub_files([
        ("/etc/default/grub", 'GRUB_CMDLINE_LINUX="a b"\n'),
        ("/etc/default/grub.d/50-x.cfg", 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX c"\n'),
    ])
    assert env["GRUB_CMDLINE_LINUX"] == [("a", ("/etc/default/grub", 1)), ("b", ("/etc/default/grub", 1)),
                                         ("c", ("/etc/default/grub.d/50-x.cfg", 1))]


def test_parse_grub_cfg_default_args():
    assert ka.parse_grub_cfg_default_args(GRUB_CFG % "console=ttyS0 quiet") == ["root=UUID=abcd", "ro", "console=ttyS0", "quiet"]
    assert ka.parse_grub_cfg_default_args("set timeout=0\n") is None


# ------------------------------------------------------------------------------- detection


def test_detect_backend(fake):
    host = fake.host()
    with pytest.raises(SriovError, match="No supported way"):
        ka.detect_backend(host)
    fake.write("etc/default/grub", DEBIAN_GRUB)
    make_exec(fake, "usr/sbin/update-grub")
    assert ka.detect_backend(host) == "grub_dropin"
    make_exec(fake, "usr/sbin/grubby")
    assert ka.detect_backend(host) == "grubby"
    fake.write("run/ostree-booted", "")
    with pytest.raises(SriovError, match="rpm-ostree was not found"):
        ka.detect_backend(host)
    make_exec(fake, "usr/bin/rpm-ostree")
    assert ka.detect_backend(host) == "rpm_ostree"


def test_grub_mkconfig_fallback(fake):
    fake.write("etc/default/grub", DEBIAN_GRUB)
    make_exec(fake, "usr/sbin/grub-mkconfig")
    backend = ka.GrubDropinBackend(fake.host())
    assert backend.update_command() == ["/usr/sbin/grub-mkconfig", "-o", "/boot/grub/grub.cfg"]


# ------------------------------------------------------------------------------- grub_dropin end to end


@pytest.fixture
def debian(fake):
    fake.write("etc/default/grub", DEBIAN_GRUB)
    fake.write("boot/grub/grub.cfg", GRUB_CFG % "console=ttyS0,115200n8 net.ifnames=1 quiet")
    make_exec(fake, "usr/sbin/update-grub")
    fake.set_cmdline("BOOT_IMAGE=/boot/vmlinuz-6.1.0-40-amd64 root=UUID=abcd ro console=ttyS0,115200n8 net.ifnames=1 quiet")
    return fake


def update_grub_like(fake):
    """A fake update-grub: regenerate grub.cfg from the files, the way grub-mkconfig would."""
    def reply(argv):
        files = [("/etc/default/grub", fake.read("etc/default/grub"))]
        d = fake.p("etc/default/grub.d")
        for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            if name.endswith(".cfg"):
                files.append(("x", fake.read("etc/default/grub.d/" + name)))
        env = ka.evaluate_grub_files(files)
        args = [t for t, _p in env["GRUB_CMDLINE_LINUX"] + env["GRUB_CMDLINE_LINUX_DEFAULT"]]
        fake.write("boot/grub/grub.cfg", GRUB_CFG % " ".join(args))
        return 0, "Generating grub configuration file ...\ndone\n", ""
    return reply


IOMMU = ["intel_iommu=on", "iommu=pt"]
DROPIN = "etc/default/grub.d/99-virt-sriov.cfg"


def test_grub_dropin_four_steps(debian):
    run = recorder({("/usr/sbin/update-grub",): update_grub_like(debian)})
    host = debian.host(run)

    check = ka.manage_kernel_args(host, present=IOMMU, check_mode=True, want_diff=True)
    assert check["changed"] is True
    assert check["backend"] == "grub_dropin"
    assert check["args_before"] == ["console=ttyS0,115200n8", "net.ifnames=1", "quiet"]
    assert check["args_after"] == ["console=ttyS0,115200n8", "net.ifnames=1", "intel_iommu=on", "iommu=pt", "quiet"]
    assert check["added"] == IOMMU and check["removed"] == []
    assert check["reboot_required"] is True and check["pending_args"] == IOMMU
    assert check["commands"] == [["/usr/sbin/update-grub"]]
    assert run.calls == []
    assert not os.path.exists(debian.p(DROPIN))
    diff = check["diff"]
    assert diff[1]["before_header"] == "/etc/default/grub.d/99-virt-sriov.cfg (absent)"
    assert 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n' in diff[1]["after"]
    assert "intel_iommu=on" in diff[0]["after"] and "intel_iommu=on" not in diff[0]["before"]

    real = ka.manage_kernel_args(host, present=IOMMU, want_diff=True)
    assert real["changed"] is True
    assert real["args_after"] == check["args_after"]
    assert real["diff"] == check["diff"]
    assert run.calls == [["/usr/sbin/update-grub"]]
    assert debian.read(DROPIN) == ka.DROPIN_HEADER + 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n'
    assert oct(os.stat(debian.p(DROPIN)).st_mode & 0o777) == "0o644"
    assert "intel_iommu=on iommu=pt quiet" in debian.read("boot/grub/grub.cfg")

    for check_mode in (True, False):
        again = ka.manage_kernel_args(host, present=IOMMU, check_mode=check_mode)
        assert again["changed"] is False
        assert again["commands"] == []
        assert again["reboot_required"] is True  # not rebooted yet
    assert run.calls == [["/usr/sbin/update-grub"]]

    # after the reboot
    debian.set_cmdline("BOOT_IMAGE=/boot/vmlinuz root=UUID=abcd ro console=ttyS0,115200n8 net.ifnames=1 intel_iommu=on iommu=pt quiet")
    booted = ka.manage_kernel_args(host, present=IOMMU)
    assert booted["changed"] is False and booted["reboot_required"] is False and booted["pending_args"] == []


def test_grub_dropin_already_in_main_file(debian):
    debian.write("etc/default/grub", DEBIAN_GRUB.replace("net.ifnames=1", "net.ifnames=1 intel_iommu=on iommu=pt"))
    debian.write("boot/grub/grub.cfg", GRUB_CFG % "console=ttyS0,115200n8 net.ifnames=1 intel_iommu=on iommu=pt quiet")
    run = recorder()
    result = ka.manage_kernel_args(debian.host(run), present=IOMMU)
    assert result["changed"] is False
    assert run.calls == []
    assert not os.path.exists(debian.p(DROPIN))


def test_grub_dropin_stale_grub_cfg_regenerated(debian):
    """The drop-in is right but update-grub never ran (an earlier run died): regenerate."""
    debian.write(DROPIN, ka.render_dropin(IOMMU))
    run = recorder({("/usr/sbin/update-grub",): update_grub_like(debian)})
    result = ka.manage_kernel_args(debian.host(run), present=IOMMU, want_diff=True)
    assert result["changed"] is True
    assert run.calls == [["/usr/sbin/update-grub"]]
    assert len(result["diff"]) == 1  # no file change, only the regeneration
    assert ka.manage_kernel_args(debian.host(run), present=IOMMU)["changed"] is False


def test_grub_dropin_remove_own_and_delete_file(debian):
    debian.write(DROPIN, ka.render_dropin(["intel_iommu=on", "iommu=pt", "hugepages=16"]))
    run = recorder({("/usr/sbin/update-grub",): update_grub_like(debian)})
    result = ka.manage_kernel_args(debian.host(run), absent=["iommu"])
    assert result["changed"] is True and result["removed"] == ["iommu=pt"]
    assert 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on hugepages=16"' in debian.read(DROPIN)
    result = ka.manage_kernel_args(debian.host(run), absent=["intel_iommu", "hugepages=16"], want_diff=True)
    assert result["changed"] is True
    assert not os.path.exists(debian.p(DROPIN))
    assert result["diff"][1]["after_header"].endswith("(absent)")


def test_grub_dropin_replaces_own_value(debian):
    debian.write(DROPIN, ka.render_dropin(["intel_iommu=off", "quiet2"]))
    run = recorder({("/usr/sbin/update-grub",): update_grub_like(debian)})
    result = ka.manage_kernel_args(debian.host(run), present=["intel_iommu=on"])
    assert 'GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX quiet2 intel_iommu=on"' in debian.read(DROPIN)
    assert result["removed"] == ["intel_iommu=off"] and result["added"] == ["intel_iommu=on"]


def test_grub_dropin_edits_foreign_line_tokenwise(debian):
    main = DEBIAN_GRUB.replace('"quiet"', '"intel_iommu=off quiet iommu=soft"  # keep me')
    debian.write("etc/default/grub", main)
    os.chmod(debian.p("etc/default/grub"), 0o600)
    run = recorder({("/usr/sbin/update-grub",): update_grub_like(debian)})
    check = ka.manage_kernel_args(debian.host(run), present=IOMMU, check_mode=True, want_diff=True)
    assert check["changed"] is True and run.calls == []
    assert [d["after_header"] for d in check["diff"]] == [
        "persistent kernel arguments (grub_dropin)", "/etc/default/grub", "/etc/default/grub.d/99-virt-sriov.cfg"]
    assert debian.read("etc/default/grub") == main
    real = ka.manage_kernel_args(debian.host(run), present=IOMMU)
    assert real["removed"] == ["intel_iommu=off", "iommu=soft"]
    assert real["args_after"] == ["console=ttyS0,115200n8", "net.ifnames=1", "intel_iommu=on", "iommu=pt", "quiet"]
    assert debian.read("etc/default/grub") == main.replace('"intel_iommu=off quiet iommu=soft"', '"quiet"')
    assert oct(os.stat(debian.p("etc/default/grub")).st_mode & 0o777) == "0o600"
    assert ka.manage_kernel_args(debian.host(run), present=IOMMU)["changed"] is False


@pytest.mark.parametrize("line, tokens, expected", [
    ('GRUB_CMDLINE_LINUX="a b c"', ["b"], 'GRUB_CMDLINE_LINUX="a c"'),
    ('GRUB_CMDLINE_LINUX="a b c"', ["a"], 'GRUB_CMDLINE_LINUX="b c"'),
    ('GRUB_CMDLINE_LINUX="a b c"', ["c"], 'GRUB_CMDLINE_LINUX="a b"'),
    ('GRUB_CMDLINE_LINUX="a"', ["a"], 'GRUB_CMDLINE_LINUX=""'),
    ("GRUB_CMDLINE_LINUX='ab a' # x", ["a"], "GRUB_CMDLINE_LINUX='ab' # x"),
    ('GRUB_CMDLINE_LINUX=a.b', ["a.b"], 'GRUB_CMDLINE_LINUX='),
    ('  export GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT x=1 x=1"', ["x=1", "x=1"],
     '  export GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT"'),
])
def test_remove_tokens_from_line(line, tokens, expected):
    assert ka.remove_tokens_from_line(line, tokens) == expected


def test_grub_dropin_overridden_by_later_dropin(debian):
    debian.write("etc/default/grub.d/zz-cloud.cfg", 'GRUB_CMDLINE_LINUX="console=tty0"\n')
    run = recorder()
    with pytest.raises(SriovError) as err:
        ka.manage_kernel_args(debian.host(run), present=IOMMU)
    assert "zz-cloud.cfg" in err.value.msg
    assert run.calls == [] and not os.path.exists(debian.p(DROPIN))


def test_grub_dropin_unreadable_main_file(debian):
    debian.write("etc/default/grub", 'GRUB_CMDLINE_LINUX="$(cat /etc/cmdline)"\n')
    with pytest.raises(SriovError, match="/etc/default/grub line 1"):
        ka.manage_kernel_args(debian.host(recorder()), present=IOMMU)


def test_grub_dropin_update_fails(debian):
    run = recorder({("/usr/sbin/update-grub",): (1, "", "grub-probe: error: failed to get canonical path")})
    with pytest.raises(SriovError, match="canonical path"):
        ka.manage_kernel_args(debian.host(run), present=IOMMU)


def test_grub_dropin_verify_fails_when_grub_cfg_not_updated(debian):
    run = recorder()  # update-grub "succeeds" but changes nothing
    with pytest.raises(SriovError, match="/boot/grub/grub.cfg still do not have"):
        ka.manage_kernel_args(debian.host(run), present=IOMMU)


# ------------------------------------------------------------------------------- grubby
# grubby cannot run here (no RPM-based userland in the lab). The recording follows the output of
# `grubby --info=ALL` as Red Hat's documentation prints it: one block per boot entry with index,
# kernel, args, root, initrd, title and id, the rescue entry last ("Managing, monitoring and
# updating the kernel", RHEL 8, section "Viewing the GRUB menu entry for a kernel",
# https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/8/html/managing_monitoring_and_updating_the_kernel/proc_viewing-the-grub-2-menu-entry-for-a-kernel_assembly_making-persistent-changes-to-the-grub-boot-loader),  # noqa: E501
# with a RHEL 9.4 kernel's names; `--default-index` prints the index alone (grubby(8)).


GRUBBY_INFO = """index=0
kernel="/boot/vmlinuz-5.14.0-427.el9.x86_64"
args="ro crashkernel=1G-4G:192M rhgb quiet %s"
root="/dev/mapper/rhel-root"
initrd="/boot/initramfs-5.14.0-427.el9.x86_64.img"
title="Red Hat Enterprise Linux (5.14.0-427.el9.x86_64) 9.4 (Plow)"
id="abc-5.14.0-427.el9.x86_64"
index=1
kernel="/boot/vmlinuz-0-rescue-abc"
args="ro crashkernel=1G-4G:192M rhgb quiet %s"
root="/dev/mapper/rhel-root"
initrd="/boot/initramfs-0-rescue-abc.img"
title="Red Hat Enterprise Linux (0-rescue-abc) 9.4 (Plow)"
id="abc-0-rescue"
"""


class FakeGrubby(object):
    def __init__(self, args0, args1=None):
        self.args = [args0.split(), (args1 if args1 is not None else args0).split()]

    def __call__(self, argv):
        if argv[1] == "--info=ALL":
            return 0, GRUBBY_INFO % (" ".join(self.args[0]), " ".join(self.args[1])), ""
        if argv[1] == "--default-index":
            return 0, "0\n", ""
        assert argv[1] == "--update-kernel=ALL"
        opt, value = argv[2].split("=", 1)
        for entry in self.args:
            if opt == "--remove-args":
                for token in value.split():
                    name = token.split("=", 1)[0]
                    entry[:] = [t for t in entry if t.split("=", 1)[0] != name]
            else:
                for token in value.split():
                    name = token.split("=", 1)[0]
                    entry[:] = [t for t in entry if t.split("=", 1)[0] != name] + [token]
        return 0, "", ""


@pytest.fixture
def rhel(fake):
    make_exec(fake, "usr/sbin/grubby")
    fake.write("etc/default/grub", 'GRUB_CMDLINE_LINUX="rhgb quiet"\n')
    fake.set_cmdline("BOOT_IMAGE=(hd0,msdos1)/vmlinuz ro crashkernel=1G-4G:192M rhgb quiet")
    return fake


def test_grubby_four_steps(rhel):
    grubby = FakeGrubby("", "intel_iommu=on")
    run = recorder({("/usr/sbin/grubby",): grubby})
    host = rhel.host(run)
    check = ka.manage_kernel_args(host, present=IOMMU, check_mode=True, want_diff=True)
    assert check["backend"] == "grubby" and check["changed"] is True
    assert check["args_after"] == ["ro", "crashkernel=1G-4G:192M", "rhgb", "quiet", "intel_iommu=on", "iommu=pt"]
    assert check["commands"] == [["/usr/sbin/grubby", "--update-kernel=ALL", "--args=intel_iommu=on iommu=pt"]]
    assert all(c[1] != "--update-kernel=ALL" for c in run.calls)
    assert isinstance(check["diff"], list) and "iommu=pt" in check["diff"][0]["after"]

    real = ka.manage_kernel_args(host, present=IOMMU)
    assert real["changed"] is True and real["args_after"] == check["args_after"]
    assert [c for c in run.calls if c[1] == "--update-kernel=ALL"] == check["commands"]
    assert grubby.args[1] == ["intel_iommu=on", "iommu=pt"]
    assert real["reboot_required"] is True

    del run.calls[:]
    for check_mode in (True, False):
        assert ka.manage_kernel_args(host, present=IOMMU, check_mode=check_mode)["changed"] is False
    assert all(c[1] in ("--info=ALL", "--default-index") for c in run.calls)


def test_grubby_only_other_entry_needs_change(rhel):
    grubby = FakeGrubby("intel_iommu=on iommu=pt", "")
    run = recorder({("/usr/sbin/grubby",): grubby})
    result = ka.manage_kernel_args(rhel.host(run), present=IOMMU, check_mode=True)
    assert result["changed"] is True
    assert result["args_before"] == result["args_after"]


def test_grubby_replace_and_remove(rhel):
    grubby = FakeGrubby("intel_iommu=off iommu=soft")
    run = recorder({("/usr/sbin/grubby",): grubby})
    result = ka.manage_kernel_args(rhel.host(run), present=["intel_iommu=on"], absent=["iommu"])
    assert result["commands"] == [
        ["/usr/sbin/grubby", "--update-kernel=ALL", "--remove-args=intel_iommu=off iommu=soft"],
        ["/usr/sbin/grubby", "--update-kernel=ALL", "--args=intel_iommu=on"],
    ]
    assert grubby.args == [["intel_iommu=on"]] * 2


def test_grubby_explicit_backend_missing_binary(fake):
    fake.set_cmdline("ro")

    def run(argv, **kwargs):
        return 127, "", "grubby: not found"

    with pytest.raises(SriovError, match="grubby --info=ALL failed"):
        ka.manage_kernel_args(fake.host(run), present=IOMMU, backend="grubby")


# ------------------------------------------------------------------------------- rpm-ostree
# rpm-ostree cannot run here either. `rpm-ostree kargs` without options prints the kernel
# arguments of the booted deployment on one line; the options --append-if-missing=KEY=VALUE and
# --delete-if-present=KEY=VALUE and the "Staging deployment... / Changes queued for next boot"
# output follow Red Hat's documentation of the command ("Using image mode for RHEL", RHEL 9,
# "How to edit kernel arguments in bootc systems",
# https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/9/html/using_image_mode_for_rhel_to_build_deploy_and_manage_operating_systems/how-to-edit-kernel-arguments-in-bootc-systems_managing-kernel-arguments-in-bootc-systems).  # noqa: E501


class FakeOstree(object):
    def __init__(self, args):
        self.args = args.split()

    def __call__(self, argv):
        if argv == ["/usr/bin/rpm-ostree", "kargs"]:
            return 0, " ".join(self.args) + "\n", ""
        for opt in argv[2:]:
            key, value = opt.split("=", 1)
            if key == "--delete-if-present" and value in self.args:
                self.args.remove(value)
            elif key == "--append-if-missing" and value not in self.args:
                self.args.append(value)
        return 0, "Staging deployment...done\nChanges queued for next boot. Run \"systemctl reboot\" to start a reboot\n", ""


def test_rpm_ostree_four_steps(fake):
    make_exec(fake, "usr/bin/rpm-ostree")
    fake.write("run/ostree-booted", "")
    fake.set_cmdline("BOOT_IMAGE=(hd0,gpt3)/ostree/fedora/vmlinuz rw ostree=/ostree/boot.1 intel_iommu=off")
    ostree = FakeOstree("rw $ignition_firstboot ostree=/ostree/boot.1 intel_iommu=off")
    run = recorder({("/usr/bin/rpm-ostree",): ostree})
    host = fake.host(run)
    check = ka.manage_kernel_args(host, present=IOMMU, check_mode=True)
    assert check["backend"] == "rpm_ostree" and check["changed"] is True
    assert check["commands"] == [["/usr/bin/rpm-ostree", "kargs", "--delete-if-present=intel_iommu=off",
                                  "--append-if-missing=intel_iommu=on", "--append-if-missing=iommu=pt"]]
    assert run.calls == [["/usr/bin/rpm-ostree", "kargs"]]
    real = ka.manage_kernel_args(host, present=IOMMU)
    assert real["args_after"] == ["rw", "$ignition_firstboot", "ostree=/ostree/boot.1", "intel_iommu=on", "iommu=pt"]
    assert real["pending_args"] == ["intel_iommu=on", "iommu=pt"]
    assert real["pending_removals"] == ["intel_iommu=off"] and real["reboot_required"] is True
    for check_mode in (True, False):
        assert ka.manage_kernel_args(host, present=IOMMU, check_mode=check_mode)["changed"] is False


# ------------------------------------------------------------------------------- driver


def test_nothing_requested(fake):
    with pytest.raises(SriovError, match="Nothing to do"):
        ka.manage_kernel_args(fake.host(recorder()), present=[], absent=[])


def test_bad_input_fails_before_any_command(debian):
    run = recorder()
    with pytest.raises(SriovError, match="'iommu=pt;reboot'"):
        ka.manage_kernel_args(debian.host(run), present=["intel_iommu=on", "iommu=pt;reboot"])
    assert run.calls == []
