"""site.yml's rules: every node is checked before any changes; nodes provision side by side, a failed one
drops out (or, with site_max_fail_percentage 0, stops them all); reboots roll one node at a time.

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


def site(tmp_path: Path, extra: dict, *args: str) -> tuple[int, dict]:
    """site.yml in check mode on four local nodes; extra: node02's variables, or {node: variables}."""
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "ansible_become": False, "site_gpu_stack": False, "gpu_health_report_only": True}
             for name in ("node01", "node02", "node03", "node04")}
    for name, variables in (extra.items() if set(extra) <= set(hosts) and extra else [("node02", extra)]):
        hosts[name].update(variables)
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


def hosts_of(report: dict, play_name: str) -> list[list[str]]:
    """The hosts of each batch of the named play, in order (one entry per batch)."""
    return [sorted({host for task in play["tasks"] for host in task["hosts"]})
            for play in report["plays"] if play["play"]["name"] == play_name]


PROVISION = "Provision GPU nodes - CUDA, the container engine, power and health"


def test_a_failed_node_drops_out_and_the_others_go_on(tmp_path):
    # node02 passes the preflight but its health check cannot read its saved nvidia-smi output.
    rc, report = site(tmp_path, {"gpu_health_xml_file": str(tmp_path / "missing.xml")}, "--tags", "gpu_health")
    assert rc != 0
    found = failures(report)
    assert found and {host for _, host, _ in found} == {"node02"}, found
    last = [play for play in report["plays"] if play["play"]["name"] == PROVISION][-1]["tasks"][-1]
    assert set(last["hosts"]) == {"node01", "node03", "node04"}, f"the others did not finish: {last['hosts']}"


def test_max_fail_percentage_0_stops_every_node_at_the_first_failure(tmp_path):
    rc, report = site(tmp_path, {"gpu_health_xml_file": str(tmp_path / "missing.xml")}, "--tags", "gpu_health",
                      "-e", "site_max_fail_percentage=0")
    assert rc != 0
    tasks = [play for play in report["plays"] if play["play"]["name"] == PROVISION][-1]["tasks"]
    failed_at = next(i for i, task in enumerate(tasks) if any(r.get("failed") for r in task["hosts"].values()))
    assert all(not task["hosts"] for task in tasks[failed_at + 1:]), "nodes went on after the first failure"


def test_reboots_roll_one_node_at_a_time_and_only_where_one_is_needed(tmp_path):
    pending = {"nvidia_driver_reboot_required": True, "nvidia_driver_installed_version": "580.95.05",
               "nvidia_driver_loaded_version": "570.172.08"}
    inventory_hosts = {"node02": pending, "node03": pending}
    rc, report = site(tmp_path, inventory_hosts, "--tags", "nvidia_driver_reboot")
    assert rc == 0, failures(report)
    batches = hosts_of(report, "Reboot into the new NVIDIA module - one node at a time")
    assert batches == [["node02"], ["node03"]], batches
    # nvidia_driver_reboot is false by default: each node's guard defers its reboot and says why.
    messages = [str(result.get("msg", "")) for play in report["plays"] for task in play["tasks"]
                for result in task["hosts"].values()]
    assert sum("REBOOT DEFERRED" in message for message in messages) == 2, messages
