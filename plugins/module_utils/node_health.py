# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is this node fit to run GPU jobs now? The judgement of Slurm's health check program (``gpu-rig-metrics
--slurm-health-check``, roles/node_metrics), made from the metrics the collector has just read.

A node is judged only on what could be seen: without nvidia-smi's answer in a container or VM (no GPU to
see there) the verdict is SKIP, never OK; a node that should have GPUs and gets no answer on bare metal (or
where the kind of host is unknown) FAILs with nvidia-smi's own reason. Standard library only.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.node_metrics import Metrics
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid_catalog import ACTIONS_THAT_FAIL


def _samples(metrics: Metrics, name: str) -> list[tuple[dict[str, str], float]]:
    return metrics.samples.get(name, [])


def _labels(metrics: Metrics, name: str) -> list[dict[str, str]]:
    return [labels for labels, value in _samples(metrics, name)]


def _value(metrics: Metrics, name: str) -> float | None:
    found = _samples(metrics, name)
    return found[0][1] if found else None


def judge(metrics: Metrics, saved_output: bool = False) -> dict[str, Any]:
    """verdict OK, FAIL or SKIP, the problems found (FAIL) or the reason nothing was judged (SKIP).

    saved_output: the nvidia-smi document was a saved one (the collector's input option), judged as if it
    were the node's own wherever the node runs.
    """
    kind = next((labels.get("kind", "unknown") for labels in _labels(metrics, "gpu_rig_host_info")), "unknown")
    expected = int(_value(metrics, "gpu_rig_gpus_expected") or 0)
    problems: list[str] = []
    if not _value(metrics, "gpu_rig_nvidia_smi_up"):
        why = next((labels.get("reason", "") for labels in _labels(metrics, "gpu_rig_nvidia_smi_failure_info")),
                   "no answer")
        if expected == 0:
            return {"verdict": "SKIP", "problems": [], "reason": f"no GPU expected and nvidia-smi gave none: {why}"}
        if kind in ("container", "vm") and not saved_output:
            return {"verdict": "SKIP", "problems": [],
                    "reason": f"a {kind} has no GPU to see (nvidia-smi: {why})"}
        problems.append(f"nvidia-smi: {why}")
    else:
        attached = int(_value(metrics, "gpu_rig_gpus_attached") or 0)
        if attached < expected:
            problems.append(f"{attached} of {expected} GPUs attached")
        for labels, value in _samples(metrics, "gpu_rig_gpu_remapping_failed"):
            if value:
                problems.append(f"GPU {labels.get('gpu')}: a row remapping failed")
        for labels, value in _samples(metrics, "gpu_rig_gpu_remapping_pending"):
            if value:
                problems.append(f"GPU {labels.get('gpu')}: a row remapping waits for a GPU reset")
    for labels, value in _samples(metrics, "gpu_rig_gpu_xid_errors_total"):
        if value and labels.get("action") in ACTIONS_THAT_FAIL:
            where = f"GPU {labels['gpu']}" if labels.get("gpu") else labels.get("pci_bus_id") or "a GPU"
            problems.append(f"Xid {labels.get('xid')} on {where} ({labels.get('action')})")
    uncorrected = sum(value for labels, value in _samples(metrics, "gpu_rig_memory_uncorrected_errors_total"))
    if uncorrected:
        dimms = sorted({labels.get("label") or labels.get("dimm") or labels.get("controller", "")
                        for labels, value in _samples(metrics, "gpu_rig_memory_uncorrected_errors_total") if value})
        problems.append(f"{int(uncorrected)} uncorrected memory error(s) on {', '.join(dimms)}")
    if problems:
        return {"verdict": "FAIL", "problems": problems, "reason": "; ".join(problems)}
    return {"verdict": "OK", "problems": [], "reason": ""}
