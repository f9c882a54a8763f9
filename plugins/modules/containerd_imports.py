#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: make containerd's config.toml import a drop-in glob, by editing its text."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: containerd_imports
short_description: Make containerd's config.toml import a drop-in glob, keeping the rest of the text
description:
  - Adds O(import_glob) to the top-level C(imports) array of O(path), appending it to an existing array
    (single- or multi-line) or adding C(imports = ["..."]) right after the top-level C(version) line
    (or at the top, after a leading comment block, when there is none).
  - The file is edited as text; comments, blank lines, quoting and ordering are kept, and no table is touched.
    The result is parsed back with C(tomllib) and must equal the original settings plus the glob.
  - A file that is not valid TOML fails the module and is left untouched.
options:
  path:
    description: containerd's configuration file.
    type: path
    default: /etc/containerd/config.toml
  import_glob:
    description: The drop-in path or glob that C(imports) must hold.
    type: str
    default: /etc/containerd/conf.d/*.toml
  create:
    description: Create O(path) (with C(version = )O(config_version)) when it is missing; otherwise fail.
    type: bool
    default: true
  config_version:
    description: The config C(version) written into a file this module creates (2 for containerd 1.x, 3 for 2.x).
    type: int
    default: 2
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Let containerd read drop-ins from conf.d
  gpu_rig.cluster.containerd_imports:
    import_glob: /etc/containerd/conf.d/*.toml
    config_version: "{{ 3 if containerd_major | int >= 2 else 2 }}"
"""

RETURN = r"""
imports:
  description: The top-level C(imports) after the change (or as it would be, in check mode).
  type: list
  returned: success
"""

import json
import re
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils import tomlread
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_text, write_atomic

KEY = r"(?:[A-Za-z0-9_-]+|\"[^\"\n]*\"|'[^'\n]*')"
ASSIGNMENT = re.compile(rf"(?P<key>{KEY}(?:[ \t]*\.[ \t]*{KEY})*)[ \t]*=[ \t]*")


def _skip_string(text: str, i: int) -> int:
    """Index just past the TOML string (basic, literal, or either multi-line form) starting at text[i]."""
    quote = text[i]
    delim = quote * 3 if text.startswith(quote * 3, i) else quote
    i += len(delim)
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text.startswith(delim, i):
            end = i + len(delim)
            # A multi-line string may end with one or two quotes of its own right before the delimiter.
            while len(delim) == 3 and end - i < 5 and text.startswith(quote, end):
                end += 1
            return end
        i += 1
    return i


def _value_end(text: str, i: int) -> int:
    """Index just past the TOML value starting at text[i]; scalars end at whitespace, a comma or a bracket."""
    depth = 0
    while i < len(text):
        char = text[i]
        if char in "\"'":
            i = _skip_string(text, i)
            if depth == 0:
                return i
            continue
        if depth and char == "#":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return i + 1
        elif depth == 0 and char in " \t\r\n#,":
            return i
        i += 1
    return i


def top_level(text: str) -> dict[str, tuple[int, int, int]]:
    """Top-level assignments before the first [table] header: {key: (line start, value start, value end)}."""
    found: dict[str, tuple[int, int, int]] = {}
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] in " \t":
            j += 1
        if text.startswith("[", j):
            break
        match = ASSIGNMENT.match(text, j)
        end = j
        if match:
            end = _value_end(text, match.end())
            found.setdefault(match["key"].strip("\"'"), (i, match.end(), end))
        newline = text.find("\n", end)
        i = len(text) if newline < 0 else newline + 1
    return found


def _items(text: str, start: int, end: int) -> tuple[list[tuple[int, int]], int | None]:
    """Item spans inside the array text[start:end], and the index of a comma after the last item, if any."""
    items: list[tuple[int, int]] = []
    comma = None
    i = start + 1
    while i < end - 1:
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char == "#":
            i = text.find("\n", i)
        elif char == ",":
            comma, i = i, i + 1
        else:
            item_end = _value_end(text, i)
            items.append((i, item_end))
            comma, i = None, item_end
    return items, comma


def _quote(glob: str, like: str) -> str:
    if like.startswith("'") and "'" not in glob and "\n" not in glob:
        return f"'{glob}'"
    return json.dumps(glob, ensure_ascii=False)


def add_to_array(text: str, start: int, end: int, glob: str, newline: str = "\n") -> str:
    """Append glob to the array text[start:end], following its layout (one line, or one item per line)."""
    items, comma = _items(text, start, end)
    if not items:
        return text[: start + 1] + _quote(glob, "") + text[start + 1:]
    first, last = items[-1]
    value = _quote(glob, text[first:last])
    anchor = comma + 1 if comma is not None else last
    line_start = text.rfind("\n", 0, first) + 1
    if "\n" not in text[start:end] or text[line_start:first].strip():
        insert = f" {value}," if comma is not None else f", {value}"
        return text[:anchor] + insert + text[anchor:]
    # One item per line: a new line with the last item's indent, after any comment that ends the last line.
    pos = anchor
    while text[pos] in " \t":
        pos += 1
    if text[pos] == "#":
        pos = text.find("\n", pos)
    pos -= 1 if text[pos - 1] == "\r" else 0
    added = f"{newline}{text[line_start:first]}{value}" + ("," if comma is not None else "")
    head = text[:last] + ("," if comma is None else "") + text[last:pos]
    return head + added + text[pos:]


def add_import(text: str, glob: str) -> str:
    """Return text whose top-level imports holds glob; the text is unchanged when it already does."""
    imports = tomlread.loads(text).get("imports", [])
    if not isinstance(imports, list):
        raise ValueError(f"the top-level imports is a {type(imports).__name__}, not an array")
    if glob in imports:
        return text
    newline = "\r\n" if "\r\n" in text else "\n"
    keys = top_level(text)
    if "imports" in keys:
        _key, start, end = keys["imports"]
        if not text.startswith("[", start):
            raise ValueError("the top-level imports could not be located as an array in the text")
        return add_to_array(text, start, end, glob, newline)
    line = f"imports = [{_quote(glob, '')}]{newline}"
    if "version" in keys:
        pos = text.find("\n", keys["version"][2])
        if pos < 0:
            return text + newline + line
        return text[: pos + 1] + line + text[pos + 1:]
    pos = 0
    while text.startswith("#", pos):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return text + newline + line
    return text[:pos] + line + text[pos:]


def plan(before: str, glob: str) -> tuple[str, list[Any]]:
    """Edit the text and check the outcome with tomllib; return the new text and the imports it holds."""
    try:
        original = tomlread.loads(before)
    except tomlread.TOMLError as err:
        raise ValueError(f"is not valid TOML ({err}); it was left untouched") from err
    after = add_import(before, glob)
    parsed = tomlread.loads(after)
    imports = original.get("imports", [])
    expected = {**original, "imports": imports if glob in imports else [*imports, glob]}
    if parsed != expected:
        raise ValueError("could not be edited safely (the result would differ beyond imports); it was left untouched")
    return after, parsed["imports"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "default": "/etc/containerd/config.toml"},
            "import_glob": {"type": "str", "default": "/etc/containerd/conf.d/*.toml"},
            "create": {"type": "bool", "default": True},
            "config_version": {"type": "int", "default": 2},
        },
        supports_check_mode=True,
    )
    params = module.params
    path, glob = Path(params["path"]), params["import_glob"]
    existing = read_text(path)
    if existing is not None:
        before = source = existing
    elif params["create"]:
        before, source = "", f"version = {params['config_version']}\n"
    else:
        module.fail_json(msg=f"{path} does not exist and create is false")
    try:
        after, imports = plan(source, glob)
    except ValueError as err:
        module.fail_json(msg=f"{path} {err}")
    except RuntimeError as err:  # no TOML reader on this Python
        module.fail_json(msg=f"{path} was left untouched: {err}")
    changed = after != before
    result: dict[str, Any] = {"changed": changed, "imports": imports}
    if module._diff:
        result["diff"] = {"before_header": str(path), "after_header": str(path), "before": before, "after": after}
    if changed and not module.check_mode:
        write_atomic(path, after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
