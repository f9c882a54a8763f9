#!/usr/bin/python
# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: make the distribution's apt entries carry the components a role needs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: apt_components
short_description: Add components to the distribution's existing apt entries, in place
description:
  - Finds the apt entries of the distribution (those whose suite is one of O(suites) and that carry
    O(anchor_component)) in C(/etc/apt/sources.list), C(sources.list.d/*.list) (one-line style)
    and C(sources.list.d/*.sources) (deb822), and appends the missing O(components) to each.
  - Everything else in those files (comments, options, mirrors, other repositories) is kept as it is.
  - With O(update_cache), runs C(apt-get update) after a change; if that fails, the files are put back
    as they were, so apt is left working, and the module fails with apt's message.
options:
  components:
    description: Components every distribution entry must carry.
    type: list
    elements: str
    required: true
  suites:
    description: Suites that identify the distribution's entries (e.g. bookworm, bookworm-updates).
    type: list
    elements: str
    required: true
  anchor_component:
    description: A component an entry must already carry to count as the distribution's.
    type: str
    default: main
  update_cache:
    description:
      - Run C(apt-get update) for the changed files only after a change, and roll the change back if it fails
        (a broken repository in another file is not this change's failure).
    type: bool
    default: true
  lock_timeout:
    description: Seconds to wait for another apt or dpkg to let go of apt's lists lock.
    type: int
    default: 300
  root:
    description: Root of the file system to work on (tests point it at a fixture tree).
    type: path
    default: /
author: GPU rig maintainers (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Carry contrib, non-free and non-free-firmware on Debian's entries
  gpu_rig.cluster.apt_components:
    components: [main, contrib, non-free, non-free-firmware]
    suites: [bookworm, bookworm-updates, bookworm-security]
"""

RETURN = r"""
changed_files:
  description: Files that were (or, in check mode, would be) rewritten.
  type: list
  returned: always
entries:
  description: Distribution entries found, with the components each carries after the change.
  type: list
  returned: always
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.gpu_rig.cluster.plugins.module_utils.apt import run_update
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import write_atomic

ONE_LINE = re.compile(
    r"^(?P<lead>\s*)(?P<type>deb|deb-src)(?P<sp1>\s+)(?P<opts>\[[^\]]*\]\s+)?(?P<uri>\S+)(?P<sp2>\s+)"
    r"(?P<suite>\S+)(?P<comps>(?:\s+[^\s#]+)*)(?P<tail>\s*(?:#.*)?)$"
)


@dataclass
class Entry:
    """A distribution entry found in a sources file."""

    path: str
    uri: str
    suites: list[str]
    components: list[str]
    added: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "uri": self.uri, "suites": self.suites,
                "components": self.components, "added": self.added}


def _missing(have: list[str], want: list[str]) -> list[str]:
    return [c for c in want if c not in have]


def rewrite_one_line(text: str, path: str, suites: set[str], want: list[str], anchor: str) -> tuple[str, list[Entry]]:
    """Rewrite one-line style sources; return the new text and the distribution entries."""
    out, entries = [], []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        match = ONE_LINE.match(body)
        if match and match["suite"] in suites and anchor in match["comps"].split():
            comps = match["comps"].split()
            add = _missing(comps, want)
            entries.append(Entry(path, match["uri"], [match["suite"]], comps + add, add))
            if add:
                end = match.end("comps")
                body = body[:end] + "".join(f" {c}" for c in add) + body[end:]
                line = body + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return "".join(out), entries


def _stanzas(text: str) -> list[list[str]]:
    """Split deb822 text into stanzas (lists of lines, keeping line ends), blank lines as their own."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() == "":
            if current:
                blocks.append(current)
                current = []
            blocks.append([line])
        else:
            current.append(line)
    if current:
        blocks.append(current)
    return blocks


def _field(lines: list[str], name: str) -> tuple[int, str] | None:
    for index, line in enumerate(lines):
        if not line.startswith("#") and ":" in line and line.split(":", 1)[0].strip().lower() == name.lower():
            return index, line.split(":", 1)[1].strip()
    return None


def rewrite_deb822(text: str, path: str, suites: set[str], want: list[str], anchor: str) -> tuple[str, list[Entry]]:
    """Rewrite deb822 sources; only single-line Components fields are touched."""
    out, entries = [], []
    for block in _stanzas(text):
        suite_field, comp_field = _field(block, "Suites"), _field(block, "Components")
        enabled = _field(block, "Enabled")
        uris = _field(block, "URIs")
        if (
            suite_field and comp_field
            and not (enabled and enabled[1].lower() in ("no", "false"))
            and set(suite_field[1].split()) & suites
            and anchor in comp_field[1].split()
        ):
            comps = comp_field[1].split()
            add = _missing(comps, want)
            entries.append(Entry(path, uris[1] if uris else "", suite_field[1].split(), comps + add, add))
            if add:
                index = comp_field[0]
                line = block[index]
                ending = "\n" if line.endswith("\n") else ""
                block = [*block]
                block[index] = line.rstrip("\n") + "".join(f" {c}" for c in add) + ending
        out.extend(block)
    return "".join(out), entries


def source_files(root: Path) -> list[Path]:
    apt = root / "etc/apt"
    files = [apt / "sources.list"] if (apt / "sources.list").is_file() else []
    parts = apt / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.is_file() and p.suffix in (".list", ".sources"))
    return files


def plan(
    root: Path, suites: list[str], want: list[str], anchor: str,
) -> tuple[dict[Path, tuple[str, str]], list[Entry]]:
    """Return {file: (before, after)} for files that change, and every distribution entry."""
    changes: dict[Path, tuple[str, str]] = {}
    entries: list[Entry] = []
    for path in source_files(root):
        before = path.read_text(encoding="utf-8")
        rewrite = rewrite_deb822 if path.suffix == ".sources" else rewrite_one_line
        after, found = rewrite(before, "/" + str(path.relative_to(root)), set(suites), want, anchor)
        entries += found
        if after != before:
            changes[path] = (before, after)
    return changes, entries


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "components": {"type": "list", "elements": "str", "required": True},
            "suites": {"type": "list", "elements": "str", "required": True},
            "anchor_component": {"type": "str", "default": "main"},
            "update_cache": {"type": "bool", "default": True},
            "lock_timeout": {"type": "int", "default": 300},
            "root": {"type": "path", "default": "/"},
        },
        supports_check_mode=True,
    )
    params = module.params
    root = Path(params["root"])
    changes, entries = plan(root, params["suites"], params["components"], params["anchor_component"])
    result: dict[str, Any] = {
        "changed": bool(changes),
        "changed_files": ["/" + str(p.relative_to(root)) for p in changes],
        "entries": [e.as_dict() for e in entries],
    }
    if not entries:
        module.fail_json(
            msg=(f"no apt entry for suites {params['suites']} carrying '{params['anchor_component']}' was found "
                 f"in {root / 'etc/apt'}; add the distribution's archive to the apt sources first"),
            **result,
        )
    if module._diff:
        result["diff"] = [
            {"before_header": name, "after_header": name, "before": before, "after": after}
            for name, (before, after) in zip(result["changed_files"], changes.values(), strict=True)
        ]
    if changes and not module.check_mode:
        for path, (_before, after) in changes.items():
            write_atomic(path, after)
        if params["update_cache"]:
            # Only the changed files are fetched: a broken repository elsewhere is not this change's failure.
            failed = []
            for path in changes:
                rc, output, _waited = run_update(module, str(path), params["lock_timeout"])
                if rc != 0:
                    failed.append(f"{path}: {output.strip()[-1000:]}")
            if failed:
                for path, (before, _after) in changes.items():
                    write_atomic(path, before)
                module.fail_json(
                    msg="apt-get update failed after adding components; the sources were restored as they were. "
                        + " ".join(failed), **result,
                )
            result["cache_updated"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
