#!/usr/bin/env python3
"""Fail clearly unless every collection in requirements.yml is installed at a satisfying version."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]


def to_specifier(galaxy_spec: str) -> SpecifierSet:
    """Translate a Galaxy version string ("1.2.3", ">=1,<2", "*") to a SpecifierSet."""
    spec = str(galaxy_spec or "*").strip()
    if spec == "*":
        return SpecifierSet()
    parts = []
    for part in spec.split(","):
        part = part.strip()
        parts.append(part if part[:1] in "<>=!~" else f"=={part}")
    try:
        return SpecifierSet(",".join(parts))
    except InvalidSpecifier as exc:
        raise ValueError(f"unreadable version requirement {galaxy_spec!r}") from exc


def installed_collections() -> dict[str, list[str]]:
    """Map collection name to every installed version, from ansible-galaxy's JSON listing."""
    galaxy = Path(sys.executable).with_name("ansible-galaxy")
    out = subprocess.run(
        [str(galaxy) if galaxy.exists() else "ansible-galaxy", "collection", "list", "--format", "json"],
        check=True, capture_output=True, text=True,
    ).stdout
    found: dict[str, list[str]] = {}
    for collections in json.loads(out).values():
        for name, info in collections.items():
            found.setdefault(name, []).append(str(info.get("version", "*")))
    return found


def problems(required: list[dict[str, str]], installed: dict[str, list[str]]) -> list[str]:
    """Return one line per requirement that no installed version satisfies."""
    out = []
    for item in required:
        name, spec = item["name"], to_specifier(item.get("version", "*"))
        versions = installed.get(name, [])
        ok = []
        for raw in versions:
            try:
                if Version(raw) in spec:
                    ok.append(raw)
            except InvalidVersion:
                continue
        if not versions:
            out.append(f"{name}: not installed (requirements.yml wants {spec or 'any version'})")
        elif not ok:
            out.append(f"{name}: installed {', '.join(versions)}, requirements.yml wants {spec}")
    return out


def main() -> int:
    data = yaml.safe_load((ROOT / "requirements.yml").read_text(encoding="utf-8"))
    required = [c if isinstance(c, dict) else {"name": c} for c in data.get("collections", [])]
    bad = problems(required, installed_collections())
    if bad:
        print("Collections missing or at the wrong version:", file=sys.stderr)
        for line in bad:
            print(f"  - {line}", file=sys.stderr)
        print("Install them with `pip install -r requirements.txt` (bundled) or "
              "`ansible-galaxy collection install -r requirements.yml`.", file=sys.stderr)
        return 1
    print(f"collections: all {len(required)} in requirements.yml are satisfied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
