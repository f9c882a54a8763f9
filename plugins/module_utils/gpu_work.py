# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What GPU work runs on a node, from what can be seen for sure: /proc and Docker.

A process holds a GPU when one of its file descriptors points at a /dev/nvidia* node: that is how
every CUDA, NVML or driver client reaches the driver, so this works when nvidia-smi cannot answer
(driver/library mismatch, no module). Docker containers started for GPUs (--gpus, the nvidia
runtime, a CDI device, /dev/nvidia* devices or binds) count while they run, even when idle.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEVICE = re.compile(r"^/dev/nvidia")
CONTAINER_ID = re.compile(r"[0-9a-f]{64}")
# Long-running helpers that hold the devices without being work.
IGNORED = ("nvidia-persistenced", "nvidia-smi", "nv-hostengine", "dcgm-exporter", "nvidia-powerd")


@dataclass
class Holder:
    pid: int
    command: str
    devices: list[str]
    container: str = ""

    def describe(self) -> str:
        where = f" in container {self.container[:12]}" if self.container else ""
        return f"{self.command} (pid {self.pid}{where}) holds {', '.join(self.devices)}"


@dataclass
class Work:
    processes: list[Holder] = field(default_factory=list)
    containers: list[dict[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.processes or self.containers:
            return "busy"
        return "unknown" if self.unknown else "idle"

    def reasons(self) -> list[str]:
        return ([p.describe() for p in self.processes]
                + [f"Docker container {c['name']} ({c['id'][:12]}, {c['image']}) runs with {c['why']}"
                   for c in self.containers] + self.unknown)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def holders(proc: Path = Path("/proc"), ignored: tuple[str, ...] = IGNORED,
            me: int | None = None) -> tuple[list[Holder], list[str]]:
    """Processes holding /dev/nvidia* open, and why some could not be looked at (empty when all were)."""
    found: list[Holder] = []
    denied = 0
    me = os.getpid() if me is None else me
    try:
        pids = sorted(int(p.name) for p in proc.iterdir() if p.name.isdigit())
    except OSError as err:
        return [], [f"{proc} could not be read ({err.strerror})"]
    for pid in pids:
        if pid == me:
            continue
        try:
            fds = list((proc / str(pid) / "fd").iterdir())
        except PermissionError:
            denied += 1
            continue
        except OSError:  # the process ended meanwhile
            continue
        devices = set()
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if DEVICE.match(target):
                devices.add(target)
        if not devices:
            continue
        command = _read(proc / str(pid) / "comm").strip() or "?"
        if command in ignored:
            continue
        ids = CONTAINER_ID.findall(_read(proc / str(pid) / "cgroup"))
        found.append(Holder(pid, command, sorted(devices), ids[-1] if ids else ""))
    unknown = [f"the open files of {denied} processes could not be read (run as root)"] if denied else []
    return found, unknown


def gpu_reason(container: dict[str, Any]) -> str:
    """Why a `docker inspect` entry is a GPU container, or "" when it is not."""
    host = container.get("HostConfig") or {}
    if host.get("Runtime") == "nvidia":
        return "the nvidia runtime"
    for request in host.get("DeviceRequests") or []:
        if request.get("Driver") == "cdi":
            return "CDI devices " + ", ".join(request.get("DeviceIDs") or [])
        if request.get("Driver") == "nvidia" or any("gpu" in caps for caps in request.get("Capabilities") or []):
            return "--gpus"
    for device in host.get("Devices") or []:
        if DEVICE.match(device.get("PathOnHost", "")):
            return f"device {device['PathOnHost']}"
    for bind in host.get("Binds") or []:
        if DEVICE.match(bind):
            return f"a bind of {bind.split(':')[0]}"
    return ""


def docker_gpu_containers(inspect_json: str) -> list[dict[str, str]]:
    """Running GPU containers from `docker inspect` output (a JSON array)."""
    running = []
    for container in json.loads(inspect_json or "[]"):
        why = gpu_reason(container)
        if why and (container.get("State") or {}).get("Running"):
            running.append({"id": container.get("Id", ""), "name": container.get("Name", "").lstrip("/"),
                            "image": (container.get("Config") or {}).get("Image", ""), "why": why})
    return running


DOCKER_DOWN = ("Cannot connect to the Docker daemon", "Is the docker daemon running?")
