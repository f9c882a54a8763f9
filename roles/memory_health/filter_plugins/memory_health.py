"""Filters of the memory_health role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def memory_health_check_line(check: dict[str, Any]) -> str:
    """One check as a line: 'FAIL uncorrectable_errors: ...'."""
    return f"{check.get('verdict', '?')} {check.get('name', '?')}: {check.get('reason', '')}"


def memory_health_error_total(facts: dict[str, Any]) -> dict[str, int]:
    """Total CE and UE over every EDAC controller, for before/after comparisons."""
    controllers = (facts.get("edac") or {}).get("controllers") or []
    return {
        "ce": sum(int(c.get("ce_count") or 0) for c in controllers),
        "ue": sum(int(c.get("ue_count") or 0) for c in controllers),
    }


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"memory_health_check_line": memory_health_check_line,
                "memory_health_error_total": memory_health_error_total}
