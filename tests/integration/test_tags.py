"""A run limited by --tags to one role leaves the others out cleanly: their always-run argument checks must
not need what their skipped tasks would have registered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("roles", [["gpu_health"], ["memory_health"], ["gpu_power"], ["gpu_health", "memory_health"]])
def test_a_run_tagged_for_something_else_skips_the_role_without_failing(tmp_path, roles):
    play = [{"name": "Tags", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "roles": [{"role": f"gpu_rig.cluster.{r}", "tags": [r]} for r in roles],
             "tasks": [{"name": "Something else", "ansible.builtin.debug": {"msg": "other"}, "tags": ["other"]}]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-e",
                          f"ansible_python_interpreter={sys.executable}", "--tags", "other", str(playbook)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "failed=0" in out and '"msg": "other"' in out, out
