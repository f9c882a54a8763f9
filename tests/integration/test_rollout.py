"""site.yml's rollout rule: a failed node stops the rollout; the nodes before it are done, those after untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_a_failed_node_in_a_batch_stops_the_rollout_and_is_named(tmp_path):
    # Four nodes on this machine, two per batch (site_serial=2), in check mode; only the input checks run (tagged
    # always). node02 has a bad value, so its first role stops it; node03 and node04 must not be started.
    hosts = {name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "ansible_become": False, "site_gpu_stack": False}
             for name in ("node01", "node02", "node03", "node04")}
    hosts["node02"]["node_base_apt_cache_valid_time"] = -1
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump({"all": {"children": {"gpu_nodes": {"hosts": hosts}}}}))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "inventory.yml", "--check",
                          "--tags", "site_inputs_only", "-e", "site_serial=2", str(ROOT / "playbooks/site.yml")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    report, _ = json.JSONDecoder().raw_decode(run.stdout[run.stdout.index("{"):])
    stats = report["stats"]
    assert run.returncode != 0
    assert stats["node01"]["failures"] == 0 and stats["node01"]["ok"] > 0, stats
    assert stats["node02"]["failures"] == 1, stats
    assert "node03" not in stats and "node04" not in stats, f"the rollout went on past the failed node02: {stats}"
    failed = [(host, result.get("msg", "")) for play in report["plays"] for task in play["tasks"]
              for host, result in task["hosts"].items() if result.get("failed")]
    assert failed and failed[0][0] == "node02" and "node_base_apt_cache_valid_time" in failed[0][1], failed
