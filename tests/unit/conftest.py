"""Helpers for unit tests: import the collection's plugins by name, other project files by path.

pyproject.toml puts tests/unit and collections/ on sys.path, so that
``ansible_collections.gpu_rig.cluster`` is this checkout (collections/ansible_collections/gpu_rig/cluster
links back to the repository root) and ``from conftest import ...`` works in every test folder."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One fixture tree for unit tests, Molecule side effects and benchmarks; its README names each origin.
FIXTURES = ROOT / "tests" / "fixtures"
COLLECTION = "ansible_collections.gpu_rig.cluster"


def plugin(kind: str, name: str) -> ModuleType:
    """Import one of the collection's plugins: plugin('modules', 'gpu_facts'), plugin('module_utils', 'apt')."""
    return importlib.import_module(f"{COLLECTION}.plugins.{kind}.{name}")


def load_module(relpath: str) -> ModuleType:
    """Import a Python file of the project (an Ansible module, plugin or tool) by its path."""
    path = ROOT / relpath
    name = "under_test_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_module(
    module: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: dict[str, Any],
    check_mode: bool = False, diff: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Run an Ansible module's main() as Ansible would; return its exit code and JSON result."""
    from ansible.module_utils import basic

    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check_mode, "_ansible_diff": diff}}
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps(payload).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)  # ansible-core 2.19 wants one
    with pytest.raises(SystemExit) as exited:
        module.main()
    return int(exited.value.code or 0), json.loads(capsys.readouterr().out)
