"""The cluster report page in a real browser: Debian's headless chromium renders it, takes a screenshot,
and the table's cells are read back from the DOM chromium built.

The node records are what playbooks/report.yml gathers, made here from real outputs: gpu_health's facts
and checks from the H200's `nvidia-smi -q -x` (tests/fixtures/nvidia_smi, with a real Xid 79 kernel log),
and a container node whose checks SKIP. The screenshot stays in build/ as a test artifact.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible_collections.gpu_rig.cluster.plugins.filter.report import (
    cluster_report_html,
    cluster_report_markdown,
    cluster_report_rows,
)
from ansible_collections.gpu_rig.cluster.plugins.module_utils.gpu_checks import evaluate
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi_xml import parse_smi_xml
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import overall
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid import parse_xids

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "harness"))

import browser  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"


def h200_node() -> dict:
    facts = parse_smi_xml((FIXTURES / "nvidia_smi" / "h200_driver580_smi_qx.xml").read_text())
    log = (FIXTURES / "kernel_logs" / "nvidia" / "xid79_rtx5090_issue1151.log").read_text()
    facts.update(available=True, reason="nvidia-smi -q -x", kernel_log="journalctl -k -b",
                 xid_events=parse_xids(log, facts["gpus"]))
    expected = {"gpus_expected": True, "gpu_count": 1, "gpu_model": "NVIDIA H200"}
    env = {"container": None, "vm": None, "virtualization": {"kind": "none", "type": None}, "nvidia_pci_gpus": []}
    checks = evaluate(facts, expected, 5, env, 100)
    return {"host": "h200-node", "os": "Ubuntu 24.04 (noble)", "virtualization": "",
            "hardware": {"gpu_count": 1, "gpu_model": "NVIDIA H200"},
            "gpu_health": {"verdict": overall(checks), "checks": checks, "facts": facts},
            "memory_health": None,
            "gpu_power": {"targets_w": [600.0], "budget": {"ok": True, "total_w": 855.0, "allowed_w": 1440.0}},
            "validated": "2026-12-01 10:00:00 UTC",
            "driver_state": {"installed_version": "580.95.05", "loaded_version": "580.95.05", "reboot_required": False},
            "versions": {"nvidia_driver_version": "580.95.05",
                         "cuda_toolkit_package_versions": {"cuda-toolkit-12-8": "12.8.1-1"}},
            "lock": {"nvidia_driver_version": "580.95.05",
                     "cuda_toolkit_package_versions": {"cuda-toolkit-12-8": "12.8.1-1"}},
            "lock_differences": [], "stand_ins": [], "stand_in_stack": False}


def container_node() -> dict:
    skip = "container (podman): nvidia-smi failed (rc=9)"
    checks = [{"name": "gpu_count", "gpu": None, "verdict": "SKIP", "reason": skip}]
    return {"host": "lab-node1", "os": "Debian 12.15 (bookworm)", "virtualization": "podman guest",
            "hardware": {"gpu_count": 4, "gpu_model": "NVIDIA GeForce RTX 3090"},
            "gpu_health": {"verdict": "SKIP", "checks": checks,
                           "facts": {"available": False, "reason": "nvidia-smi failed (rc=9)", "gpus": [],
                                     "xid_events": None, "kernel_log": "not read: no GPUs available or expected"}},
            "memory_health": None, "gpu_power": None, "validated": "never",
            "driver_state": {"installed_version": "580.95.05", "loaded_version": "", "reboot_required": True},
            "versions": {"nvidia_driver_version": "580.95.05", "nvidia_container_toolkit_version": "1.17.8-1"},
            "lock": {"nvidia_container_toolkit_version": "1.18.0-1"},
            "lock_differences": ["nvidia_container_toolkit_version is 1.17.8-1, the lock says 1.18.0-1"],
            "stand_ins": ["nvidia-container-toolkit"], "stand_in_stack": True}


REPORT = {"generated": "2026-12-02 02:00:00 UTC", "target_gpus": 8, "unreachable": ["gpu-node03"],
          "nodes": [h200_node(), container_node()],
          "drift": {"finished": "2026-12-02T01:59:00+0000",
                    "hosts": {"h200-node": {"status": "clean", "drift": [], "errors": []},
                              "lab-node1": {"status": "drifted", "errors": [],
                                            "drift": [{"task": "node_base : Hold the driver", "diff": ""}]}}}}


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    if browser.chromium() is None:
        pytest.fail("chromium is not installed: make setup installs it (Debian package chromium)")
    out = tmp_path_factory.mktemp("report")
    html = out / "cluster.html"
    html.write_text(cluster_report_html(REPORT), encoding="utf-8")
    screenshot = ROOT / "build" / "test-artifacts" / "cluster-report.png"
    return browser.render(html, screenshot), screenshot


def test_the_browser_renders_the_page_and_a_screenshot(page):
    dom, screenshot = page
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 10_000
    assert "<table id=\"nodes\">" in dom


def test_the_summary_counts_gpus_against_the_inventory_and_the_target(page):
    spans = browser.spans(page[0])
    assert (spans["node-count"], spans["gpus-seen"], spans["gpus-expected"], spans["gpus-target"]) == (
        "2", "1", "5", "8")


def test_the_cells_say_what_each_node_showed(page):
    rows = {row["node"]: row for row in browser.table_rows(page[0], "nodes")}
    assert set(rows) == {"h200-node", "lab-node1"}
    h200, lab = rows["h200-node"], rows["lab-node1"]
    assert h200["gpus"] == "1 of 1 expected" and h200["model"] == "NVIDIA H200"
    assert h200["xid"] == "Xid 79 x1", h200["xid"]
    assert h200["lock"] == "matches" and h200["drift"].startswith("clean")
    assert h200["psu"] == "within: 855 W of 1440 W allowed"
    # What the container could not show is never a PASS.
    assert lab["gpus"].startswith("0 seen of 4 expected") and lab["gpu_health"].startswith("SKIP")
    assert lab["memory"] == "UNKNOWN: no report on the node" and lab["power"].startswith("UNKNOWN")
    assert lab["container_toolkit"] == "1.17.8-1 (STAND-IN)"
    assert lab["lock"].startswith("DIFFERS: nvidia_container_toolkit_version is 1.17.8-1")
    assert lab["driver"] == "580.95.05 (STAND-IN) (loaded: none; reboot pending)"
    assert lab["drift"].startswith("DRIFTED: 1 task(s): node_base : Hold the driver")


def test_stand_ins_and_unreachable_nodes_are_said(page):
    dom = page[0]
    assert 'id="stand-in"' in dom and "contain no NVIDIA software" in dom
    assert 'id="unreachable"' in dom and "gpu-node03" in dom


def test_markdown_and_rows_carry_the_same_cells():
    rows = cluster_report_rows(REPORT)
    markdown = cluster_report_markdown(REPORT)
    for row in rows:
        assert f"| {row['node']} | {row['os']}" in markdown
    assert "Not read (unreachable or failed): gpu-node03." in markdown
