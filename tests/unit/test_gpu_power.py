"""gpu_power: the PSU budget and the per-GPU range check, on the rig's and the H200's real numbers."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, load_module

budget_mod = load_module("roles/gpu_power/filter_plugins/gpu_power.py")
limit_mod = load_module("roles/gpu_power/library/gpu_power_limit.py")
SMI = FIXTURES / "nvidia_smi"


def query_columns(path, fields: list[str]) -> str:
    """The given fields from a real `--query-gpu=<all> --format=csv,noheader,nounits` capture."""
    lines = path.read_text().splitlines()
    header = lines[0].split("--query-gpu=", 1)[1].split()[0].split(",")
    rows = [line for line in lines[1:] if line and not line.startswith("[rc=")]
    out = []
    for row in rows:
        values = [v.strip() for v in row.split(",")]
        out.append(", ".join(values[header.index(f)] for f in fields))
    return "\n".join(out) + "\n"


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


def test_real_h200_limits_parse():
    fields = ["index", "pci.bus_id", "power.limit", "power.min_limit", "power.max_limit"]
    gpus = limit_mod.parse_limits(query_columns(SMI / "h200_driver580_smi_query_all_nounits.txt", fields))
    assert gpus == [{"index": 0, "bus_id": "00000000:00:06.0", "limit_w": 700.0, "min_w": 200.0, "max_w": 700.0}]


def test_a_target_outside_the_range_is_named_with_the_range():
    fields = ["index", "pci.bus_id", "power.limit", "power.min_limit", "power.max_limit"]
    gpus = limit_mod.parse_limits(query_columns(SMI / "h200_driver580_smi_query_all_nounits.txt", fields))
    assert limit_mod.out_of_range(gpus, {0: 150.0}) == ["GPU 0 (00000000:00:06.0): 150 W is outside 200-700 W"]
    assert limit_mod.out_of_range(gpus, {0: 700.0}) == []
    assert limit_mod.out_of_range(gpus, {1: 300.0}) == ["GPU 1: not present (found indexes [0])"]


def test_3090_shaped_limits_and_na():
    # RTX 3090 reference board: 100-350 W; [N/A] where a driver reports no range.
    gpus = limit_mod.parse_limits("0, 00000000:01:00.0, 350.00, 100.00, 350.00\n"
                                  "1, 00000000:21:00.0, [N/A], [N/A], [N/A]\n")
    assert limit_mod.out_of_range(gpus, {0: 280.0}) == []
    assert limit_mod.out_of_range(gpus, {0: 400.0}) == ["GPU 0 (00000000:01:00.0): 400 W is outside 100-350 W"]
    assert limit_mod.out_of_range(gpus, {1: 280.0}) == [
        "GPU 1 (00000000:21:00.0): the driver reports no power limit range"]
