"""input_problems: the rules the roles check their inputs with, one message per bad value naming the variable."""

from __future__ import annotations

import pytest
from conftest import plugin

inputs = plugin("filter", "inputs")


def problems(rule, value, name="role_var"):
    return inputs.input_problems({name: rule}, [value])


@pytest.mark.parametrize(("rule", "value"), [
    ({"type": "int", "min": 0}, 0),
    ({"type": "float", "min": 0, "max": 1}, 0.9),
    ({"type": "str", "pattern": "url"}, "https://developer.download.nvidia.com/compute/cuda/repos"),
    ({"type": "str", "pattern": "url"}, "http://host.containers.internal:8765/libnvidia-container"),
    ({"type": "str", "pattern": "version", "empty": True}, ""),
    ({"type": "str", "pattern": "version"}, "1:580.95.05-1"),
    ({"type": "list", "items": "package"}, ["dkms", "linux-headers-amd64", "nvidia-driver=535.261.03-1"]),
    ({"type": "list", "items": "fingerprint"}, ["EB693B3035CD5710E231E123A4B469963BF863CC"]),
    ({"type": "dict", "keys": "kernel_module", "inner_keys": "module_option", "values": "module_value"},
     {"nvidia": {"NVreg_OpenRmEnableUnsupportedGpus": 1, "NVreg_RegistryDwords": "RMUseSwI2c=0x01;RMI2cSpeed=100"}}),
    ({"type": "dict", "keys": "name", "values": "component"}, {"Debian": ["main", "contrib"], "Ubuntu": ["universe"]}),
    ({"type": "str", "pattern": "path"}, "/var/lib/gpu-rig"),
])
def test_good_values_pass(rule, value):
    assert problems(rule, value) == []


@pytest.mark.parametrize(("rule", "value", "says"), [
    ({"type": "int", "min": 0}, -5, "out of range (must be at least 0)"),
    ({"type": "float", "min": 0.01, "max": 1}, 5.0, "out of range (must be from 0.01 to 1)"),
    ({"type": "int", "min": 0}, True, "is a bool, not a int"),
    ({"type": "list", "items": "package"}, "dkms", "a string where a list belongs"),
    ({"type": "list", "items": "package"}, ["vim; rm -rf /"], "role_var[0]: 'vim; rm -rf /' must be a Debian package"),
    ({"type": "list", "min": 1}, [], "needs at least 1"),
    ({"type": "str", "pattern": "url"}, "https://example.invalid/r/\nTrusted: yes", "must be an http(s) URL"),
    ({"type": "str", "pattern": "url"}, "file:///etc/shadow", "must be an http(s) URL"),
    ({"type": "str", "pattern": "name"}, "../../etc/x", "must be a name"),
    ({"type": "str", "pattern": "path"}, "relative/dir", "must be an absolute path"),
    ({"type": "str", "pattern": "path"}, "/etc/apt/../../tmp", "must be an absolute path"),
    ({"type": "list", "items": "fingerprint"}, ["3BF863CC"], "40 hex digits"),
    ({"type": "str", "pattern": "version"}, "latest", "Debian package version"),
    ({"type": "dict", "keys": "kernel_module", "inner_keys": "module_option", "values": "module_value"},
     {"nvidia": {"NVreg_X": "1\ninstall nvidia /bin/sh -c id"}}, "role_var['nvidia']['NVreg_X']"),
    ({"type": "dict", "keys": "kernel_module", "inner_keys": "module_option", "values": "module_value"},
     {"nvidia; x": {"NVreg_X": 1}}, "role_var key: 'nvidia; x'"),
    ({"type": "dict", "keys": "name", "values": "component"}, {"Debian": "main\nTrusted: yes"}, "role_var['Debian']"),
])
def test_bad_values_are_named_with_what_was_expected(rule, value, says):
    found = problems(rule, value)
    assert len(found) == 1 and found[0].startswith("role_var") and says in found[0], found


def test_the_values_must_match_the_rules():
    with pytest.raises(ValueError, match="2 values for 1 rules"):
        inputs.input_problems({"a": {"type": "int"}}, [1, 2])


def test_numbers_given_as_text_are_read_as_numbers():
    assert problems({"type": "int", "min": 390}, "580") == []
    assert problems({"type": "int", "min": 0, "empty": True}, "") == []
    assert "out of range" in problems({"type": "int", "min": 0}, "-1")[0]
    assert "is a str, not a int" in problems({"type": "int"}, "lots")[0]
