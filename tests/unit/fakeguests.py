# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fake libvirt domains and connections for the guest shutdown/start tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.virt.sriov.plugins.module_utils import _running_guests as lg


class FakeLibvirtError(Exception):
    def __init__(self, msg, code):
        super(FakeLibvirtError, self).__init__(msg)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return str(self)


class FakeDomain(object):
    """A domain; ``answers_acpi=False`` is a guest without an OS (like the lab's guestVM)."""

    def __init__(self, name, active=True, persistent=True, answers_acpi=True, start_error=None):
        self._name = name
        self.active = active
        self.persistent = persistent
        self.answers_acpi = answers_acpi
        self.start_error = start_error
        self.calls = []
        self.undefined = False

    def name(self):
        return self._name

    def UUIDString(self):
        return "uuid-" + self._name

    def _alive(self):
        if self.undefined:
            raise FakeLibvirtError("Domain not found: no domain with matching name", lg.VIR_ERR_NO_DOMAIN)

    def isActive(self):
        self._alive()
        return self.active

    def isPersistent(self):
        self._alive()
        return self.persistent

    def shutdown(self):
        self.calls.append("shutdown")
        if self.answers_acpi:
            self.active = False

    def destroy(self):
        self.calls.append("destroy")
        self.active = False

    def create(self):
        self.calls.append("create")
        if self.start_error:
            raise FakeLibvirtError(self.start_error, 1)
        self.active = True


class FakeConn(object):
    def __init__(self, *domains):
        self.domains = list(domains)

    def listAllDomains(self, flags):
        assert flags == lg.VIR_CONNECT_LIST_DOMAINS_ACTIVE
        return [d for d in self.domains if d.undefined or d.active]

    def _find(self, pred):
        for d in self.domains:
            if pred(d) and not d.undefined:
                return d
        raise FakeLibvirtError("Domain not found", lg.VIR_ERR_NO_DOMAIN)

    def lookupByName(self, name):
        return self._find(lambda d: d.name() == name)

    def lookupByUUIDString(self, uuid):
        return self._find(lambda d: d.UUIDString() == uuid)


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
