"""The cluster lock's terms: what one node runs (lock_entry) and what differs from its release's lock.

Shared by the lock filters (playbooks/lock.yml, validate.yml) and the node's metrics collector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The packages each role installs, whose versions the lock holds (their dependencies are apt's).
CUDA_TOOLKIT = re.compile(r"cuda-toolkit-[0-9]+-[0-9]+")
CONTAINER_TOOLKIT = "nvidia-container-toolkit"
DOCKER = ("docker.io", "docker-ce", "docker-ce-cli", "containerd.io")
KEYS = ("nvidia_driver_version", "cuda_toolkit_package_versions", "nvidia_container_toolkit_version",
        "container_engine_docker_package_versions")


def _version(packages: Mapping[str, Any], name: str) -> str:
    entries = packages.get(name) or []
    return str(entries[0].get("version", "")) if entries else ""


def lock_entry(packages: Mapping[str, Any], driver_version: str) -> dict[str, Any]:
    """What one node runs, in the lock's terms."""
    entry: dict[str, Any] = {}
    if driver_version:
        entry["nvidia_driver_version"] = str(driver_version)
    toolkits = {name: _version(packages, name) for name in sorted(packages) if CUDA_TOOLKIT.fullmatch(name)}
    if toolkits:
        entry["cuda_toolkit_package_versions"] = toolkits
    if _version(packages, CONTAINER_TOOLKIT):
        entry["nvidia_container_toolkit_version"] = _version(packages, CONTAINER_TOOLKIT)
    docker = {name: _version(packages, name) for name in DOCKER if _version(packages, name)}
    if docker:
        entry["container_engine_docker_package_versions"] = docker
    return entry


def lock_differences(entry: Mapping[str, Any], lock: Mapping[str, Any]) -> list[str]:
    """What a node runs that differs from its release's lock (empty when it matches or there is no lock)."""
    problems: list[str] = []
    for key in KEYS:
        if key not in lock:
            continue
        want, have = lock[key], entry.get(key)
        if isinstance(want, Mapping):
            have = have or {}
            for name, version in sorted(want.items()):
                if have.get(name) != version:
                    problems.append(f"{name} is {have.get(name) or 'not installed'}, the lock says {version}")
            for name in sorted(set(have) - set(want)):
                problems.append(f"{name} {have[name]} is installed but not in the lock")
        elif have != want:
            problems.append(f"{key} is {have or 'not installed'}, the lock says {want}")
    return problems
