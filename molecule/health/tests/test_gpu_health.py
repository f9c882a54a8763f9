"""gpu_health: SKIP with the reason in a container, FAIL and SKIP on a saved RTX 3090 output."""

from __future__ import annotations

import json

import pytest


def load(host, path: str) -> dict:
    file = host.file(path)
    assert file.exists, f"{path} missing"
    return json.loads(file.content_string)


def test_in_a_container_every_check_is_skip_with_a_reason(host):
    fact = load(host, "/etc/ansible/facts.d/gpu_health.fact")
    assert fact["verdict"] == "SKIP"
    assert fact["checks"], "no checks recorded"
    for check in fact["checks"]:
        assert check["verdict"] == "SKIP", check
        assert "container" in check["reason"], check


def test_the_node_report_is_written(host):
    report = load(host, "/var/lib/gpu-rig/gpu_health.json")
    assert report["verdict"] == "SKIP" and report["facts"]["available"] is False
    assert host.file("/var/lib/gpu-rig/gpu_health.json").mode == 0o644


@pytest.fixture
def fixture_checks(host) -> dict:
    report = load(host, "/opt/lab-fixture/report/gpu_health.json")
    return {(c["name"], c.get("gpu")): c for c in report["checks"]}


def test_persistence_off_fails_on_the_saved_3090_output(fixture_checks):
    assert fixture_checks[("persistence", 0)]["verdict"] == "FAIL"


def test_ecc_is_skip_never_pass_on_geforce(fixture_checks):
    for index in range(4):
        assert fixture_checks[("ecc", index)]["verdict"] == "SKIP", fixture_checks[("ecc", index)]


def test_the_x8_slot_is_checked_against_its_expected_width(fixture_checks):
    assert fixture_checks[("pcie_width", 2)]["verdict"] == "PASS", fixture_checks[("pcie_width", 2)]
    assert fixture_checks[("pcie_gen", 0)]["verdict"] == "PASS", fixture_checks[("pcie_gen", 0)]


def test_a_saved_output_does_not_overwrite_the_nodes_own_fact(host):
    assert load(host, "/etc/ansible/facts.d/gpu_health.fact")["verdict"] == "SKIP"
