"""harness/check_collections.py: Galaxy version requirements against installed collections."""

from __future__ import annotations

import pytest
from conftest import load_module

mod = load_module("harness/check_collections.py")


@pytest.mark.parametrize(("spec", "version", "ok"), [
    (">=11.4.0,<12.0.0", "11.4.2", True),
    (">=11.4.0,<12.0.0", "12.0.0", False),
    ("1.18.0", "1.18.0", True),
    ("1.18.0", "1.18.1", False),
    ("*", "0.1.0", True),
])
def test_galaxy_requirements_translate(spec, version, ok):
    assert (version in mod.to_specifier(spec)) is ok


def test_missing_and_wrong_versions_are_named():
    required = [{"name": "community.general", "version": ">=11.4.0,<12.0.0"}, {"name": "ansible.posix"}]
    installed = {"community.general": ["10.7.0"]}
    assert mod.problems(required, installed) == [
        "community.general: installed 10.7.0, requirements.yml wants <12.0.0,>=11.4.0",
        "ansible.posix: not installed (requirements.yml wants any version)",
    ]


def test_one_satisfying_install_among_several_is_enough():
    assert mod.problems([{"name": "a.b", "version": ">=2"}], {"a.b": ["1.0.0", "2.1.0"]}) == []
