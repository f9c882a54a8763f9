"""Filters of the gpu_power role: the PSU budget, computed before anything is applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def gpu_power_budget(
    gpu_limits_w: list[float], cpu_tdp_w: float, platform_w: float, psu_w: float, headroom: float,
) -> dict[str, Any]:
    """Sum of GPU limits + CPU TDP + platform allowance against PSU watts x headroom.

    >>> gpu_power_budget([350] * 4, 155, 100, 1600, 0.9)["ok"]
    False
    >>> gpu_power_budget([280] * 4, 155, 100, 1600, 0.9)["ok"]
    True
    """
    if not 0 < float(headroom) <= 1:
        raise ValueError(f"gpu_power_psu_headroom must be in (0, 1], not {headroom}")
    gpus = sum(float(w) for w in gpu_limits_w)
    total = gpus + float(cpu_tdp_w) + float(platform_w)
    allowed = float(psu_w) * float(headroom)
    message = (
        f"{len(gpu_limits_w)} GPU(s) at {' + '.join(f'{float(w):g}' for w in gpu_limits_w) or '0'} W = {gpus:g} W, "
        f"+ CPU {float(cpu_tdp_w):g} W + platform {float(platform_w):g} W = {total:g} W; "
        f"PSU {float(psu_w):g} W x headroom {float(headroom):g} = {allowed:g} W allowed"
    )
    return {"gpus_w": gpus, "total_w": total, "allowed_w": allowed, "ok": total <= allowed,
            "margin_w": allowed - total, "message": message}


def gpu_power_targets(count: int, default_w: float, by_index: dict[Any, Any] | None = None) -> list[float]:
    """The limit each GPU index 0..count-1 gets: by_index overrides the default."""
    overrides = {int(k): float(v) for k, v in (by_index or {}).items()}
    return [overrides.get(i, float(default_w)) for i in range(int(count))]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"gpu_power_budget": gpu_power_budget, "gpu_power_targets": gpu_power_targets}
