"""Every role README's variable table is what aar-doc generates from meta/argument_specs.yml today."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
TEMPLATE = ROOT / "harness" / "readme" / "variables.md.j2"
SECTIONS = ("## What it does", "## Requirements", "## Variables", "## Example playbook", "## Tags",
            "## What it never does")


def aar_doc() -> str:
    found = shutil.which("aar-doc") or str(Path(sys.executable).with_name("aar-doc"))
    if not Path(found).exists():
        pytest.fail("aar-doc is not installed: run make setup")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_the_variable_table_is_generated_from_the_specs(role, tmp_path):
    readme = ROOT / "roles" / role / "README.md"
    copy = tmp_path / "README.md"
    shutil.copy(readme, copy)
    subprocess.run([aar_doc(), "--output-template", str(TEMPLATE), "--output-file", str(copy), str(readme.parent),
                    "markdown"], check=True, cwd=ROOT, capture_output=True)
    assert copy.read_text() == readme.read_text(), f"roles/{role}/README.md is stale: run `make readmes`"


@pytest.mark.parametrize("role", ROLES)
def test_the_readme_has_the_shared_skeleton(role):
    text = (ROOT / "roles" / role / "README.md").read_text()
    positions = [text.find(s) for s in SECTIONS]
    missing = [s for s, p in zip(SECTIONS, positions, strict=True) if p < 0]
    assert not missing, f"roles/{role}/README.md lacks {missing}"
    assert positions == sorted(positions), f"roles/{role}/README.md: sections out of order"


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_in_the_table(role):
    import yaml

    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    text = (ROOT / "roles" / role / "README.md").read_text()
    block = text[text.index("<!-- BEGIN_ANSIBLE_DOCS -->"):text.index("<!-- END_ANSIBLE_DOCS -->")]
    missing = [name for entry in specs.values() for name in (entry.get("options") or {}) if f"`{name}`" not in block]
    assert not missing, f"roles/{role}/README.md: table lacks {missing}"
