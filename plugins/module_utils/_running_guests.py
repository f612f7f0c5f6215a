# -*- coding: utf-8 -*-
# Copyright (c) virt.sriov contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running libvirt guests around a host reboot: list them, shut them down (bounded), start them.

Pure functions over open libvirt connections (``conns``: {uri: virConnect}); the module opens
them. A guest is a dict {uri, name, uuid}: the shape the module returns and accepts, so the
list that ``shutdown_guests`` stopped can be handed to ``start_guests`` after the reboot.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.virt.sriov.plugins.module_utils._errors import SriovError

VIR_ERR_NO_DOMAIN = 42  # libvirt.VIR_ERR_NO_DOMAIN, usable without the bindings
VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1  # libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE

ON_TIMEOUT = ("fail", "destroy")


def error_code(exc):
    getter = getattr(exc, "get_error_code", None)
    return getter() if getter is not None else None


def _message(exc):
    getter = getattr(exc, "get_error_message", None)
    return (getter() if getter is not None else None) or str(exc)


def _guest(uri, domain):
    return {"uri": uri, "name": domain.name(), "uuid": domain.UUIDString()}


def label(guest):
    return "%s (%s)" % (guest["name"], guest["uri"])


def list_running(conns):
    """Running guests of every connection, in URI order then name order; a guest that
    disappears while it is read is left out. Also returns the names of transient ones."""
    running = []
    transient = []
    for uri in conns:
        found = []
        for domain in conns[uri].listAllDomains(VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                if not domain.isActive():
                    continue
                guest = _guest(uri, domain)
                if not domain.isPersistent():
                    transient.append(guest)
            except Exception as exc:  # libvirt.libvirtError
                if error_code(exc) == VIR_ERR_NO_DOMAIN:
                    continue
                raise SriovError("Listing the guests of %s failed: %s" % (uri, _message(exc)), uri=uri)
            found.append(guest)
        running.extend(sorted(found, key=lambda g: g["name"]))
    return running, transient


def _lookup(conns, guest):
    """The virDomain of a guest dict (by UUID when given, else by name), or None if undefined."""
    conn = conns[guest["uri"]]
    try:
        if guest.get("uuid"):
            return conn.lookupByUUIDString(guest["uuid"])
        return conn.lookupByName(guest["name"])
    except Exception as exc:  # libvirt.libvirtError
        if error_code(exc) == VIR_ERR_NO_DOMAIN:
            return None
        raise SriovError("Looking up guest %s failed: %s" % (label(guest), _message(exc)), uri=guest["uri"])


def _is_active(domain):
    try:
        return bool(domain.isActive())
    except Exception as exc:  # a transient guest vanishes when it stops
        if error_code(exc) == VIR_ERR_NO_DOMAIN:
            return False
        raise


def shutdown_guests(conns, guests=None, timeout=300, on_timeout="fail", check_mode=False,
                    clock=time.monotonic, sleep=time.sleep, interval=2.0):
    """Shut down ``guests`` (default: every running guest of ``conns``) gracefully and wait.

    Returns {stopped, destroyed, changed}: ``stopped`` every guest that was running and is now
    shut off (destroyed ones included), the list to start again after a reboot. A transient
    guest is refused before anything changes (it would be gone after it stops). Guests still
    running after ``timeout`` seconds are destroyed with ``on_timeout='destroy'``; with
    ``fail`` a SriovError names them and carries ``stopped`` (those that did stop).
    """
    if on_timeout not in ON_TIMEOUT:
        raise SriovError("Invalid on_timeout %r: expected one of %s." % (on_timeout, ", ".join(ON_TIMEOUT)))
    if guests is None:
        targets, _transient = list_running(conns)
    else:
        targets = []
        for guest in guests:
            domain = _lookup(conns, guest)
            if domain is not None and _is_active(domain):
                targets.append(_guest(guest["uri"], domain))
    domains = []
    for guest in targets:
        domain = _lookup(conns, guest)
        if domain is None:
            continue
        if not domain.isPersistent():
            raise SriovError(
                "Guest %s is transient (it has no persistent definition): once shut down it cannot "
                "be started again. Nothing was shut down. Define it (virsh dumpxml NAME > NAME.xml; "
                "virsh define NAME.xml) or stop it yourself first." % label(guest),
                transient=[guest])
        domains.append((guest, domain))
    result = {"stopped": [g for g, _d in domains], "destroyed": [], "changed": bool(domains)}
    if check_mode or not domains:
        return result
    for guest, domain in domains:
        try:
            domain.shutdown()
        except Exception as exc:
            if error_code(exc) != VIR_ERR_NO_DOMAIN and _is_active(domain):
                raise SriovError("Shutting down guest %s failed: %s" % (label(guest), _message(exc)),
                                 stopped=[])
    deadline = clock() + timeout
    remaining = list(domains)
    while True:
        remaining = [(g, d) for g, d in remaining if _is_active(d)]
        if not remaining or clock() >= deadline:
            break
        sleep(interval)
    if remaining and on_timeout == "destroy":
        for guest, domain in remaining:
            try:
                domain.destroy()
            except Exception as exc:
                if error_code(exc) != VIR_ERR_NO_DOMAIN and _is_active(domain):
                    raise SriovError("Destroying guest %s failed: %s" % (label(guest), _message(exc)),
                                     stopped=[g for g, d in domains if (g, d) not in remaining])
            result["destroyed"].append(guest)
        remaining = []
    if remaining:
        left = [g for g, _d in remaining]
        stopped = [g for g, d in domains if (g, d) not in remaining]
        raise SriovError(
            "%d guest(s) did not shut down within %d s: %s (they do not answer the ACPI shutdown "
            "request, or need longer). They keep running; nothing was destroyed. Raise the timeout, "
            "shut them down yourself, or allow destroying them (on_timeout=destroy)."
            % (len(left), timeout, ", ".join(label(g) for g in left)),
            stopped=stopped, still_running=left, changed=True)
    return result


def start_guests(conns, guests, check_mode=False):
    """Start every guest of the list that is not running. Tries all of them, then fails naming
    those that did not start (SriovError with ``started``/``already_running``/``failed``)."""
    result = {"started": [], "already_running": [], "failed": []}
    errors = []
    for guest in guests:
        try:
            domain = _lookup(conns, guest)
        except SriovError as exc:
            result["failed"].append(guest)
            errors.append(exc.msg)
            continue
        if domain is None:
            result["failed"].append(guest)
            errors.append("guest %s is no longer defined" % label(guest))
            continue
        if _is_active(domain):
            result["already_running"].append(guest)
            continue
        if not check_mode:
            try:
                domain.create()
            except Exception as exc:  # libvirt.libvirtError
                result["failed"].append(guest)
                errors.append("starting %s failed: %s" % (label(guest), _message(exc)))
                continue
        result["started"].append(guest)
    result["changed"] = bool(result["started"])
    if errors:
        raise SriovError("%d guest(s) did not start: %s." % (len(errors), "; ".join(errors)),
                         **result)
    return result
