#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: say what GPU work runs on the node, from /proc and Docker, before a restart or reboot."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gpu_work
short_description: Find the GPU work running on a node (processes holding /dev/nvidia*, Docker GPU containers)
description:
  - Reads every process's open files in C(/proc) and lists those that hold a C(/dev/nvidia*) node, with the
    container they run in (from their cgroup). This sees CUDA, NVML and driver clients when nvidia-smi cannot
    answer (a driver/library version mismatch, no module loaded).
  - Where the C(docker) command exists, lists running containers started for GPUs (C(--gpus), the nvidia runtime,
    CDI devices, C(/dev/nvidia*) devices or binds), idle ones too.
  - C(verdict) is C(busy) when anything was found, C(unknown) when something could not be looked at (then a
    restart or reboot cannot be called safe), else C(idle). Changes nothing.
options:
  ignored_commands:
    description: Process names that hold the devices without being work.
    type: list
    elements: str
    default: [nvidia-persistenced, nvidia-smi, nv-hostengine, dcgm-exporter, nvidia-powerd]
  docker:
    description: Ask Docker for its GPU containers where the C(docker) command exists.
    type: bool
    default: true
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Look for GPU work before restarting Docker
  gpu_rig.cluster.gpu_work:
  register: gpu_work

- name: Restart Docker only when no GPU work runs
  ansible.builtin.systemd_service:
    name: docker
    state: restarted
  when: gpu_work.verdict == 'idle'
"""

RETURN = r"""
verdict:
  description: C(idle), C(busy) or C(unknown).
  type: str
  returned: always
reasons:
  description: One line per process, container or blind spot behind the verdict.
  type: list
  elements: str
  returned: always
processes:
  description: The processes holding C(/dev/nvidia*) (pid, command, devices, container).
  type: list
  elements: dict
  returned: always
containers:
  description: Running Docker GPU containers (id, name, image, why).
  type: list
  elements: dict
  returned: always
docker_live_restore:
  description: Whether the running dockerd has live-restore (its containers survive its restart); null without Docker.
  type: bool
  returned: always
"""

from dataclasses import asdict
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils import gpu_work


def docker(module: AnsibleModule, work: gpu_work.Work) -> bool | None:
    """Add Docker's running GPU containers to work; return the daemon's live-restore (None: no Docker)."""
    binary = module.get_bin_path("docker")
    if not binary:
        return None
    rc, out, err = module.run_command([binary, "info", "--format", "{{json .LiveRestoreEnabled}}"])
    if rc != 0:
        if any(text in err for text in gpu_work.DOCKER_DOWN):
            work.notes.append("dockerd is not running: no Docker containers to look at")
            return None
        work.unknown.append(f"docker info failed (rc {rc}): {err.strip() or out.strip()}")
        return None
    live_restore = out.strip() == "true"
    rc, out, err = module.run_command([binary, "ps", "--quiet", "--no-trunc"])
    ids = out.split()
    if rc != 0:
        work.unknown.append(f"docker ps failed (rc {rc}): {err.strip()}")
        return live_restore
    if ids:
        rc, out, err = module.run_command([binary, "inspect", *ids])
        if rc != 0 and not out.strip():  # a container that ended meanwhile fails inspect but not the others
            work.unknown.append(f"docker inspect failed (rc {rc}): {err.strip()}")
            return live_restore
        try:
            work.containers = gpu_work.docker_gpu_containers(out)
        except (ValueError, TypeError) as err2:
            work.unknown.append(f"docker inspect printed what is not its JSON: {err2}")
    return live_restore


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ignored_commands": {"type": "list", "elements": "str", "default": [
                "nvidia-persistenced", "nvidia-smi", "nv-hostengine", "dcgm-exporter", "nvidia-powerd"]},
            "docker": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    work = gpu_work.Work()
    work.processes, work.unknown = gpu_work.holders(Path("/proc"), tuple(module.params["ignored_commands"]))
    live_restore = docker(module, work) if module.params["docker"] else None
    result: dict[str, Any] = {
        "changed": False, "verdict": work.verdict, "reasons": work.reasons(), "notes": work.notes,
        "processes": [asdict(p) for p in work.processes], "containers": work.containers,
        "docker_live_restore": live_restore,
    }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
