"""The node's health as Prometheus metrics, for node exporter's textfile collector.

The collector (roles/node_metrics, ``gpu-rig-metrics``) reads what the health roles read, with their
parsers: ``nvidia-smi -q -x`` (nvidia_smi_xml), this boot's kernel log (xid), EDAC (edac), the health
roles' last reports, gpu_power's targets and the installed versions against the cluster lock (lock).
Standard library only: it runs on the node's Python 3.10 or newer.

What could not be read is said by an ``*_up`` metric of 0 with the reason in an ``*_info`` metric,
never by leaving metrics out silently: nvidia-smi missing or failing is ``gpu_rig_nvidia_smi_up 0``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils import host, kernel_log, nvidia_smi
from ansible_collections.gpu_rig.cluster.plugins.module_utils.edac import read_edac
from ansible_collections.gpu_rig.cluster.plugins.module_utils.lock import (
    CONTAINER_TOOLKIT,
    lock_differences,
    lock_entry,
)
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi_xml import parse_smi_xml
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import VERDICTS
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid import parse_xids

Runner = Callable[[list[str]], tuple[int, str, str]]

# Every metric the collector can write: name -> (type, help). The README's metric table, the alert rules
# and the dashboard are checked against this list.
FAMILIES: dict[str, tuple[str, str]] = {
    "gpu_rig_collector_last_run_timestamp_seconds": ("gauge", "When the collector last wrote its metrics (Unix time)."),
    "gpu_rig_collector_duration_seconds": ("gauge", "How long the collector's last run took."),
    "gpu_rig_host_info": ("gauge", "What the node is: kind bare_metal, vm, container or unknown, and its type."),
    "gpu_rig_nvidia_smi_up": ("gauge", "1 when nvidia-smi -q -x answered (or a saved output was read), else 0."),
    "gpu_rig_nvidia_smi_info": ("gauge", "The driver and CUDA versions nvidia-smi reports, and where they were read."),
    "gpu_rig_nvidia_smi_failure_info": ("gauge", "Why nvidia-smi gave no answer (present only when it failed)."),
    "gpu_rig_gpus_attached": ("gauge", "GPUs nvidia-smi lists."),
    "gpu_rig_gpus_expected": ("gauge", "GPUs the inventory says the node has (gpu_rig_hardware.gpu_count)."),
    "gpu_rig_gpu_info": ("gauge", "One series per GPU: its name, UUID, PCI bus id and VBIOS."),
    "gpu_rig_gpu_temperature_celsius": ("gauge", "GPU core temperature."),
    "gpu_rig_gpu_slowdown_temperature_celsius": ("gauge", "Temperature at which the GPU slows its clocks."),
    "gpu_rig_gpu_shutdown_temperature_celsius": ("gauge", "Temperature at which the GPU shuts down."),
    "gpu_rig_gpu_power_draw_watts": ("gauge", "Power the GPU draws."),
    "gpu_rig_gpu_power_limit_watts": ("gauge", "Power limit the GPU enforces."),
    "gpu_rig_gpu_power_limit_target_watts": ("gauge", "Power limit gpu_power set as the target for the GPU."),
    "gpu_rig_gpu_clock_hertz": ("gauge", "Current clock of the GPU, by clock (graphics, sm, memory, video)."),
    "gpu_rig_gpu_clock_event_active": ("gauge", "1 while a clock event (throttle) reason is active, by reason."),
    "gpu_rig_gpu_memory_used_bytes": ("gauge", "Frame buffer memory in use."),
    "gpu_rig_gpu_memory_total_bytes": ("gauge", "Frame buffer memory in all."),
    "gpu_rig_gpu_ecc_enabled": ("gauge", "1 when GPU memory ECC is on (only for GPUs that have ECC)."),
    "gpu_rig_gpu_ecc_errors_total": ("counter", "GPU memory ECC errors by type (corrected, uncorrected) and scope "
                                                "(volatile: since the driver loaded; aggregate: lifetime)."),
    "gpu_rig_gpu_retired_pages": ("gauge", "GPU memory pages retired, by cause (sbe, dbe); older GPUs only."),
    "gpu_rig_gpu_remapped_rows": ("gauge", "GPU memory rows remapped, by kind (correctable, uncorrectable)."),
    "gpu_rig_gpu_remapping_pending": ("gauge", "1 when a row remapping waits for a GPU reset."),
    "gpu_rig_gpu_remapping_failed": ("gauge", "1 when a row remapping failed."),
    "gpu_rig_kernel_log_up": ("gauge", "1 when this boot's kernel log could be read, else 0."),
    "gpu_rig_kernel_log_info": ("gauge", "Where the kernel log was read, or why it could not be."),
    "gpu_rig_gpu_xid_errors_total": ("counter", "NVIDIA Xid events in this boot's kernel log, by code, GPU and the "
                                                "action NVIDIA's Xid catalog gives."),
    "gpu_rig_edac_up": ("gauge", "1 when an EDAC memory controller reports, else 0."),
    "gpu_rig_edac_info": ("gauge", "Why EDAC does not report (present only when it does not)."),
    "gpu_rig_memory_corrected_errors_total": ("counter", "Corrected memory errors EDAC counts, per DIMM (or row)."),
    "gpu_rig_memory_uncorrected_errors_total": ("counter", "Uncorrected memory errors EDAC counts, per DIMM (or row)."),
    "gpu_rig_health_verdict": ("gauge", "The last verdict of a health report (gpu_health, memory_health): 1 for "
                                        "the verdict it gave, 0 for the others."),
    "gpu_rig_health_check": ("gauge", "One series per check of the last health report, labelled with its verdict."),
    "gpu_rig_health_report_timestamp_seconds": ("gauge", "When the health report was written (Unix time)."),
    "gpu_rig_lock_up": ("gauge", "1 when the node has a cluster lock to compare with, else 0."),
    "gpu_rig_lock_matches": ("gauge", "1 when the installed versions are the cluster lock's, else 0."),
    "gpu_rig_lock_difference_info": ("gauge", "One series per difference from the cluster lock."),
    "gpu_rig_package_info": ("gauge", "The installed version of each package the cluster lock holds."),
}

HEALTH_REPORTS = ("gpu_health", "memory_health")
# The lock's single-version keys, by the name gpu_rig_package_info gives them (the driver is the loaded
# module's version the nvidia_driver role recorded, whatever its packages are called).
LOCK_NAMES = {"nvidia_driver_version": "nvidia-driver", "nvidia_container_toolkit_version": CONTAINER_TOOLKIT}
MIB = 1024 * 1024
_LABEL_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", '"': '\\"'})


class Metrics:
    """Samples by family, written in Prometheus' text exposition format (version 0.0.4)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[tuple[dict[str, str], float]]] = {}

    def add(self, metric: str, value: float | int | bool | None, /, **labels: Any) -> None:
        """One sample; a value of None (unknown) is left out, as Prometheus has no 'unknown'."""
        if metric not in FAMILIES:
            raise KeyError(f"{metric} is not in FAMILIES")
        if value is None:
            return
        clean = {key: "" if val is None else str(val) for key, val in labels.items()}
        self.samples.setdefault(metric, []).append((clean, float(value)))

    def render(self) -> str:
        lines = []
        for name, (kind, help_text) in FAMILIES.items():
            if name not in self.samples:
                continue
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in self.samples[name]:
                inner = ",".join(f'{key}="{val.translate(_LABEL_ESCAPES)}"' for key, val in sorted(labels.items()))
                lines.append(f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}")
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _mhz_to_hz(value: int | float | None) -> float | None:
    return None if value is None else float(value) * 1e6


def gpu_metrics(metrics: Metrics, smi: dict[str, Any], targets: list[Any]) -> None:
    """Per-GPU metrics of a parsed nvidia-smi -q -x document; targets are gpu_power's, by index."""
    for gpu in smi["gpus"]:
        idx = gpu["index"]
        metrics.add("gpu_rig_gpu_info", 1, gpu=idx, name=gpu["name"], uuid=gpu["uuid"],
                    pci_bus_id=gpu["pci_address"], vbios=gpu["vbios"])
        temp, power = gpu["temperature"], gpu["power"]
        metrics.add("gpu_rig_gpu_temperature_celsius", temp["gpu_c"], gpu=idx)
        metrics.add("gpu_rig_gpu_slowdown_temperature_celsius", temp["slowdown_c"], gpu=idx)
        metrics.add("gpu_rig_gpu_shutdown_temperature_celsius", temp["shutdown_c"], gpu=idx)
        metrics.add("gpu_rig_gpu_power_draw_watts", power["draw_w"], gpu=idx)
        metrics.add("gpu_rig_gpu_power_limit_watts", power["enforced_w"] if power["enforced_w"] is not None
                    else power["limit_w"], gpu=idx)
        if idx < len(targets):
            metrics.add("gpu_rig_gpu_power_limit_target_watts", targets[idx], gpu=idx)
        for clock, mhz in gpu["clocks"].items():
            metrics.add("gpu_rig_gpu_clock_hertz", _mhz_to_hz(mhz), gpu=idx, clock=clock)
        for reason, active in sorted(gpu["clock_event_reasons"].items()):
            metrics.add("gpu_rig_gpu_clock_event_active", active, gpu=idx, reason=reason)
        memory = gpu["memory"]
        metrics.add("gpu_rig_gpu_memory_used_bytes", None if memory["used_mib"] is None
                    else memory["used_mib"] * MIB, gpu=idx)
        metrics.add("gpu_rig_gpu_memory_total_bytes", None if memory["total_mib"] is None
                    else memory["total_mib"] * MIB, gpu=idx)
        ecc = gpu["ecc"]
        if ecc["supported"]:
            metrics.add("gpu_rig_gpu_ecc_enabled", str(ecc["mode_current"]).lower() == "enabled", gpu=idx)
            for key, kind, scope in (("volatile_sbe", "corrected", "volatile"),
                                     ("volatile_dbe", "uncorrected", "volatile"),
                                     ("aggregate_sbe", "corrected", "aggregate"),
                                     ("aggregate_dbe", "uncorrected", "aggregate")):
                metrics.add("gpu_rig_gpu_ecc_errors_total", ecc[key], gpu=idx, type=kind, scope=scope)
        pages = gpu["retired_pages"]
        if pages["supported"]:
            metrics.add("gpu_rig_gpu_retired_pages", pages["sbe"], gpu=idx, cause="sbe")
            metrics.add("gpu_rig_gpu_retired_pages", pages["dbe"], gpu=idx, cause="dbe")
        rows = gpu["remapped_rows"]
        if rows["supported"]:
            metrics.add("gpu_rig_gpu_remapped_rows", rows["correctable"], gpu=idx, kind="correctable")
            metrics.add("gpu_rig_gpu_remapped_rows", rows["uncorrectable"], gpu=idx, kind="uncorrectable")
            metrics.add("gpu_rig_gpu_remapping_pending", rows["pending"], gpu=idx)
            metrics.add("gpu_rig_gpu_remapping_failed", rows["failure"], gpu=idx)


def xid_metrics(metrics: Metrics, log: str | None, source: str, gpus: list[dict[str, Any]]) -> None:
    """Xid events of this boot, counted by code, GPU and action; an unreadable log says so."""
    metrics.add("gpu_rig_kernel_log_up", log is not None)
    metrics.add("gpu_rig_kernel_log_info", 1, source=source)
    if log is None:
        return
    counts = Counter((e["xid"], "" if e["gpu"] is None else e["gpu"], e["bus_id"], e["action"])
                     for e in parse_xids(log, gpus))
    for (xid, gpu, bus, action), count in sorted(counts.items(), key=str):
        metrics.add("gpu_rig_gpu_xid_errors_total", count, xid=xid, gpu=gpu, pci_bus_id=bus, action=action)


def edac_metrics(metrics: Metrics, edac: dict[str, Any]) -> None:
    metrics.add("gpu_rig_edac_up", edac["present"])
    if not edac["present"]:
        metrics.add("gpu_rig_edac_info", 1, reason=edac["reason"])
        return
    for mc in edac["controllers"]:
        for dimm in mc["dimms"] or [{"name": "", "label": "", "ce_count": mc["ce_count"], "ue_count": mc["ue_count"]}]:
            labels = {"controller": mc["name"], "dimm": dimm["name"], "label": dimm["label"]}
            metrics.add("gpu_rig_memory_corrected_errors_total", dimm["ce_count"], **labels)
            metrics.add("gpu_rig_memory_uncorrected_errors_total", dimm["ue_count"], **labels)


def health_metrics(metrics: Metrics, state_dir: Path) -> None:
    """The last verdict of each health report the roles wrote, each check with its own verdict."""
    for report in HEALTH_REPORTS:
        path = state_dir / f"{report}.json"
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            written = path.stat().st_mtime
        except (OSError, ValueError):
            continue  # no report yet: no verdict, rather than a made-up one
        verdict = document.get("verdict") if document.get("verdict") in VERDICTS else "UNKNOWN"
        for name in VERDICTS:
            metrics.add("gpu_rig_health_verdict", name == verdict, report=report, verdict=name)
        metrics.add("gpu_rig_health_report_timestamp_seconds", round(written, 3), report=report)
        for entry in document.get("checks") or []:
            metrics.add("gpu_rig_health_check", 1, report=report, check=entry.get("name"),
                        gpu=entry.get("gpu"), verdict=entry.get("verdict"))


def read_dpkg_status(text: str) -> dict[str, list[dict[str, str]]]:
    """Installed packages of /var/lib/dpkg/status, in the shape of ansible.builtin.package_facts."""
    packages: dict[str, list[dict[str, str]]] = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*)$", stanza, re.MULTILINE))
        if fields.get("Package") and fields.get("Status", "").endswith(" installed") and "Version" in fields:
            packages.setdefault(fields["Package"], []).append({"version": fields["Version"]})
    return packages


def lock_metrics(metrics: Metrics, lock: Mapping[str, Any], packages: Mapping[str, Any], driver_version: str) -> None:
    entry = lock_entry(packages, driver_version)
    for key, value in sorted(entry.items()):
        pairs = sorted(value.items()) if isinstance(value, Mapping) else [(LOCK_NAMES.get(key, key), value)]
        for package, version in pairs:
            metrics.add("gpu_rig_package_info", 1, package=package, version=version)
    metrics.add("gpu_rig_lock_up", bool(lock))
    if not lock:
        return
    differences = lock_differences(entry, lock)
    metrics.add("gpu_rig_lock_matches", not differences)
    for difference in differences:
        metrics.add("gpu_rig_lock_difference_info", 1, difference=difference)


def _driver_version(facts_dir: Path) -> str:
    try:
        fact = json.loads((facts_dir / "gpu_rig_nvidia_driver.fact").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(fact.get("installed_version") or "") if isinstance(fact, dict) else ""


def _lock(path: str | None) -> dict[str, Any]:
    """The node's lock entry; none (no file, or not a mapping) is no lock, reported as gpu_rig_lock_up 0."""
    try:
        lock = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}
    return lock if isinstance(lock, dict) else {}


def _power_targets(state_dir: Path) -> list[Any]:
    try:
        targets = json.loads((state_dir / "gpu_power.json").read_text(encoding="utf-8")).get("targets_w")
    except (OSError, ValueError, AttributeError):
        return []
    return targets if isinstance(targets, list) else []


def collect(config: Mapping[str, Any], runner: Runner = kernel_log.run, now: Callable[[], float] = time.time
            ) -> Metrics:
    """Every metric of the node. config: the collector's settings (see roles/node_metrics).

    Keys: root (/), state_dir, facts_dir, dpkg_status, nvidia_smi, nvidia_smi_xml (a saved output instead
    of running nvidia-smi), kernel_log_file (a saved log instead of journalctl/dmesg), expected_gpus, and
    lock_file (the node's entry of the cluster lock as JSON, written by the role and by playbooks/lock.yml).
    """
    started = now()
    metrics = Metrics()
    root = Path(config.get("root") or "/")
    state_dir = Path(config.get("state_dir") or "/var/lib/gpu-rig")

    detect_container = detect_vm = None
    if str(root) == "/":
        detect_container, detect_vm = host.ask_systemd_detect_virt(runner)
    virt = host.classify(detect_container, detect_vm, host.signals(root))
    metrics.add("gpu_rig_host_info", 1, kind=virt["kind"], type=virt["type"])

    smi: dict[str, Any] | None = None
    reason = ""
    if config.get("nvidia_smi_xml"):
        source = str(config["nvidia_smi_xml"])
        try:
            smi = parse_smi_xml(Path(source).read_text(encoding="utf-8"))
        except (OSError, ET.ParseError) as exc:
            reason = f"saved output {source} unreadable: {exc}"
    else:
        source = "nvidia-smi -q -x"
        rc, out, err = runner([str(config.get("nvidia_smi") or "nvidia-smi"), "-q", "-x"])
        if rc != 0:
            reason = nvidia_smi.failure(rc, out, err)
        else:
            try:
                smi = parse_smi_xml(out)
            except ET.ParseError as exc:
                reason = f"nvidia-smi -q -x gave output that is not its XML: {exc}"
    metrics.add("gpu_rig_nvidia_smi_up", smi is not None)
    if config.get("expected_gpus") is not None:
        metrics.add("gpu_rig_gpus_expected", int(config["expected_gpus"]))
    if smi is None:
        metrics.add("gpu_rig_nvidia_smi_failure_info", 1, reason=reason)
    else:
        metrics.add("gpu_rig_nvidia_smi_info", 1, driver_version=smi["driver_version"],
                    cuda_version=smi["cuda_version"], source=source)
        metrics.add("gpu_rig_gpus_attached", len(smi["gpus"]))
        gpu_metrics(metrics, smi, _power_targets(state_dir))

    log, log_source = kernel_log.read(config.get("kernel_log_file") or None, runner)
    xid_metrics(metrics, log, log_source, smi["gpus"] if smi else [])
    edac_metrics(metrics, read_edac(root))
    health_metrics(metrics, state_dir)

    try:
        status = Path(config.get("dpkg_status") or root / "var/lib/dpkg/status").read_text(encoding="utf-8")
    except OSError:
        status = ""
    lock_metrics(metrics, _lock(config.get("lock_file")), read_dpkg_status(status),
                 _driver_version(Path(config.get("facts_dir") or root / "etc/ansible/facts.d")))

    finished = now()
    metrics.add("gpu_rig_collector_duration_seconds", round(max(finished - started, 0.0), 3))
    metrics.add("gpu_rig_collector_last_run_timestamp_seconds", round(finished, 3))
    return metrics


def write_atomic(path: Path, text: str) -> None:
    """Write path so that node exporter never reads half a file: a temporary file beside it, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
