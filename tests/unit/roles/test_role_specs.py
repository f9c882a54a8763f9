"""Every role's meta/argument_specs.yml documents exactly the variables of its defaults/main.yml."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def options_of(role: str) -> dict:
    """Options of every entry point (main for most roles; common has one per task file)."""
    specs = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    return {k: v for entry in specs.values() for k, v in (entry.get("options") or {}).items()}


def defaults_of(role: str) -> dict:
    return load(ROOT / "roles" / role / "defaults" / "main.yml") or {}


def test_there_are_roles():
    assert {"node_base", "common", "gpu_health"} <= set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_argument_spec_keys_equal_defaults_keys(role):
    defaults, all_options = set(defaults_of(role)), options_of(role)
    # gpu_rig_hardware is the inventory's hardware contract: documented here, set in host_vars, no default.
    options = {k for k, v in all_options.items() if not v.get("required") and k != "gpu_rig_hardware"}
    assert not defaults & (set(all_options) - options), f"{role}: required options must not have defaults"
    assert not defaults - options, f"{role}: defaults without an argument_spec: {sorted(defaults - options)}"
    assert not options - defaults, f"{role}: argument_specs without a default: {sorted(options - defaults)}"


@pytest.mark.parametrize("role", ROLES)
def test_every_input_is_prefixed_with_the_role_name(role):
    bad = [k for k in options_of(role) if not k.startswith(f"{role}_") and k != "gpu_rig_hardware"]
    assert not bad, f"{role}: inputs not prefixed '{role}_': {bad}"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_match_the_role_defaults(role):
    defaults, options = defaults_of(role), options_of(role)
    wrong = {k: (o["default"], defaults[k]) for k, o in options.items()
             if "default" in o and k in defaults and o["default"] != defaults[k]}
    assert not wrong, f"{role}: argument_specs default differs from defaults/main.yml (spec, defaults): {wrong}"
