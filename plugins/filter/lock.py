# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster lock: the exact versions every node of a release runs, read from the nodes and compared with them.

playbooks/lock.yml reads each node (``lock_entry``), merges the nodes of each release into the lock
(``lock_merge``, which refuses nodes of one release that disagree) and writes it into the inventory;
the roles install exactly what it says; playbooks/validate.yml reports every difference (``lock_differences``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DOCUMENTATION = r"""
name: lock_entry
short_description: The versions one node runs, as a cluster lock entry
description:
  - From C(ansible.builtin.package_facts) and the driver version the nvidia_driver role recorded, the entry
    C(playbooks/lock.yml) writes per release - nvidia_driver_version, cuda_toolkit_package_versions,
    nvidia_container_toolkit_version and container_engine_docker_package_versions.
  - The sibling filters C(lock_merge), C(lock_differences) and C(with_versions) are in the same file.
positional: driver_version
options:
  _input:
    description: C(ansible_facts.packages) of the node.
    type: dict
    required: true
  driver_version:
    description: The installed NVIDIA driver version (empty when none).
    type: str
    required: true
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Read what the node runs
  ansible.builtin.set_fact:
    lock_node: >-
      {{ ansible_facts.packages | gpu_rig.cluster.lock_entry(ansible_local.gpu_rig_nvidia_driver.installed_version) }}
"""

RETURN = r"""
_value:
  description: The node's entry; keys whose software is not installed are left out.
  type: dict
"""

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


def lock_merge(entries: Mapping[str, Mapping[str, Any]], releases: Mapping[str, str],
               source: str = "") -> dict[str, Any]:
    """The lock by release, from every node's entry: {'lock': {...}, 'conflicts': [...]}.

    Nodes of one release must agree; where they do not, each difference is a conflict naming the nodes,
    unless ``source`` names the node whose versions its release takes.
    """
    lock: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    conflicts: list[str] = []
    ordered = sorted(entries, key=lambda host: (host != source, host))
    for host in ordered:
        release = releases[host]
        if release not in lock:
            lock[release], origin[release] = dict(entries[host]), host
            continue
        if source and origin[release] == source:
            continue
        for key in KEYS:
            mine, theirs = entries[host].get(key), lock[release].get(key)
            if mine != theirs:
                conflicts.append(f"{release}: {key} is {theirs!r} on {origin[release]} but {mine!r} on {host}")
    return {"lock": lock, "conflicts": conflicts}


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


def with_versions(names: Sequence[str], versions: Mapping[str, Any]) -> list[str]:
    """Package names for apt, each as name=version where the lock has a version for it."""
    return [f"{name}={versions[name]}" if versions.get(name) else name for name in names]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lock_entry": lock_entry, "lock_merge": lock_merge, "lock_differences": lock_differences,
                "with_versions": with_versions}
