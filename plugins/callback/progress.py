# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback plugin: print the progress a retried task reports, so long installs are not silent."""

from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: notification
short_description: Print the progress line of each retry of a long step
description:
  - The roles wait for long installs (CUDA toolkits, the driver with its DKMS build) with the module
    C(gpu_rig.cluster.install_progress) in an C(until) loop, one retry about every 15 seconds. Ansible's own
    output says only that the task is retried; this prints, for each retry, the host, the time since the wait
    began and the module's C(gpu_rig_progress) line (bytes fetched, dpkg's current step).
  - Enabled in this project's ansible.cfg; in your own, add it to C(callbacks_enabled).
author: GPU rig maintainers (!UNKNOWN)
"""

import time
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "gpu_rig.cluster.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None, options: Any = None) -> None:
        super().__init__(display=display, options=options)
        self.started: dict[str, float] = {}

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self.started[task._uuid] = time.time()

    def line(self, host: str, task: str, progress: str, now: float) -> str:
        minutes, seconds = divmod(int(now - self.started.get(task, now)), 60)
        return f"  PROGRESS {host} [{minutes}:{seconds:02d}] {progress}"

    def v2_runner_retry(self, result: Any) -> None:
        progress = result._result.get("gpu_rig_progress")
        if progress:
            self._display.display(self.line(result._host.get_name(), result._task._uuid, str(progress), time.time()))
