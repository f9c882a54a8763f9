"""site.yml's rules: every node is checked before any changes, and a failed node stops the rollout.

Four nodes on this machine (local connections), in check mode.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def site(tmp_path: Path, node02: dict, *args: str) -> tuple[int, dict]:
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "ansible_become": False, "site_gpu_stack": False, "gpu_health_report_only": True}
             for name in ("node01", "node02", "node03", "node04")}
    hosts["node02"].update(node02)
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"gpu_nodes": {"hosts": hosts}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventory.yml", "--check",
                          *args, str(ROOT / "playbooks/site.yml")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    report, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{"):])
    return run.returncode, report


def failures(report: dict) -> list[tuple[str, str, str]]:
    return [(play["play"]["name"], host, str(result.get("msg", ""))) for play in report["plays"]
            for task in play["tasks"] for host, result in task["hosts"].items() if result.get("failed")]


def test_a_bad_value_on_one_node_stops_the_run_before_any_node_changes(tmp_path):
    rc, report = site(tmp_path, {"node_base_apt_cache_valid_time": -1}, "--tags", "site_inputs_only")
    assert rc != 0
    assert [play["play"]["name"] for play in report["plays"]] == ["Check every node before changing any"]
    found = failures(report)
    assert [(host, "node_base_apt_cache_valid_time" in msg) for _, host, msg in found] == [("node02", True)], found


def test_a_node_failing_in_its_batch_stops_the_rollout_and_is_named(tmp_path):
    # node02 passes the preflight but its health check cannot read its saved nvidia-smi output; with two nodes
    # per batch (site_serial=2), node03 and node04 must not be started.
    rc, report = site(tmp_path, {"gpu_health_xml_file": str(tmp_path / "missing.xml")},
                      "--tags", "gpu_health", "-e", "site_serial=2")
    assert rc != 0
    provisioned = [play for play in report["plays"] if play["play"]["name"] == "Provision GPU nodes"]
    hosts = {host for play in provisioned for task in play["tasks"] for host in task["hosts"]}
    assert hosts == {"node01", "node02"}, f"the rollout went on past the failed node02: {sorted(hosts)}"
    found = failures(report)
    assert found and {host for _, host, _ in found} == {"node02"}, found
