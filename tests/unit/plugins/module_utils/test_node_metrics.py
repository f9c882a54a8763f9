"""The node's metrics collector on real outputs: nvidia-smi documents of real GPUs, nvidia-smi's real failure
texts, real kernel logs with Xids and EDAC trees of real machines (tests/fixtures, whose READMEs name each
origin). Every output is read back with prometheus_client's parser of the text format, as Prometheus would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import FIXTURES, ROOT, plugin
from prometheus_client.parser import text_string_to_metric_families

nm = plugin("module_utils", "node_metrics")
SMI = FIXTURES / "nvidia_smi"
KLOG = FIXTURES / "kernel_logs" / "nvidia"
MEMORY = FIXTURES / "memory"
COLLECTOR = ROOT / "roles" / "node_metrics" / "files" / "gpu_rig_metrics.py"


def parsed(text: str) -> dict[str, list[Any]]:
    """name -> samples, through the real parser (which raises on anything Prometheus would refuse)."""
    samples: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(found) == 1, f"{name}{labels}: {found}"
    return found[0]


def runner_for(smi: tuple[int, str, str] | None = None, log: str = "") -> Any:
    def run(argv: list[str]) -> tuple[int, str, str]:
        if argv[0].endswith("nvidia-smi"):
            return smi or (127, "", "nvidia-smi: command not found")
        if argv[0] == "journalctl":
            return (0, log, "") if log else (1, "", "No journal files were found.")
        return 127, "", f"{argv[0]}: command not found"
    return run


def failure_text(name: str) -> str:
    return (SMI / "failures" / name).read_text(encoding="utf-8")


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """An empty node root (no EDAC, no container marker) with its state folders."""
    (tmp_path / "var/lib/gpu-rig").mkdir(parents=True)
    (tmp_path / "etc/ansible/facts.d").mkdir(parents=True)
    return tmp_path


def config(root: Path, **extra: Any) -> dict[str, Any]:
    return {"root": str(root), "state_dir": str(root / "var/lib/gpu-rig"), **extra}


def test_rtx3090_document_gives_the_gpu_metrics(tree: Path) -> None:
    (tree / "var/lib/gpu-rig/gpu_power.json").write_text(json.dumps({"targets_w": [280]}))
    text = nm.collect(config(tree, nvidia_smi_xml=str(SMI / "telegraf_rtx3090_v13.xml"), expected_gpus=4),
                      runner_for()).render()
    samples = parsed(text)
    assert value(samples, "gpu_rig_nvidia_smi_up") == 1
    assert value(samples, "gpu_rig_gpus_attached") == 1
    assert value(samples, "gpu_rig_gpus_expected") == 4
    info = samples["gpu_rig_gpu_info"][0].labels
    assert info["name"] == "NVIDIA GeForce RTX 3090" and info["gpu"] == "0"
    assert value(samples, "gpu_rig_gpu_memory_total_bytes", gpu="0") == 24576 * 1024 * 1024
    assert value(samples, "gpu_rig_gpu_clock_hertz", gpu="0", clock="graphics") == 210e6
    assert value(samples, "gpu_rig_gpu_power_limit_target_watts", gpu="0") == 280
    assert value(samples, "gpu_rig_gpu_power_limit_watts", gpu="0") > 0
    assert samples["gpu_rig_gpu_clock_event_active"]
    # The 3090 has no GPU memory ECC: no ECC series, rather than zeros that would look like a clean record.
    assert "gpu_rig_gpu_ecc_errors_total" not in samples and "gpu_rig_gpu_ecc_enabled" not in samples


def test_a100_ecc_and_blackwell_remapped_rows(tree: Path) -> None:
    samples = parsed(nm.collect(config(tree, nvidia_smi_xml=str(SMI / "telegraf_a100_sxm4_v12.xml")),
                                runner_for()).render())
    assert value(samples, "gpu_rig_gpu_ecc_enabled", gpu="0") == 1
    assert value(samples, "gpu_rig_gpu_ecc_errors_total", gpu="0", type="uncorrected", scope="aggregate") >= 0
    samples = parsed(nm.collect(config(tree, nvidia_smi_xml=str(SMI / "telegraf_pro6000_blackwell_v13.xml")),
                                runner_for()).render())
    assert value(samples, "gpu_rig_gpu_remapped_rows", gpu="0", kind="correctable") >= 0
    assert value(samples, "gpu_rig_gpu_remapping_failed", gpu="0") == 0


def test_the_h200_capture_of_driver_580(tree: Path) -> None:
    out = (SMI / "h200_driver580_smi_qx.xml").read_text(encoding="utf-8")
    samples = parsed(nm.collect(config(tree), runner_for(smi=(0, out, ""))).render())
    assert value(samples, "gpu_rig_nvidia_smi_info", driver_version="580.159.04", source="nvidia-smi -q -x") == 1
    assert value(samples, "gpu_rig_gpu_temperature_celsius", gpu="0") > 0


@pytest.mark.parametrize(("name", "rc", "says"), [
    ("no_driver_rc9.txt", 9, "couldn't communicate with the NVIDIA driver"),
    ("version_mismatch_rc18.txt", 18, "Driver/library version mismatch"),
])
def test_nvidia_smi_failures_say_so(tree: Path, name: str, rc: int, says: str) -> None:
    samples = parsed(nm.collect(config(tree, expected_gpus=4), runner_for(smi=(rc, failure_text(name), ""))).render())
    assert value(samples, "gpu_rig_nvidia_smi_up") == 0
    reason = samples["gpu_rig_nvidia_smi_failure_info"][0].labels["reason"]
    assert says in reason and f"rc={rc}" in reason
    assert "gpu_rig_gpus_attached" not in samples and value(samples, "gpu_rig_gpus_expected") == 4


def test_nvidia_smi_missing_and_a_bad_saved_output(tree: Path) -> None:
    samples = parsed(nm.collect(config(tree), runner_for()).render())
    assert value(samples, "gpu_rig_nvidia_smi_up") == 0
    assert samples["gpu_rig_nvidia_smi_failure_info"][0].labels["reason"] == "nvidia-smi is not installed"
    bad = tree / "bad.xml"
    bad.write_text("<html>not nvidia-smi</html>")
    samples = parsed(nm.collect(config(tree, nvidia_smi_xml=str(bad)), runner_for()).render())
    assert value(samples, "gpu_rig_nvidia_smi_up") == 0
    assert "unreadable" in samples["gpu_rig_nvidia_smi_failure_info"][0].labels["reason"]


def test_xid_79_is_counted_with_the_catalog_action(tree: Path) -> None:
    log = (KLOG / "xid79_rtx5090_issue1151.log").read_text(encoding="utf-8")
    samples = parsed(nm.collect(config(tree), runner_for(log=log)).render())
    assert value(samples, "gpu_rig_kernel_log_up") == 1
    assert value(samples, "gpu_rig_gpu_xid_errors_total", xid="79", action="reboot") == 1


def test_xids_by_code_from_a_saved_log(tree: Path) -> None:
    path = KLOG / "xid43_31_94_gpu_at_pci_akash244.log"
    samples = parsed(nm.collect(config(tree, kernel_log_file=str(path)), runner_for()).render())
    codes = {s.labels["xid"] for s in samples["gpu_rig_gpu_xid_errors_total"]}
    assert {"31", "43", "94"} <= codes
    assert value(samples, "gpu_rig_kernel_log_info", source=str(path)) == 1


def test_no_kernel_log_is_said_not_silent(tree: Path) -> None:
    samples = parsed(nm.collect(config(tree), runner_for()).render())
    assert value(samples, "gpu_rig_kernel_log_up") == 0
    assert "kernel log unavailable" in samples["gpu_rig_kernel_log_info"][0].labels["source"]
    assert "gpu_rig_gpu_xid_errors_total" not in samples


def test_edac_per_dimm_and_its_absence(tree: Path) -> None:
    samples = parsed(nm.collect(config(MEMORY / "ue_nonzero", state_dir=str(tree)), runner_for()).render())
    assert value(samples, "gpu_rig_edac_up") == 1
    ue = samples["gpu_rig_memory_uncorrected_errors_total"]
    assert any(s.value > 0 for s in ue) and all(s.labels["controller"].startswith("mc") for s in ue)
    samples = parsed(nm.collect(config(tree), runner_for()).render())
    assert value(samples, "gpu_rig_edac_up") == 0
    assert "no EDAC driver loaded" in samples["gpu_rig_edac_info"][0].labels["reason"]


def test_health_verdicts_as_a_state_set(tree: Path) -> None:
    report = {"verdict": "FAIL", "checks": [{"name": "gpu_count", "gpu": None, "verdict": "FAIL", "reason": "3 of 4"},
                                            {"name": "pcie_width", "gpu": 2, "verdict": "PASS", "reason": "x16"}]}
    (tree / "var/lib/gpu-rig/gpu_health.json").write_text(json.dumps(report))
    samples = parsed(nm.collect(config(tree), runner_for()).render())
    assert value(samples, "gpu_rig_health_verdict", report="gpu_health", verdict="FAIL") == 1
    assert value(samples, "gpu_rig_health_verdict", report="gpu_health", verdict="PASS") == 0
    assert value(samples, "gpu_rig_health_check", report="gpu_health", check="pcie_width", gpu="2") == 1
    assert value(samples, "gpu_rig_health_report_timestamp_seconds", report="gpu_health") > 0
    # No memory report written yet: no verdict for it, rather than an invented one.
    assert all(s.labels["report"] == "gpu_health" for s in samples["gpu_rig_health_verdict"])


STATUS = """Package: nvidia-container-toolkit
Status: install ok installed
Version: 1.17.8-1

Package: cuda-toolkit-12-9
Status: install ok installed
Version: 12.9.1-1

Package: docker.io
Status: deinstall ok config-files
Version: 26.1.5+dfsg1-9+b9
"""


def test_versions_against_the_lock(tree: Path) -> None:
    (tree / "var/lib/dpkg").mkdir(parents=True)
    (tree / "var/lib/dpkg/status").write_text(STATUS)
    (tree / "etc/ansible/facts.d/gpu_rig_nvidia_driver.fact").write_text(json.dumps({"installed_version": "580.95.05"}))
    lock = {"nvidia_driver_version": "580.95.05", "nvidia_container_toolkit_version": "1.18.0-1",
            "cuda_toolkit_package_versions": {"cuda-toolkit-12-9": "12.9.1-1"}}
    lock_file = tree / "etc/gpu-rig/lock.json"
    lock_file.parent.mkdir(parents=True)
    lock_file.write_text(json.dumps(lock))
    samples = parsed(nm.collect(config(tree, lock_file=str(lock_file)), runner_for()).render())
    assert value(samples, "gpu_rig_lock_up") == 1
    assert value(samples, "gpu_rig_lock_matches") == 0
    assert [s.labels["difference"] for s in samples["gpu_rig_lock_difference_info"]] == [
        "nvidia_container_toolkit_version is 1.17.8-1, the lock says 1.18.0-1"]
    assert value(samples, "gpu_rig_package_info", package="cuda-toolkit-12-9", version="12.9.1-1") == 1
    assert value(samples, "gpu_rig_package_info", package="nvidia-container-toolkit", version="1.17.8-1") == 1
    assert value(samples, "gpu_rig_package_info", package="nvidia-driver", version="580.95.05") == 1
    # A package removed but with its configuration left is not installed.
    assert not [s for s in samples["gpu_rig_package_info"] if s.labels["package"] == "docker.io"]
    lock["nvidia_container_toolkit_version"] = "1.17.8-1"
    lock_file.write_text(json.dumps(lock))
    assert value(parsed(nm.collect(config(tree, lock_file=str(lock_file)), runner_for()).render()),
                 "gpu_rig_lock_matches") == 1
    assert value(parsed(nm.collect(config(tree), runner_for()).render()), "gpu_rig_lock_up") == 0
    lock_file.write_text("[]")
    samples = parsed(nm.collect(config(tree, lock_file=str(lock_file)), runner_for()).render())
    assert value(samples, "gpu_rig_lock_up") == 0


def test_every_family_is_declared_and_labels_are_escaped() -> None:
    metrics = nm.Metrics()
    metrics.add("gpu_rig_nvidia_smi_failure_info", 1, reason='a "quoted"\nline \\ here')
    metrics.add("gpu_rig_gpus_attached", None)
    assert parsed(metrics.render())["gpu_rig_nvidia_smi_failure_info"][0].labels["reason"] == 'a "quoted"\nline \\ here'
    assert "gpu_rig_gpus_attached" not in metrics.render()
    with pytest.raises(KeyError):
        metrics.add("gpu_rig_not_a_metric", 1)
    for name, (kind, _) in nm.FAMILIES.items():
        assert name.startswith("gpu_rig_") and (name.endswith("_total") == (kind == "counter")), name


def installed_lib(tmp_path: Path) -> Path:
    """The library tree the role installs: exactly the module_utils files its vars/main.yml lists."""
    listed = yaml.safe_load((ROOT / "roles" / "node_metrics" / "vars" / "main.yml").read_text())
    lib = tmp_path / "lib"
    target = lib / "ansible_collections" / "gpu_rig" / "cluster" / "plugins" / "module_utils"
    target.mkdir(parents=True)
    for name in listed["__node_metrics_module_utils"]:
        shutil.copy(ROOT / "plugins" / "module_utils" / name, target / name)
    return lib


def test_the_installed_program_writes_atomically(tmp_path: Path) -> None:
    """The program the role installs, with the parsers the role installs beside it (and nothing else of the
    collection on its path), writing a .prom file."""
    lib = installed_lib(tmp_path)
    out = tmp_path / "textfile" / "gpu_rig.prom"
    cfg = tmp_path / "metrics.json"
    cfg.write_text(json.dumps({"root": str(tmp_path), "state_dir": str(tmp_path),
                               "nvidia_smi": "/nonexistent/nvidia-smi", "expected_gpus": 4}))
    done = subprocess.run([sys.executable, "-S", str(COLLECTOR), "--config", str(cfg), "--output", str(out),
                           "--lib", str(lib),
                           "--nvidia-smi-xml", str(SMI / "built_rtx3090x4_persistence_on.xml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    samples = parsed(out.read_text(encoding="utf-8"))
    assert value(samples, "gpu_rig_gpus_attached") == 4
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in out.parent.iterdir()] == ["gpu_rig.prom"]
    cfg.write_text("{not json")
    done = subprocess.run([sys.executable, "-S", str(COLLECTOR), "--config", str(cfg), "--lib", str(lib)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "unreadable" in done.stderr
