"""The built collection: `ansible-galaxy collection build`, installed into an empty folder, works outside the
repository: its modules, roles and playbooks resolve by their fully qualified names."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
H200_XML = ROOT / "tests/fixtures/nvidia_smi/h200_driver580_smi_qx.xml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("collection")
    outside = work / "elsewhere"
    outside.mkdir()
    (outside / "ansible.cfg").write_text("[defaults]\n")
    paths = {"collections": work / "installed", "cwd": outside}
    done = run(paths, [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work), str(ROOT)])
    assert done.returncode == 0, done.stdout + done.stderr
    artifact = next(work.glob("gpu_rig-cluster-*.tar.gz"))
    # --no-deps: ansible.posix and community.general come from the `ansible` package here (no Galaxy).
    done = run(paths, [str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p",
                       str(paths["collections"]), str(artifact)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert (paths["collections"] / "ansible_collections/gpu_rig/cluster/MANIFEST.json").exists(), done.stdout
    return {"artifact": artifact, **paths}


def playbook(*args: str) -> list[str]:
    return [str(BIN / "ansible-playbook"), "-i", "localhost,", "-e", f"ansible_python_interpreter={sys.executable}",
            *args]


def run(installed: dict[str, Path], argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(installed["cwd"] / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=str(installed["collections"]))
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=installed["cwd"], check=False)


def test_the_artifact_leaves_out_the_lab_the_tests_and_the_inventories(installed):
    with tarfile.open(installed["artifact"]) as tar:
        names = tar.getnames()
    for kept in ("plugins/modules/gpu_facts.py", "plugins/module_utils/verdict.py", "playbooks/site.yml",
                 "roles/common/tasks/health_report.yml", "roles/nvidia_driver/tasks/main.yml", "meta/runtime.yml"):
        assert kept in names, kept
    for left_out in ("tests", "molecule", "harness", "inventory", "roles/lab", "collections", "playbooks/lab.yml"):
        assert not any(n == left_out or n.startswith(left_out + "/") for n in names), left_out


def test_a_playbook_outside_the_repository_calls_the_module_by_its_fqcn(installed):
    play = [{"name": "GPU facts from a saved nvidia-smi output", "hosts": "localhost", "connection": "local",
             "gather_facts": False,
             "tasks": [{"name": "Check the saved H200 output", "gpu_rig.cluster.gpu_facts": {"xml_file": str(H200_XML)},
                        "register": "gpu"},
                       {"name": "Show the verdict", "ansible.builtin.debug": {"msg": "verdict={{ gpu.verdict }}"}}]}]
    (installed["cwd"] / "facts.yml").write_text(yaml.safe_dump(play))
    done = run(installed, playbook("facts.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict=PASS" in done.stdout
    assert str(installed["collections"]) in run(installed, [str(BIN / "ansible-doc"), "-F", "-t", "module"]).stdout


def test_a_playbook_outside_the_repository_applies_the_role_by_its_fqcn(installed):
    # An invalid flavour stops the role at its argument spec: the role resolved, its specs ran, nothing changed.
    play = [{"name": "Driver role from the installed collection", "hosts": "localhost", "connection": "local",
             "gather_facts": False,
             "roles": [{"role": "gpu_rig.cluster.nvidia_driver", "vars": {"nvidia_driver_flavour": "closed"}}]}]
    (installed["cwd"] / "driver.yml").write_text(yaml.safe_dump(play))
    done = run(installed, playbook("driver.yml"))
    out = done.stdout + done.stderr
    assert done.returncode != 0
    assert "gpu_rig.cluster.nvidia_driver" in out and "nvidia_driver_flavour" in out, out


@pytest.mark.parametrize("name", ["gpu_rig.cluster.site", "gpu_rig.cluster.validate", "gpu_rig.cluster.gpu_power"])
def test_the_playbooks_run_by_their_fqcn(installed, name):
    done = run(installed, playbook("--syntax-check", name))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_module_documentation_renders(installed):
    for module in ("gpu_facts", "memory_facts", "apt_signed_repo", "containerd_runtime", "docker_daemon_json",
                   "gpu_work", "gpu_power_limit", "apt_components"):
        done = run(installed, [str(BIN / "ansible-doc"), f"gpu_rig.cluster.{module}"])
        assert done.returncode == 0 and "EXAMPLES" in done.stdout, done.stdout + done.stderr
