# -*- coding: utf-8 -*-
# Test helper of the virt.sriov e2e layer (not part of the collection's content).
"""Notification callback that writes every task result as JSON to $LAB_RESULTS_FILE.

Enabled by tests/e2e/conftest.py with ANSIBLE_CALLBACKS_ENABLED=lab_results and
ANSIBLE_CALLBACK_PLUGINS pointing here; the normal stdout callback keeps printing the
human-readable log. ansible-core ships no json stdout callback (it is in ansible.posix).
"""
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: lab_results
type: notification
short_description: write per-task results as JSON to $LAB_RESULTS_FILE
description: Test helper of the virt.sriov e2e layer.
requirements:
  - enabled in configuration
"""


def _plain(obj):
    """Convert (possibly tagged) Ansible values to plain JSON-able Python values."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    return str(obj)


def _parts(result):
    host = getattr(result, "host", None) or getattr(result, "_host")
    task = getattr(result, "task", None) or getattr(result, "_task")
    res = getattr(result, "result", None)
    if not isinstance(res, dict):
        res = getattr(result, "_result", {})
    return host, task, res


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "lab_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._tasks = []
        self._play = None
        self._path = os.environ.get("LAB_RESULTS_FILE")

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def _add(self, result, status):
        host, task, res = _parts(result)
        res = _plain(res)
        entry = {
            "play": self._play,
            "task": task.get_name(),
            "action": task.action,
            "host": host.get_name(),
            "status": status,
            "changed": bool(res.get("changed", False)),
            "failed": status in ("failed", "unreachable"),
            "result": res,
        }
        self._tasks.append(entry)

    def v2_runner_on_ok(self, result, **kwargs):
        _host, _task, res = _parts(result)
        self._add(result, "changed" if res.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        self._add(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result, **kwargs):
        self._add(result, "skipped")

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._add(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        summary = {h: _plain(stats.summarize(h)) for h in sorted(stats.processed.keys())}
        if not self._path:
            return
        tmp = self._path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"tasks": self._tasks, "stats": summary}, f, indent=1)
        os.replace(tmp, self._path)
