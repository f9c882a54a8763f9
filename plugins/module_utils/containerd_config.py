# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""containerd's config.toml, edited as text: the nvidia runtime by the mechanism each containerd major reads.

containerd before 2.0 replaces a plugin's whole section with an imported file's section (containerd
issues 5837 and 7982), so on 1.x the runtime goes into config.toml itself, as a marked block of tables
appended after the user's text. containerd 2.x merges imports into the plugin's section, so there the
runtime is a drop-in of the root file's config version, and config.toml imports it. Every edit is
parsed back and must equal the user's settings plus the runtime; anything else is refused untouched.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils import tomlread

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


def plan_import(before: str, glob: str) -> tuple[str, list[Any]]:
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


# ------------------------------------------------------------------------------ the nvidia runtime -------------

BEGIN = "# BEGIN gpu_rig.cluster: the nvidia runtime (nvidia_container_toolkit role; edits here are replaced)"
END = "# END gpu_rig.cluster: the nvidia runtime"
BLOCK = re.compile(rf"(?:\r?\n)?^{re.escape(BEGIN)}\r?\n.*?^{re.escape(END)}[^\n]*(?:\n|$)", re.M | re.S)
# The plugin that holds CRI runtimes, by (containerd major, config version).
CRI_PLUGIN = {(1, 1): "cri", (1, 2): "io.containerd.grpc.v1.cri",
              (2, 2): "io.containerd.grpc.v1.cri", (2, 3): "io.containerd.cri.v1.runtime"}
CRI_IDS = ("cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime")
BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def containerd_major(version_output: str) -> int:
    """The major version from `containerd --version` (third word: 1.6.20~ds1, 1.7.27, v2.1.4)."""
    words = version_output.split()
    match = re.match(r"v?(\d+)\.\d+", words[2]) if len(words) > 2 else None
    if not match:
        raise ValueError(f"cannot read a version from `containerd --version`: {version_output.strip()!r}")
    return int(match[1])


def _key(part: str) -> str:
    return part if BARE.match(part) else json.dumps(part)


def _header(path: list[str]) -> str:
    return "[" + ".".join(_key(p) for p in path) + "]"


def _get(tree: dict[str, Any], path: list[str]) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _set(tree: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def runtime_tables(path: list[str], runtime: dict[str, Any]) -> str:
    """The runtime's two tables as TOML text: [..runtimes.<name>] and [..runtimes.<name>.options]."""
    lines = [_header(path)]
    lines += [f"  {k} = {_toml_value(v)}" for k, v in runtime.items() if k != "options"]
    lines.append("  " + _header([*path, "options"]))
    lines += [f"    {k} = {_toml_value(v)}" for k, v in runtime["options"].items()]
    return "\n".join(lines) + "\n"


@dataclass
class Plan:
    """What the files must hold: config.toml's text, the drop-in's text (None: no drop-in)."""

    mechanism: str  # config.toml | drop-in | user | none
    reason: str
    config: str
    dropin: str | None = None
    config_version: int = 0
    runtime_path: list[str] = field(default_factory=list)


def plan_runtime(text: str | None, major: int, name: str, binary: str, dropin_path: str, *,
                 dropin_header: str = "") -> Plan:
    """Where and how the nvidia runtime goes for this containerd major (1 or 2), from config.toml's text
    (None: no file). The caller has checked the name (BARE) and the major."""
    source = text if text is not None else f"version = {2 if major == 1 else 3}\n"
    ours = BLOCK.search(source)
    user_text = BLOCK.sub("", source, count=1) if ours else source
    try:
        user = tomlread.loads(user_text)
    except tomlread.TOMLError as err:
        raise ValueError(f"is not valid TOML ({err}); it was left untouched") from err
    version = user.get("version", 1)
    disabled = [p for p in user.get("disabled_plugins", []) if p in CRI_IDS]
    if disabled:
        return Plan("none", f"containerd's CRI plugin is disabled (disabled_plugins has {disabled[0]!r}): "
                    "no CRI runtime to add; Docker's runtimes are in daemon.json", user_text, config_version=version)
    plugin = CRI_PLUGIN.get((major, version))
    if plugin is None:
        reads = "versions 1 and 2" if major == 1 else "versions 2 and 3"
        raise ValueError(f"has config version {version}, which containerd {major}.x does not read ({reads})")
    path = ["plugins", plugin, "containerd", "runtimes", name]
    if _get(user, path) is not None:
        return Plan("user", f"config.toml already defines a {name!r} runtime of its own; it is kept as it is",
                    user_text, config_version=version, runtime_path=path)
    runtime: dict[str, Any] = {"runtime_type": "io.containerd.runc.v2", "options": {"BinaryName": binary}}
    systemd = _get(user, [*path[:-1], "runc", "options", "SystemdCgroup"])
    if isinstance(systemd, bool):  # the same cgroup driver as runc, or pods fail under the other one
        runtime["options"]["SystemdCgroup"] = systemd
    expected = copy.deepcopy(user)
    _set(expected, path, runtime)
    if major == 1:
        after = _inline(source, user_text, ours, path, runtime)
        _check(after, expected, "config.toml")
        return Plan("config.toml", "containerd 1.x replaces a whole plugin section with an imported one, "
                    "so the runtime is a marked block in config.toml itself", after,
                    config_version=version, runtime_path=path)
    dropin = f"{dropin_header}version = {version}\n\n{runtime_tables(path, runtime)}"
    after = plan_import(user_text, dropin_path)[0]
    _check(dropin, {"version": version, **_only(path, runtime)}, "the drop-in")
    return Plan("drop-in", "containerd 2.x merges imported files into the plugin's section", after, dropin,
                config_version=version, runtime_path=path)


def _inline(source: str, user_text: str, ours: re.Match[str] | None, path: list[str],
            runtime: dict[str, Any]) -> str:
    """The user's text, then the marked block (kept as it is when it already holds this runtime)."""
    newline = "\r\n" if "\r\n" in user_text else "\n"
    block = f"{BEGIN}\n{runtime_tables(path, runtime)}{END}\n".replace("\n", newline)
    if ours and ours.group(0).strip() == block.strip():
        return source
    base = user_text if user_text.endswith(newline) or not user_text else user_text + newline
    return base + (newline if base.strip() else "") + block


def _only(path: list[str], value: Any) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    _set(tree, path, value)
    return tree


def _check(text: str, expected: dict[str, Any], what: str) -> None:
    try:
        parsed = tomlread.loads(text)
    except tomlread.TOMLError as err:
        raise ValueError(f"cannot take the runtime's tables after its own text ({err}: a table defined inline "
                         "or by dotted keys); it was left untouched: add the nvidia runtime by hand") from err
    if parsed != expected:
        raise ValueError(f"could not be edited safely ({what} would differ beyond the nvidia runtime); "
                         "it was left untouched")
