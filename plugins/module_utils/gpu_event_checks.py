"""The kernel-log checks of the GPUs: Xid events judged by the action NVIDIA's catalog gives, and GPUs lost
or failed without an Xid."""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import checker
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid_catalog import ACTIONS_THAT_FAIL, describe

EVENT_CHECKS = ("xid", "gpu_lost")


def _no_log(name: str, facts: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """No kernel log: SKIP in a container or VM, UNKNOWN where the node is the GPUs' host."""
    c = checker(name, None)
    why = facts.get("kernel_log") or "kernel log unavailable"
    if env.get("container") or env.get("vm"):
        return c("SKIP", f"{env.get('container') or env.get('vm')}: {why}")
    return c("UNKNOWN", why)


def check_xids(facts: dict[str, Any], env: dict[str, Any] | None = None) -> dict[str, Any]:
    c, events = checker("xid", None), facts.get("xid_events")
    if events is None:
        return _no_log("xid", facts, env or {})
    if not events:
        return c("PASS", f"no Xid in {facts.get('kernel_log')}", expected=[], found=[])
    groups: dict[tuple[str, int, str], int] = {}
    for event in events:
        key = (event["bus_id"], event["xid"], event.get("action") or "unknown")
        groups[key] = groups.get(key, 0) + 1
    found = [{"bus_id": bus, "xid": xid, "action": action, "count": n} for (bus, xid, action), n in groups.items()]
    summary = "; ".join(f"Xid {xid} x{n} on {bus} ({describe(xid)}; NVIDIA: {action.replace('_', ' ')})"
                        for (bus, xid, action), n in groups.items())
    verdict = "FAIL" if any(action in ACTIONS_THAT_FAIL for _b, _x, action in groups) else "WARN"
    return c(verdict, f"{summary}; last: {events[-1]['text']}", expected=[], found=found)


def check_gpu_lost(facts: dict[str, Any], env: dict[str, Any] | None = None) -> dict[str, Any]:
    c, events = checker("gpu_lost", None), facts.get("gpu_lost_events")
    if events is None:
        return _no_log("gpu_lost", facts, env or {})
    if not events:
        return c("PASS", f"no GPU lost, fallen off the bus or failed to initialise in {facts.get('kernel_log')}",
                 expected=[], found=[])
    kinds: dict[tuple[str, str], int] = {}
    for event in events:
        key = (event["kind"], event["bus_id"] or "an unnamed GPU")
        kinds[key] = kinds.get(key, 0) + 1
    summary = "; ".join(f"{kind} on {bus} x{n}" for (kind, bus), n in kinds.items())
    return c("FAIL", f"{summary}; first: {events[0]['text']}", expected=[],
             found=[{"kind": k, "bus_id": b, "count": n} for (k, b), n in kinds.items()])


def check_recovery_action(gpu: dict[str, Any]) -> dict[str, Any]:
    """NVML's GPU recovery action (nvidia-smi's gpu_recovery_action): anything but None needs someone to act."""
    c, action = checker("recovery_action", gpu["index"]), gpu.get("recovery_action")
    if action is None:
        return c("SKIP", "this driver does not report a GPU recovery action")
    if action.strip().lower() == "none":
        return c("PASS", "no recovery action needed", expected="None", found=action)
    return c("FAIL", f"NVML asks for a recovery action: {action}", expected="None", found=action)
