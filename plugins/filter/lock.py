# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster lock: the exact versions every node of a release runs, read from the nodes and compared with them.

playbooks/lock.yml reads each node (``lock_entry``), merges the nodes of each release into the lock
(``lock_merge``, which refuses nodes of one release that disagree) and writes it into the inventory;
the roles install exactly what it says; playbooks/validate.yml reports every difference (``lock_differences``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.lock import KEYS, lock_differences, lock_entry

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


def with_versions(names: Sequence[str], versions: Mapping[str, Any]) -> list[str]:
    """Package names for apt, each as name=version where the lock has a version for it."""
    return [f"{name}={versions[name]}" if versions.get(name) else name for name in names]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lock_entry": lock_entry, "lock_merge": lock_merge, "lock_differences": lock_differences,
                "with_versions": with_versions}
