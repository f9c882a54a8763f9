"""memory_health: SKIP in a container (never PASS), rasdaemon enabled, FAIL on a UE fixture tree."""

from __future__ import annotations

import json

HARDWARE_CHECKS = ["ecc_active", "edac_controllers", "dimm_count", "registered_ecc", "uncorrectable_errors"]


def load(host, path: str) -> dict:
    file = host.file(path)
    assert file.exists, f"{path} missing"
    return json.loads(file.content_string)


def test_rasdaemon_is_installed_and_enabled(host):
    assert host.package("rasdaemon").is_installed
    assert host.package("memtester").is_installed
    assert host.run("systemctl is-enabled rasdaemon").stdout.strip() == "enabled"


def test_hardware_checks_skip_in_a_container_and_never_pass(host):
    fact = load(host, "/etc/ansible/facts.d/memory_health.fact")
    checks = {c["name"]: c for c in fact["checks"]}
    for name in HARDWARE_CHECKS:
        assert checks[name]["verdict"] == "SKIP", checks[name]
        assert checks[name]["reason"], checks[name]
    assert all(c["verdict"] != "PASS" for c in fact["checks"]), fact["checks"]


def test_the_node_report_is_written_and_no_baseline_of_unseen_counts(host):
    report = load(host, "/var/lib/gpu-rig/memory_health.json")
    assert report["root"] == "/" and report["verdict"] == "SKIP"
    # No EDAC in a container: there are no error counts to keep a baseline of.
    assert not host.file("/var/lib/gpu-rig/memory_baseline.json").exists


def test_the_fixture_trees_counts_became_its_baseline(host):
    baseline = load(host, "/opt/lab-fixture/ue_nonzero/var/lib/gpu-rig/memory_baseline.json")
    assert "mc0" in json.dumps(baseline), baseline


def test_the_fixture_tree_with_an_uncorrectable_error_fails(host):
    report = load(host, "/opt/lab-fixture/report/memory_health.json")
    checks = {c["name"]: c for c in report["checks"]}
    assert report["verdict"] == "FAIL"
    assert checks["uncorrectable_errors"]["verdict"] == "FAIL", checks["uncorrectable_errors"]
    assert checks["ecc_active"]["verdict"] == "PASS", checks["ecc_active"]


def test_a_fixture_tree_does_not_overwrite_the_nodes_own_fact(host):
    assert load(host, "/etc/ansible/facts.d/memory_health.fact")["verdict"] == "SKIP"
