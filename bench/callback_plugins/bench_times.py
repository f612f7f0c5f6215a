# -*- coding: utf-8 -*-
"""Benchmark callback: per-task timings and per-host stats as JSON in $BENCH_TIMES_FILE."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = """
name: bench_times
type: aggregate
short_description: per-task timings for bench/
description: Writes every task result (name, action, host, start, end, status) and the final stats to $BENCH_TIMES_FILE.
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_times"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._start = {}
        self._tasks = []

    def v2_runner_on_start(self, host, task):
        self._start[(host.get_name(), task._uuid)] = time.time()

    def _record(self, result, status):
        key = (result._host.get_name(), result._task._uuid)
        end = time.time()
        self._tasks.append({
            "task": result._task.get_name(), "action": result._task.action,
            "host": key[0], "start": self._start.get(key, end), "end": end, "status": status,
            "changed": bool(result._result.get("changed")),
        })

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            hosts[host] = stats.summarize(host)
        path = os.environ.get("BENCH_TIMES_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump({"tasks": self._tasks, "stats": hosts}, handle)
