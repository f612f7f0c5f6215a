# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.virt.sriov.plugins.modules import kernel_cmdline

MAIN = 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT=""\nGRUB_CMDLINE_LINUX="console=ttyS0,115200n8 net.ifnames=1"\n'
DROPIN = "etc/default/grub.d/99-virt-sriov.cfg"
IOMMU = ["intel_iommu=on", "iommu=pt"]


@pytest.fixture
def lab_like(fake):
    """What the lab guest booted with --no-iommu-cmdline looks like."""
    fake.write("etc/default/grub", MAIN)
    fake.write("etc/default/grub.d/init-select.cfg", "# This file does nothing\n")
    fake.write("boot/grub/grub.cfg", "menuentry 'Debian' {\n\tlinux\t/boot/vmlinuz root=UUID=u ro console=ttyS0,115200n8 net.ifnames=1 \n}\n")
    path = fake.write("usr/sbin/update-grub", "#!/bin/sh\n")
    os.chmod(path, 0o755)
    fake.set_cmdline("BOOT_IMAGE=/boot/vmlinuz root=UUID=u ro console=ttyS0,115200n8 net.ifnames=1")
    return fake


def update_grub(fake):
    def commands(argv):
        assert argv == ["/usr/sbin/update-grub"]
        text = fake.read("boot/grub/grub.cfg")
        if os.path.exists(fake.p(DROPIN)):
            text = text.replace("net.ifnames=1 ", "net.ifnames=1 intel_iommu=on iommu=pt ")
        fake.write("boot/grub/grub.cfg", text)
        return 0, "", "Generating grub configuration file ...\ndone\n"
    return commands


def test_four_steps(run_module, lab_like):
    args = {"present": IOMMU}
    commands = update_grub(lab_like)

    first = run_module(kernel_cmdline, args, check_mode=True, diff=True, commands=commands)
    assert first["changed"] is True and not first.get("failed"), first
    assert first["reboot_required"] is True
    assert first["dropin_path"] == "/etc/default/grub.d/99-virt-sriov.cfg"
    assert run_module.calls == []
    assert not os.path.exists(lab_like.p(DROPIN))
    assert first["diff"][1]["after"].endswith('GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX intel_iommu=on iommu=pt"\n')

    second = run_module(kernel_cmdline, args, diff=True, commands=commands)
    assert second["changed"] is True
    assert second["args_after"] == ["console=ttyS0,115200n8", "net.ifnames=1", "intel_iommu=on", "iommu=pt"]
    assert second["diff"] == first["diff"]
    assert run_module.calls == [["/usr/sbin/update-grub"]]

    third = run_module(kernel_cmdline, args, check_mode=True, commands=commands)
    fourth = run_module(kernel_cmdline, args, commands=commands)
    assert third["changed"] is False and fourth["changed"] is False
    assert fourth["reboot_required"] is True and fourth["pending_args"] == IOMMU
    assert run_module.calls == [["/usr/sbin/update-grub"]]


@pytest.mark.parametrize("args, fragment", [
    ({"present": ["intel_iommu=on", "iommu=pt; reboot"]}, "'iommu=pt; reboot'"),
    ({"present": ["$(reboot)"]}, "'$(reboot)'"),
    ({"absent": ["iommu=`id`"]}, "absent: 'iommu=`id`'"),
    ({"present": ["iommu=pt"], "absent": ["iommu"]}, "both in present"),
    ({}, "Nothing to do"),
    ({"present": IOMMU, "backend": "lilo"}, "lilo"),
])
def test_bad_input_fails_before_change(run_module, lab_like, args, fragment):
    result = run_module(kernel_cmdline, args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert run_module.calls == []
    assert not os.path.exists(lab_like.p(DROPIN))


def test_no_backend(run_module, fake):
    fake.set_cmdline("ro")
    result = run_module(kernel_cmdline, {"present": IOMMU})
    assert result["failed"] is True
    assert "No supported way" in result["msg"]


def test_explicit_backend_grubby(run_module, lab_like):
    def commands(argv):
        if argv[1] == "--info=ALL":
            return 0, 'index=0\nkernel="/boot/vmlinuz"\nargs="ro intel_iommu=on iommu=pt"\n', ""
        if argv[1] == "--default-index":
            return 0, "0\n", ""
        raise AssertionError(argv)

    result = run_module(kernel_cmdline, {"present": IOMMU, "backend": "grubby"}, commands=commands)
    assert result["changed"] is False and result["backend"] == "grubby"
    assert run_module.calls[0] == ["grubby", "--info=ALL"]  # not installed where expected: PATH lookup by name


def test_command_failure_is_a_clean_failure(run_module, lab_like):
    result = run_module(kernel_cmdline, {"present": IOMMU}, commands=lambda argv: (1, "", "grub-probe: error: disk not found"))
    assert result["failed"] is True
    assert "update-grub failed with exit code 1: grub-probe: error: disk not found" in result["msg"]
