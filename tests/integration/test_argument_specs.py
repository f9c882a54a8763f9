"""Every role rejects bad input before any change, with a message that names the variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    ("nvidia_driver", {"nvidia_driver_branch": "latest"}, "nvidia_driver_branch"),
    ("nvidia_driver", {"nvidia_driver_flavour": "closed"}, "nvidia_driver_flavour"),
    ("nvidia_driver", {"nvidia_driver_source": "runfile"}, "nvidia_driver_source"),
    ("cuda_toolkit", {"cuda_toolkit_source": "pip"}, "cuda_toolkit_source"),
    ("gpu_power", {"gpu_power_limit_w": "lots"}, "gpu_power_limit_w"),
    ("memory_health", {"memory_health_ce_threshold": "some"}, "memory_health_ce_threshold"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_repo_channel": "nightly"},
     "nvidia_container_toolkit_repo_channel"),
    ("node_base", {"node_base_apt_cache_valid_time": "hourly"}, "node_base_apt_cache_valid_time"),
    ("container_engine", {"container_engine_engine": "lxd"}, "container_engine_engine"),
]


def run_play(tmp_path: Path, play: list, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a play on localhost; with check (the default), should a bad value ever get through, nothing is
    written on the machine running the tests."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,",
            *(["--check"] if check else []), "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)


@pytest.mark.parametrize(("role", "bad", "variable"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_bad_input_is_rejected_before_any_task(tmp_path, role, bad, variable):
    play = [{"name": "Argument check", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {"name": f"gpu_rig.cluster.{role}"},
                        "vars": bad}]}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.junit",
               JUNIT_OUTPUT_DIR=str(tmp_path), ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", str(playbook)],
                         capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    out = run.stdout + run.stderr
    assert run.returncode != 0, f"{role} accepted {bad}:\n{out}"
    assert "Validating arguments against arg spec" in out, out
    assert variable in out, f"the failure does not name {variable}:\n{out}"
    # Validation is the role's first task: nothing after it ran (ok=1 is the include itself).
    assert re.search(r"ok=1\s+changed=0\s+unreachable=0\s+failed=1", out), out


@pytest.mark.parametrize(("hardware", "named"), [
    ({"gpu_count": "four"}, "gpu_count"),
    ({"gpu_cout": 4}, "gpu_cout"),
    ({"memory_gb": [128]}, "memory_gb"),
])
def test_a_bad_hardware_contract_stops_the_health_role_naming_the_key(tmp_path, hardware, named):
    play = [{"name": "Hardware contract", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"gpu_rig_hardware": hardware},
             "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {"name": "gpu_rig.cluster.gpu_power"},
                        "vars": {"gpu_power_apply_now": False}}]}]
    run = run_play(tmp_path, play)
    out = run.stdout + run.stderr
    assert run.returncode != 0, f"gpu_power accepted gpu_rig_hardware={hardware}:\n{out}"
    assert "gpu_rig_hardware" in out and named in out, out
    # The contract is read before the PSU budget and before anything is written.
    assert "Check the PSU budget" not in out, out


@pytest.mark.parametrize(("bad", "named"), [
    ({"gpu_power_limit_w": -50}, "gpu_power_limit_w"),
    ({"gpu_power_limits_by_index": {2: -10}}, "gpu_power_limits_by_index"),
    ({"gpu_power_limits_by_index": {7: 280}}, "gpu_power_limits_by_index"),
    ({"gpu_power_clock_lock_mhz": "1400,1695\nExecStartPost=/bin/sh -c id"}, "gpu_power_clock_lock_mhz"),
    ({"gpu_power_gpu_count": -1}, "gpu_power_gpu_count"),
    ({"gpu_power_psu_watts": 0}, "gpu_power_psu_watts"),
])
def test_bad_power_inputs_stop_before_the_budget_and_the_unit(tmp_path, bad, named):
    play = [{"name": "Power inputs", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"gpu_rig_hardware": {"gpu_count": 4}},
             "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {"name": "gpu_rig.cluster.gpu_power"},
                        "vars": {"gpu_power_apply_now": False, **bad}}]}]
    run = run_play(tmp_path, play)
    out = run.stdout + run.stderr
    assert run.returncode != 0, f"gpu_power accepted {bad}:\n{out}"
    assert named in out, out
    assert "Check the PSU budget" not in out and "Write the boot-time" not in out, out


INJECTIONS = [
    ("third_party_repo", {"third_party_repo_name": "../../etc/x", "third_party_repo_uri": "https://example.invalid/r/",
                          "third_party_repo_key_url": "https://example.invalid/k.asc",
                          "third_party_repo_fingerprints": ["EB693B3035CD5710E231E123A4B469963BF863CC"]},
     "third_party_repo_name"),
    ("third_party_repo", {"third_party_repo_name": "x",
                          "third_party_repo_uri": "https://example.invalid/r/\nTrusted: yes",
                          "third_party_repo_key_url": "https://example.invalid/k.asc",
                          "third_party_repo_fingerprints": ["EB693B3035CD5710E231E123A4B469963BF863CC"]},
     "third_party_repo_uri"),
    ("third_party_repo", {"third_party_repo_name": "x", "third_party_repo_uri": "https://example.invalid/r/",
                          "third_party_repo_key_url": "https://example.invalid/k.asc",
                          "third_party_repo_fingerprints": ["3BF863CC"]},
     "third_party_repo_fingerprints"),
    ("third_party_repo", {"third_party_repo_name": "x", "third_party_repo_uri": "https://example.invalid/r/",
                          "third_party_repo_key_url": "https://example.invalid/k.asc",
                          "third_party_repo_fingerprints": ["EB693B3035CD5710E231E123A4B469963BF863CC"],
                          "third_party_repo_suites": ["stable\nTrusted: yes"]},
     "third_party_repo_suites"),
    ("nvidia_driver", {"nvidia_driver_module_options": {"nvidia": {"NVreg_X": "1\ninstall nvidia /bin/sh -c id"}}},
     "nvidia_driver_module_options"),
    ("nvidia_driver", {"nvidia_driver_version": "latest"}, "nvidia_driver_version"),
    ("nvidia_container_toolkit", {"nvidia_container_toolkit_version": "1.17.8-1\nPackage: *"},
     "nvidia_container_toolkit_version"),
    ("container_engine", {"container_engine_docker_users": ["no-such-account-here"]}, "no-such-account-here"),
]


@pytest.mark.parametrize(("role", "bad", "named"), INJECTIONS, ids=[f"{c[0]}-{c[2]}" for c in INJECTIONS])
def test_values_that_would_inject_into_files_stop_the_role_naming_them(tmp_path, role, bad, named):
    play = [{"name": "Injection", "hosts": "localhost", "connection": "local", "gather_facts": True,
             "gather_subset": ["min"],
             "tasks": [{"name": "Apply the role", "ansible.builtin.include_role": {"name": f"gpu_rig.cluster.{role}"},
                        "vars": bad}]}]
    run = run_play(tmp_path, play)
    out = run.stdout + run.stderr
    assert run.returncode != 0, f"{role} accepted {bad}:\n{out}"
    assert named in out, out
    assert "changed=0" in out, out
