"""Shared testinfra setup for every Molecule scenario.

Molecule starts testinfra with its ansible backend, which runs each command
through Ansible (about ten times slower). Here the hosts of the scenario's
inventory are handed to testinfra's direct ``podman://`` backend instead, and a
few fixtures give tests the scenario's variables.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml


def _inventory() -> dict[str, Any]:
    path = os.environ.get("MOLECULE_INVENTORY_FILE")
    if not path or not Path(path).exists():
        return {}
    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def _hosts(group: dict[str, Any]) -> list[str]:
    names = list((group.get("hosts") or {}).keys())
    for child in (group.get("children") or {}).values():
        names.extend(_hosts(child or {}))
    return sorted(set(names))


def pytest_configure(config: pytest.Config) -> None:
    hosts = _hosts(_inventory().get("all", {}))
    if hosts and config.option.connection == "ansible":
        config.option.connection = "podman"
        config.option.hosts = ",".join(f"podman://{name}" for name in hosts)


def _scenario_vars() -> dict[str, Any]:
    """group_vars of `all` plus the scenario's own, as Molecule wrote them."""
    inventory_dir = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY")
    merged: dict[str, Any] = {}
    if inventory_dir:
        for name in ("all", "gpu_nodes"):
            path = Path(inventory_dir) / "inventory" / "group_vars" / name
            if path.exists():
                merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


@pytest.fixture(scope="session")
def scenario_vars() -> dict[str, Any]:
    """The variables the scenario set through provisioner.inventory.group_vars."""
    return _scenario_vars()


@pytest.fixture
def os_release(host: Any) -> dict[str, str]:
    """/etc/os-release of the host under test, as a dict."""
    out: dict[str, str] = {}
    for line in host.file("/etc/os-release").content_string.splitlines():
        if "=" in line:
            key, _, value = line.partition("=")
            out[key] = value.strip('"')
    return out
