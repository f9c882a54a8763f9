"""The drift callback and playbooks/drift.yml: exactly what would change is reported, and the run says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def playbook(tmp_path: Path, play: list, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="gpu_rig.cluster.drift", GPU_RIG_DRIFT_DIR=str(tmp_path / "report"))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
                          "-e", f"ansible_python_interpreter={sys.executable}", *args, "play.yml"],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    report = json.loads((tmp_path / "report" / "drift.json").read_text())
    return run, report


def test_only_tasks_that_would_change_are_drift_with_their_diff(tmp_path):
    drifted, kept = tmp_path / "drifted.conf", tmp_path / "kept.conf"
    drifted.write_text("# edited by hand\n")  # an admin's hand edit: the line the role wants is gone
    kept.write_text("options nvidia NVreg_X=1\n")
    play = [{"name": "A node", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "Write the nouveau blacklist", "ansible.builtin.copy": {
            "dest": str(drifted), "content": "blacklist nouveau\n", "mode": "0644"}},
        {"name": "Write the module options", "ansible.builtin.copy": {
            "dest": str(kept), "content": "options nvidia NVreg_X=1\n", "mode": preserve_mode(kept)}},
        {"name": "Read something", "ansible.builtin.command": {"argv": ["true"]}, "changed_when": False,
         "check_mode": False},
        {"name": "Skipped", "ansible.builtin.debug": {"msg": "x"}, "when": False},
    ]}]
    run, report = playbook(tmp_path, play, "--check", "--diff")
    assert run.returncode == 0, run.stdout + run.stderr
    host = report["hosts"]["localhost"]
    assert host["status"] == "drifted" and report["drifted"] == ["localhost"]
    assert [d["task"] for d in host["drift"]] == ["Write the nouveau blacklist"], host
    assert "-# edited by hand" in host["drift"][0]["diff"] and "+blacklist nouveau" in host["drift"][0]["diff"]
    markdown = (tmp_path / "report" / "drift.md").read_text()
    assert "| localhost | drifted | 1 |" in markdown and "+blacklist nouveau" in markdown
    assert "DRIFT REPORT" in run.stdout
    assert drifted.read_text() == "# edited by hand\n", "check mode must not have written the file"


def preserve_mode(path: Path) -> str:
    return oct(path.stat().st_mode & 0o777).replace("0o", "0")


def test_a_failed_host_is_not_reported_clean(tmp_path):
    play = [{"name": "A node", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": [
        {"name": "A probe that fails", "ansible.builtin.command": {"argv": ["false"]}, "check_mode": False}]}]
    run, report = playbook(tmp_path, play, "--check")
    assert run.returncode != 0
    assert report["hosts"]["localhost"]["status"] == "failed" and report["drifted"] == ["localhost"]


def test_drift_yml_refuses_to_run_outside_check_mode(tmp_path):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
                          "-e", f"ansible_python_interpreter={sys.executable}", str(ROOT / "playbooks/drift.yml")],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert run.returncode != 0 and "only looks; run it with --check --diff" in run.stdout, run.stdout
