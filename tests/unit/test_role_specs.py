"""Every role's meta/argument_specs.yml documents exactly the variables of its defaults/main.yml."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def test_there_are_roles():
    assert "node_base" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_keys_equal_defaults_keys(role):
    defaults = set(load(ROOT / "roles" / role / "defaults" / "main.yml"))
    spec = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")
    all_options = spec["argument_specs"]["main"].get("options", {})
    options = {k for k, v in all_options.items() if not v.get("required")}
    assert not defaults & (set(all_options) - options), f"{role}: required options must not have defaults"
    assert not defaults - options, f"{role}: defaults without an argument_spec: {sorted(defaults - options)}"
    assert not options - defaults, f"{role}: argument_specs without a default: {sorted(options - defaults)}"


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_prefixed_with_the_role_name(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    bad = [k for k in defaults if not k.startswith(f"{role}_")]
    assert not bad, f"{role}: defaults not prefixed '{role}_': {bad}"


@pytest.mark.parametrize("role", ROLES)
def test_every_variable_is_in_the_role_readme(role):
    readme = (ROOT / "roles" / role / "README.md").read_text(encoding="utf-8")
    spec = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    missing = [k for k in spec if k not in readme]
    assert not missing, f"{role}: README.md does not document {missing}"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_the_role_defaults(role):
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml")
    options = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]["main"]["options"]
    wrong = {k: (o["default"], defaults[k]) for k, o in options.items()
             if "default" in o and k in defaults and o["default"] != defaults[k]}
    assert not wrong, f"{role}: argument_specs default differs from defaults/main.yml (spec, defaults): {wrong}"
