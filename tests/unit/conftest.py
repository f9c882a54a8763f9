"""Helpers for unit tests: import role-embedded modules and plugins by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


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
