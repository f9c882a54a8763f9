"""Every module's DOCUMENTATION, EXAMPLES and RETURN are YAML, and DOCUMENTATION's options are its argument_spec.

ansible-test sanity (make sanity) checks the same and more; this runs with the unit tests, in seconds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))


def strings(path: Path) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


def argument_spec(path: Path) -> dict:
    """The literal argument_spec passed to AnsibleModule in main()."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "argument_spec":
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name}: no literal argument_spec")


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_docs_are_yaml(path):
    docs = strings(path)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, f"{path.name} lacks {docs.keys()}"
    for name, text in docs.items():
        assert yaml.safe_load(text) is not None, f"{path.name}: {name} is empty"


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_documented_options_are_the_argument_spec(path):
    documented = yaml.safe_load(strings(path)["DOCUMENTATION"])["options"]
    spec = argument_spec(path)
    assert set(documented) == set(spec), f"{path.name}: documented {sorted(documented)}, spec {sorted(spec)}"
    for name, option in spec.items():
        assert documented[name].get("type", "str") == option.get("type", "str"), f"{path.name}: {name} type"
        assert documented[name].get("default") == option.get("default"), f"{path.name}: {name} default"
