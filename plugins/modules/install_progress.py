#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: wait a while for an async apt install and say how far it has got."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: install_progress
short_description: Wait up to a few seconds for an async install, and say how far it has got
description:
  - Watches the results file of a job started with C(async) and C(poll=0) and returns as soon as the job has
    finished, or after O(wait) seconds. Meant for an C(until) loop, so that a long install (gigabytes of CUDA
    toolkit, a DKMS build) reports progress at a steady interval instead of staying silent.
  - The progress is the bytes apt has fetched into its archive since the job started (against O(total_bytes))
    and, once dpkg runs, the last line of this install's section of C(/var/log/apt/term.log), which is where
    DKMS's build steps appear too.
  - The callback C(gpu_rig.cluster.progress) prints C(gpu_rig_progress) on each retry. Changes nothing.
options:
  results_file:
    description: The C(results_file) of the async task's result.
    type: path
    required: true
  total_bytes:
    description: What apt said it will fetch, in bytes (C(apt-get install --print-uris)); 0 when unknown.
    type: int
    default: 0
  wait:
    description: Seconds to wait for the job to finish before returning the progress.
    type: int
    default: 15
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Start the install
  ansible.builtin.apt:
    name: cuda-toolkit-12-8
  async: 7200
  poll: 0
  register: job

- name: Wait for the install (progress every 15 s)
  gpu_rig.cluster.install_progress:
    results_file: "{{ job.results_file }}"
  register: progress
  until: progress.finished
  retries: 480
  delay: 0

- name: Collect the install's result
  ansible.builtin.async_status:
    jid: "{{ job.ansible_job_id }}"
"""

RETURN = r"""
finished:
  description: Whether the job has finished (its result is then read with C(ansible.builtin.async_status)).
  type: bool
  returned: always
gpu_rig_progress:
  description: One line, for example C(fetched 812.3 MB of 1.6 GB; dpkg has not started).
  type: str
  returned: always
"""

import json
import time
from pathlib import Path

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils.install_progress import describe


def finished(results_file: Path) -> bool:
    """The async wrapper writes {started: 1, finished: 0, ...} first and the module's own result at the end."""
    try:
        data = json.loads(results_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # not written yet, or being replaced
    return "started" not in data or bool(data.get("finished"))


def main() -> None:
    module = AnsibleModule(
        argument_spec={"results_file": {"type": "path", "required": True},
                       "total_bytes": {"type": "int", "default": 0},
                       "wait": {"type": "int", "default": 15}},
        supports_check_mode=True,
    )
    results = Path(module.params["results_file"])
    try:
        since = results.stat().st_ctime if results.exists() else time.time()
    except OSError as exc:
        module.fail_json(msg=f"install_progress cannot read {results}: {exc}")
    deadline = time.monotonic() + max(module.params["wait"], 0)
    done = finished(results)
    while not done and time.monotonic() < deadline:
        time.sleep(0.5)
        done = finished(results)
    module.exit_json(changed=False, finished=done,
                     gpu_rig_progress="done" if done else describe(Path("/"), since, module.params["total_bytes"]))


if __name__ == "__main__":
    main()
