"""tomlread: the TOML reader on Python 3.11 (tomllib) and on 3.10 with python3-tomli."""

from __future__ import annotations

import pytest
from conftest import plugin

tomlread = plugin("module_utils", "tomlread")


def test_loads_containerd_config():
    assert tomlread.loads('version = 2\nimports = ["/etc/containerd/conf.d/*.toml"]\n') == {
        "version": 2, "imports": ["/etc/containerd/conf.d/*.toml"]}


def test_invalid_toml_is_a_value_error_naming_the_place():
    with pytest.raises(tomlread.TOMLError, match="line 1"):
        tomlread.loads("version = = 2\n")


def test_without_a_reader_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setattr(tomlread, "_toml", None)
    with pytest.raises(RuntimeError, match="python3-tomli"):
        tomlread.loads("version = 2\n")
