# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""input_problems: every value a role writes into a file, unit, command line or path, checked before any change.

Each role keeps its rules in vars/main.yml, keyed by variable name, and runs one assert first:

    that: problems | length == 0
    vars:
      problems: "{{ rules | gpu_rig.cluster.input_problems(query('ansible.builtin.vars', *(rules | list))) }}"

A rule says the type (int, float, str, list, dict), a range (min, max), a named pattern or regular
expression for a string (pattern) or for a list's items (items), patterns for a dict's keys and values,
and whether an empty string is allowed (empty). Every message names the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

DOCUMENTATION = r"""
name: input_problems
short_description: Check role inputs against rules; return one message per bad value, naming the variable
description:
  - Checks each variable's value against its rule (type, range, a named pattern or regular expression, list items,
    dict keys and values) and returns one message per bad value, naming the variable; an empty list when all pass.
positional: values
options:
  _input:
    description: The rules, by variable name (type, min, max, pattern, items, keys, values, empty).
    type: dict
    required: true
  values:
    description: The variables' values, in the rules' order (C(query('ansible.builtin.vars', ...))).
    type: list
    required: true
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Check the role's inputs
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }}"
  vars:
    problems: "{{ rules | gpu_rig.cluster.input_problems(query('ansible.builtin.vars', *(rules | list))) }}"
"""

RETURN = r"""
_value:
  description: One message per bad value.
  type: list
  elements: str
"""

PATTERNS: dict[str, tuple[str, str]] = {
    "package": (r"[a-z0-9][a-z0-9+.-]+(=[0-9][A-Za-z0-9.+~:-]*)?", "a Debian package name, optionally =version"),
    "version": (r"[0-9][A-Za-z0-9.+~:-]*", "a Debian package version such as 1.17.8-1"),
    "driver_version": (r"[0-9]+\.[0-9]+(\.[0-9]+)?", "a driver version such as 580.95.05"),
    "url": (r"https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\s\"'<>\\]*)?", "an http(s) URL without spaces or quotes"),
    "fingerprint": (r"[0-9A-Fa-f]{40}", "a full OpenPGP fingerprint of 40 hex digits"),
    "name": (r"[A-Za-z0-9][A-Za-z0-9_.-]*", "a name of letters, digits, '.', '_' or '-' (no '/' or '..')"),
    "path": (r"/[^\n\0]*", "an absolute path"),
    "account": (r"[a-z_][a-z0-9_-]*\$?", "a user account name"),
    "image": (r"[a-z0-9][A-Za-z0-9._/:@-]*", "a container image reference"),
    "cuda_version": (r"[0-9]+\.[0-9]+", "a CUDA major.minor version such as 12.8"),
    "cuda_arch": (r"[0-9]{2,3}", "a compute capability such as 86"),
    "suite": (r"[A-Za-z0-9./_-]+", "an apt suite such as bookworm or /"),
    "component": (r"[a-z0-9][a-z0-9./_-]*", "an apt component such as main"),
    "deb_arch": (r"[a-z0-9-]+", "a Debian architecture such as amd64"),
    "kernel_module": (r"[a-z0-9_]+", "a kernel module name"),
    "module_option": (r"[A-Za-z][A-Za-z0-9_]*", "a module option name"),
    "module_value": (r"[^\s#\"'\\]+", "a module option value without spaces, quotes or '#'"),
}
TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "list": (list, tuple),
                                      "dict": (dict,), "bool": (bool,)}


def _pattern(rule: Any) -> tuple[re.Pattern[str], str]:
    if rule in PATTERNS:
        regex, what = PATTERNS[rule]
        return re.compile(regex), what
    return re.compile(rule), f"a value matching {rule}"


def _string(name: str, value: Any, rule: Any, empty: bool = False) -> list[str]:
    if not isinstance(value, str):
        return [f"{name}: {value!r} must be a string."]
    if empty and value == "":
        return []
    regex, what = _pattern(rule)
    if "\n" in value or "\r" in value or not regex.fullmatch(value) or "/../" in f"{value}/" or value == "..":
        return [f"{name}: {value!r} must be {what}."]
    return []


def _kind_of(value: Any) -> str:
    """The plain type name (Ansible wraps templated values in tagged subclasses of str, int, ...)."""
    for name, kinds in (("bool", (bool,)), ("int", (int,)), ("float", (float,)), ("str", (str,)),
                        ("list", (list, tuple)), ("dict", (dict,))):
        if isinstance(value, kinds):
            return name
    return "null" if value is None else type(value).__name__


def _to_number(text: str, kind: str) -> Any:
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return text


def _number(name: str, value: Any, rule: Mapping[str, Any]) -> list[str]:
    low, high = rule.get("min"), rule.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        span = f"from {low} to {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        return [f"{name}: {value!r} is out of range (must be {span})."]
    return []


def check(name: str, value: Any, rule: Mapping[str, Any]) -> list[str]:
    """The problems of one value under its rule (empty when it is good)."""
    kind = rule.get("type", "str")
    wanted = TYPES[kind]
    if kind in ("int", "float") and isinstance(value, str):
        # Templated defaults ("{{ gpu_rig_hardware.gpu_count | default(0) }}") and quoted YAML come as text.
        if value == "" and rule.get("empty"):
            return []
        value = _to_number(value, kind)
    if (isinstance(value, bool) and kind != "bool") or not isinstance(value, wanted):
        given = _kind_of(value)
        hint = " (a string where a list belongs: write it as a YAML list)" if kind == "list" and given == "str" else ""
        return [f"{name}: {value!r} is a {given}, not a {kind}{hint}."]
    if kind in ("int", "float"):
        return _number(name, value, rule)
    if kind == "str":
        return _string(name, value, rule["pattern"], rule.get("empty", False)) if "pattern" in rule else []
    if kind == "list":
        problems = [f"{name}: needs at least {rule['min']} item(s)."] if len(value) < rule.get("min", 0) else []
        if "items" in rule:
            for i, item in enumerate(value):
                problems += _string(f"{name}[{i}]", item, rule["items"])
        return problems
    return _dict(name, value, rule) if kind == "dict" else []


def _scalar(name: str, value: Any, rule: Any) -> list[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    return _string(name, value, rule)


def _dict(name: str, value: Mapping[Any, Any], rule: Mapping[str, Any]) -> list[str]:
    """keys: a pattern for the keys; values: for scalar values, list items, or (with inner_keys) a nested dict's."""
    problems: list[str] = []
    for key, item in value.items():
        label = f"{name}[{key!r}]"
        if "keys" in rule:
            problems += _string(f"{name} key", key, rule["keys"])
        if "values" not in rule:
            continue
        if isinstance(item, Mapping) and "inner_keys" in rule:
            for inner, inner_value in item.items():
                problems += _string(f"{label} key", inner, rule["inner_keys"])
                problems += _scalar(f"{label}[{inner!r}]", inner_value, rule["values"])
        elif isinstance(item, (list, tuple)):
            problems += [p for i, v in enumerate(item) for p in _scalar(f"{label}[{i}]", v, rule["values"])]
        else:
            problems += _scalar(label, item, rule["values"])
    return problems


def input_problems(rules: Mapping[str, Mapping[str, Any]], values: Sequence[Any]) -> list[str]:
    """One message per bad value, in the rules' order."""
    if len(values) != len(rules):
        raise ValueError(f"input_problems got {len(values)} values for {len(rules)} rules")
    problems: list[str] = []
    for (name, rule), value in zip(rules.items(), values, strict=True):
        problems += check(name, value, rule)
    return problems


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"input_problems": input_problems}
