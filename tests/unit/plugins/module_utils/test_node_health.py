"""Slurm's health check: the node judged from the collector's readings of real outputs (nvidia-smi documents of
real GPUs, nvidia-smi's real failure texts, a real Xid 79 kernel log, an EDAC tree with an uncorrected error;
tests/fixtures, whose READMEs name each origin), and the installed program draining and resuming a node
through an scontrol stand-in that answers with Slurm 22.05's real `scontrol show node` lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, plugin
from test_node_metrics import COLLECTOR, KLOG, MEMORY, SMI, config, failure_text, installed_lib, runner_for

nm = plugin("module_utils", "node_metrics")
nh = plugin("module_utils", "node_health")
SLURM = FIXTURES / "slurm"
FOUR = str(SMI / "built_rtx3090x4_persistence_on.xml")
ONE = str(SMI / "telegraf_rtx3090_v12.xml")


def as_host(root: Path, kind: str) -> Path:
    """Give the fixture root the signals of a host kind (the collector reads them under its root)."""
    if kind == "container":
        (root / "run").mkdir(parents=True, exist_ok=True)
        (root / "run/.containerenv").write_text("")
    else:
        (root / "sys/class/dmi/id").mkdir(parents=True, exist_ok=True)
        (root / "proc").mkdir(parents=True, exist_ok=True)
        vendor, flags = ("QEMU", "fpu hypervisor") if kind == "vm" else ("Supermicro", "fpu sse")
        (root / "sys/class/dmi/id/sys_vendor").write_text(vendor + "\n")
        (root / "proc/cpuinfo").write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    return root


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "var/lib/gpu-rig").mkdir(parents=True)
    return tmp_path


def judged(root: Path, runner: Any, **extra: Any) -> dict[str, Any]:
    settings = config(root, **extra)
    return nh.judge(nm.collect(settings, runner), saved_output=bool(settings.get("nvidia_smi_xml")))


def test_four_gpus_of_four_is_ok_and_one_of_four_fails(tree: Path) -> None:
    assert judged(tree, runner_for(), expected_gpus=4, nvidia_smi_xml=FOUR)["verdict"] == "OK"
    one = judged(tree, runner_for(), expected_gpus=4, nvidia_smi_xml=ONE)
    assert one == {"verdict": "FAIL", "problems": ["1 of 4 GPUs attached"], "reason": "1 of 4 GPUs attached"}


@pytest.mark.parametrize(("name", "rc", "says"), [
    ("no_driver_rc9.txt", 9, "couldn't communicate with the NVIDIA driver"),
    ("version_mismatch_rc18.txt", 18, "Driver/library version mismatch"),
])
def test_nvidia_smi_failing_on_bare_metal_fails_with_its_reason(tree: Path, name: str, rc: int, says: str) -> None:
    def run(argv: list[str]) -> tuple[int, str, str]:
        if argv[0].endswith("nvidia-smi"):
            return rc, failure_text(name), ""
        return runner_for()(argv)
    result = judged(as_host(tree, "bare_metal"), run, expected_gpus=4)
    assert result["verdict"] == "FAIL" and says in result["reason"], result


@pytest.mark.parametrize("kind", ["container", "vm"])
def test_no_gpu_in_a_container_or_vm_is_skip_never_ok(tree: Path, kind: str) -> None:
    result = judged(as_host(tree, kind), runner_for(), expected_gpus=4)
    assert result["verdict"] == "SKIP" and f"a {kind} has no GPU to see" in result["reason"], result
    # A saved output is judged wherever it is read: that is how the lab shows a drain.
    assert judged(tree, runner_for(), expected_gpus=4, nvidia_smi_xml=ONE)["verdict"] == "FAIL"


def test_an_unknown_host_without_an_answer_fails_and_none_expected_skips(tree: Path) -> None:
    assert judged(tree, runner_for(), expected_gpus=4)["problems"] == ["nvidia-smi: nvidia-smi is not installed"]
    assert judged(tree, runner_for(), expected_gpus=0)["verdict"] == "SKIP"


def test_xid_79_fails_until_the_reboot_and_xid_31_does_not(tree: Path) -> None:
    xid79 = judged(tree, runner_for(), expected_gpus=4, nvidia_smi_xml=FOUR,
                   kernel_log_file=str(KLOG / "xid79_rtx5090_issue1151.log"))
    assert xid79["verdict"] == "FAIL" and any(p.startswith("Xid 79 on ") and p.endswith("(reboot)")
                                              for p in xid79["problems"]), xid79
    # Xid 43, 31 and 94 are the application's fault or its victim: the node stays in service.
    app = judged(tree, runner_for(), expected_gpus=4, nvidia_smi_xml=FOUR,
                 kernel_log_file=str(KLOG / "xid43_31_94_gpu_at_pci_akash244.log"))
    assert app["verdict"] == "OK", app


def test_uncorrected_memory_errors_fail(tree: Path) -> None:
    result = judged(MEMORY / "ue_nonzero", runner_for(), state_dir=str(tree), expected_gpus=4, nvidia_smi_xml=FOUR)
    assert result["verdict"] == "FAIL" and "uncorrected memory error(s) on" in result["reason"], result


# -- the installed program against an scontrol stand-in --------------------------------------------------------

SCONTROL = """#!/bin/sh
# A stand-in for scontrol (a test fixture, not Slurm's program): answers `show node` with a saved real line,
# records every other call.
if [ "$1" = show ]; then cat "$(dirname "$0")/node.txt"; exit 0; fi
echo "$*" >> "$(dirname "$0")/calls"
"""


def run_check(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """The installed program as slurmd runs it, with tmp_path's settings and library; its run's record."""
    done = subprocess.run([sys.executable, "-S", str(COLLECTOR), "--config", str(tmp_path / "metrics.json"),
                           "--lib", str(tmp_path / "lib"), "--slurm-health-check", *extra],
                          capture_output=True, text=True, check=False, timeout=55)
    return done, json.loads((tmp_path / "state" / "slurm_health.json").read_text())


def health_check(tmp_path: Path, node_line: str, saved: str) -> tuple[subprocess.CompletedProcess[str], list[str],
                                                                     dict[str, Any]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(SCONTROL)
    scontrol.chmod(0o755)
    (bin_dir / "node.txt").write_text(node_line)
    (bin_dir / "calls").unlink(missing_ok=True)
    cfg = tmp_path / "metrics.json"
    cfg.write_text(json.dumps({"root": str(tmp_path), "state_dir": str(tmp_path / "state"), "expected_gpus": 4,
                               "scontrol": str(scontrol), "slurm_node_name": "slexp"}))
    if not (tmp_path / "lib").exists():
        installed_lib(tmp_path)
    done, record = run_check(tmp_path, "--nvidia-smi-xml", saved)
    calls = (bin_dir / "calls").read_text().splitlines() if (bin_dir / "calls").exists() else []
    return done, calls, record


def test_the_program_drains_a_node_that_lost_gpus_then_resumes_it(tmp_path: Path) -> None:
    idle = (SLURM / "show_node_idle_22.05.8.txt").read_text()
    done, calls, record = health_check(tmp_path, idle, ONE)
    assert done.returncode == 0, done.stderr
    assert calls == ["update nodename=slexp state=drain reason=gpu-rig health check: 1 of 4 GPUs attached"]
    assert record["verdict"] == "FAIL" and record["action"] == "drain" and record["node"] == "slexp"
    # Slurm now shows the node drained with that reason (the real line, its reason replaced).
    drained = (SLURM / "show_node_drained_22.05.8.txt").read_text().replace(
        "gpu_health FAIL: gpu_count: expected 4, found 1", "gpu-rig health check: 1 of 4 GPUs attached")
    done, calls, record = health_check(tmp_path, drained, ONE)
    assert calls == [] and record["action"] == "", "a drain with the same reason is not repeated"
    done, calls, record = health_check(tmp_path, drained, FOUR)
    assert calls == ["update nodename=slexp state=resume"] and record["verdict"] == "OK"


def test_the_program_leaves_another_reasons_drain_alone(tmp_path: Path) -> None:
    theirs = (SLURM / "show_node_drained_22.05.8.txt").read_text()  # drained by the slurm role's gpu_health FAIL
    done, calls, record = health_check(tmp_path, theirs, ONE)
    assert done.returncode == 0 and calls == [], calls
    assert record["verdict"] == "FAIL" and "drained for another reason (gpu_health FAIL" in record["note"], record
    done, calls, record = health_check(tmp_path, theirs, FOUR)
    assert done.returncode == 0 and calls == [] and record["verdict"] == "OK", (calls, record)


def test_without_slurm_the_program_says_so(tmp_path: Path) -> None:
    health_check(tmp_path, "", FOUR)
    cfg = json.loads((tmp_path / "metrics.json").read_text())
    (tmp_path / "metrics.json").write_text(json.dumps(dict(cfg, scontrol="/nonexistent/scontrol")))
    done, record = run_check(tmp_path, "--nvidia-smi-xml", FOUR)
    assert done.returncode == 1 and "scontrol show node slexp failed (rc 127)" in record["note"], record


def test_the_health_check_ignores_the_metrics_saved_output(tmp_path: Path) -> None:
    """A saved output in the collector's settings is for the metrics; only the command line's is judged."""
    health_check(tmp_path, "", FOUR)
    cfg = json.loads((tmp_path / "metrics.json").read_text())
    (tmp_path / "metrics.json").write_text(json.dumps(dict(cfg, nvidia_smi_xml=ONE, nvidia_smi="/nonexistent/smi")))
    (tmp_path / "bin" / "node.txt").write_text((SLURM / "show_node_idle_22.05.8.txt").read_text())
    as_host(tmp_path, "container")
    done, record = run_check(tmp_path)
    assert done.returncode == 0 and record["verdict"] == "SKIP", record
    assert not (tmp_path / "bin" / "calls").exists()


def test_an_nvidia_smi_that_hangs_is_a_problem_not_a_killed_check(tmp_path: Path) -> None:
    """nvidia-smi hangs when a GPU stops answering; slurmd kills its health check after 60 s. The check gives
    each command 20 s (here 2, its command_timeout setting) and reports the hang (a stand-in nvidia-smi that
    sleeps, on a host of unknown kind)."""
    health_check(tmp_path, "", FOUR)
    hang = tmp_path / "bin" / "nvidia-smi"
    hang.write_text("#!/bin/sh\n# TEST FIXTURE stand-in: an nvidia-smi that never answers\nexec sleep 600\n")
    hang.chmod(0o755)
    cfg = json.loads((tmp_path / "metrics.json").read_text())
    (tmp_path / "metrics.json").write_text(json.dumps(dict(cfg, nvidia_smi=str(hang), command_timeout=2)))
    (tmp_path / "bin" / "node.txt").write_text((SLURM / "show_node_idle_22.05.8.txt").read_text())
    done, record = run_check(tmp_path)
    assert done.returncode == 0 and record["verdict"] == "FAIL" and record["action"] == "drain", record
    assert "rc=124" in record["reason"] and "timed out after 2 seconds" in record["reason"], record
