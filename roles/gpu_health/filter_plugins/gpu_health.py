"""Filters of the gpu_health role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def gpu_health_check_line(check: dict[str, Any]) -> str:
    """One check as a line: 'FAIL pcie_width[GPU 2]: expected x16, found x8'."""
    gpu = check.get("gpu")
    where = f"[GPU {gpu}]" if gpu is not None else ""
    return f"{check.get('verdict', '?')} {check.get('name', '?')}{where}: {check.get('reason', '')}"


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"gpu_health_check_line": gpu_health_check_line}
