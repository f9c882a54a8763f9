# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Slurm's view of a node: the node line of slurm.conf and gres.conf, and what scontrol says of a node."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.slurm import drain_action, node_state

DOCUMENTATION = r"""
name: slurm_node
short_description: A compute node's slurm.conf and gres.conf entry from slurmd -C and gpu_health's report
description:
  - From the output of C(slurmd -C) (the node's CPUs and memory as slurmd sees them), the GPUs gpu_health saw
    (their minor numbers) or else the inventory's count, the node's NodeName and gres.conf values.
  - The sibling filters C(slurm_gpu_type), C(slurm_device_files), C(slurm_node_state), C(slurm_health_action) and
    C(slurm_sinfo) are in the same file.
positional: gpu_report, gpu_type, gpu_count, reserved_mb
options:
  _input:
    description: The output of C(slurmd -C).
    type: str
    required: true
  gpu_report:
    description: The node's gpu_health report (C(/var/lib/gpu-rig/gpu_health.json)), or an empty mapping.
    type: dict
    required: true
  gpu_type:
    description: The GRES type (rtx3090).
    type: str
    required: true
  gpu_count:
    description: GPUs to offer where the report saw none.
    type: int
    required: true
  reserved_mb:
    description: Memory kept for the system.
    type: int
    required: true
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: The node's entry
  ansible.builtin.set_fact:
    node: "{{ slurmd_c.stdout | gpu_rig.cluster.slurm_node(report, 'rtx3090', 4, 2048) }}"
"""

RETURN = r"""
_value:
  description: name, cpus, boards, sockets, cores, threads, real_memory, gpus, files (gres.conf File=), source.
  type: dict
"""

HARDWARE_KEYS = ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore", "RealMemory")
BRANDS = re.compile(r"\b(nvidia|geforce|tesla|quadro)\b")


def slurm_gpu_type(model: str) -> str:
    """'NVIDIA GeForce RTX 3090' -> 'rtx3090'; 'NVIDIA H200' -> 'h200'; '' -> ''."""
    return re.sub(r"[^a-z0-9]", "", BRANDS.sub("", str(model or "").lower()))


def slurm_device_files(minors: Sequence[int]) -> str:
    """/dev/nvidia[0-3] for 0,1,2,3; /dev/nvidia[0,2-3] for 0,2,3; /dev/nvidia1 for 1 alone."""
    numbers = sorted({int(m) for m in minors})
    if not numbers:
        return ""
    if len(numbers) == 1:
        return f"/dev/nvidia{numbers[0]}"
    ranges: list[str] = []
    start = prev = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == prev + 1:
            prev = number
            continue
        ranges.append(str(start) if start == prev else f"{start}-{prev}")
        if number is not None:
            start = prev = number
    return "/dev/nvidia[" + ",".join(ranges) + "]"


def _slurmd_hardware(text: str) -> dict[str, str]:
    line = next((line for line in str(text).splitlines() if line.startswith("NodeName=")), "")
    fields = dict(re.findall(r"(\w+)=(\S+)", line))
    missing = [key for key in HARDWARE_KEYS if key not in fields]
    if missing:
        raise ValueError(f"slurmd -C gave no {', '.join(missing)}: {text.strip()[:200]!r}")
    return fields


def slurm_node(slurmd_c: str, gpu_report: Mapping[str, Any], gpu_type: str, gpu_count: int,
               reserved_mb: int) -> dict[str, Any]:
    hw = _slurmd_hardware(slurmd_c)
    facts = (gpu_report or {}).get("facts") or {}
    seen = [g for g in facts.get("gpus") or [] if g.get("minor_number") is not None]
    # Only what the node's own nvidia-smi said: a report of a saved output (gpu_health_xml_file) is judged, and
    # may drain the node, but its GPUs are not the node's.
    if facts.get("available") and seen and facts.get("reason") == "nvidia-smi -q -x":
        minors, source = [int(g["minor_number"]) for g in seen], "gpu_health"
    else:
        minors, source = list(range(int(gpu_count))), "inventory"
    memory = int(hw["RealMemory"]) - int(reserved_mb)
    if memory < 1:
        raise ValueError(f"RealMemory {hw['RealMemory']} MB less the {reserved_mb} MB reserved leaves nothing")
    return {"name": hw["NodeName"], "cpus": int(hw["CPUs"]), "boards": int(hw["Boards"]),
            "sockets": int(hw["SocketsPerBoard"]), "cores": int(hw["CoresPerSocket"]),
            "threads": int(hw["ThreadsPerCore"]), "real_memory": memory, "gpus": len(minors),
            "gpu_type": gpu_type, "files": slurm_device_files(minors), "source": source}


def slurm_node_state(text: str) -> dict[str, Any]:
    """What `scontrol show node NODE -o` says: state (base, flags), reason, gres, whether jobs run on it."""
    return node_state(text)


def slurm_health_action(report: Mapping[str, Any] | None, state: Mapping[str, Any], prefix: str) -> dict[str, str]:
    """Drain a node whose gpu_health report FAILs; resume one the role drained when it no longer does."""
    verdict = str((report or {}).get("verdict") or "")
    failing = [f"{c.get('name')}{'[GPU ' + str(c['gpu']) + ']' if c.get('gpu') is not None else ''}: "
               f"{c.get('reason')}" for c in (report or {}).get("checks") or [] if c.get("verdict") == "FAIL"]
    if verdict == "FAIL" and not failing:
        failing = ["the report FAILs"]
    return drain_action(failing if verdict == "FAIL" else [], state, prefix,
                        f"gpu_health is {verdict or 'not reported'} now")


def slurm_sinfo(text: str) -> dict[str, dict[str, str]]:
    """`sinfo -N -h -o '%N|%G|%T|%E'` as {node: {gres, state, reason}}; a node in two partitions counts once."""
    nodes: dict[str, dict[str, str]] = {}
    for line in str(text or "").splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4 and parts[0]:
            nodes.setdefault(parts[0], {"gres": parts[1], "state": parts[2], "reason": parts[3]})
    return nodes


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"slurm_gpu_type": slurm_gpu_type, "slurm_device_files": slurm_device_files, "slurm_node": slurm_node,
                "slurm_node_state": slurm_node_state, "slurm_health_action": slurm_health_action,
                "slurm_sinfo": slurm_sinfo}
