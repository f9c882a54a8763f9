"""Filters shared by the health roles: check lines, overall verdicts, host kinds, memory error totals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.host import kind_of_facts
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check_line, overall


def memory_error_total(facts: dict[str, Any]) -> dict[str, int]:
    """Total CE and UE over every EDAC controller, for before/after comparisons."""
    controllers = (facts.get("edac") or {}).get("controllers") or []
    return {
        "ce": sum(int(c.get("ce_count") or 0) for c in controllers),
        "ue": sum(int(c.get("ue_count") or 0) for c in controllers),
    }


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"check_line": check_line, "overall_verdict": overall, "host_kind": kind_of_facts,
                "memory_error_total": memory_error_total}
