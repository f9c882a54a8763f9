"""gpu_power filters: the PSU budget, on the rig's real numbers (4 x RTX 3090, EPYC 7401, 1600 W)."""

from __future__ import annotations

import pytest
from conftest import plugin

budget_mod = plugin("filter", "gpu_power")


@pytest.mark.parametrize(("limit", "ok"), [(350, False), (300, False), (280, True), (250, True)])
def test_four_3090s_on_1600_w(limit, ok):
    result = budget_mod.gpu_power_budget([limit] * 4, 155, 100, 1600, 0.9)
    assert result["ok"] is ok, result["message"]
    assert result["allowed_w"] == 1440


def test_the_budget_message_gives_every_number():
    message = budget_mod.gpu_power_budget([350] * 4, 155, 100, 1600, 0.9)["message"]
    assert message == ("4 GPU(s) at 350 + 350 + 350 + 350 W = 1400 W, + CPU 155 W + platform 100 W = 1655 W; "
                       "PSU 1600 W x headroom 0.9 = 1440 W allowed")


def test_a_headroom_above_one_is_refused():
    with pytest.raises(ValueError, match="headroom"):
        budget_mod.gpu_power_budget([280], 155, 100, 1600, 1.2)


def test_targets_take_per_index_overrides():
    assert budget_mod.gpu_power_targets(4, 280, {"2": 260}) == [280, 280, 260, 280]
    assert budget_mod.gpu_power_targets(0, 280, {}) == []
