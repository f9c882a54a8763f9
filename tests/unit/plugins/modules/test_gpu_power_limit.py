"""gpu_power_limit: the per-GPU limits and their range check, on the H200's real numbers."""

from __future__ import annotations

from conftest import FIXTURES, plugin

limit_mod = plugin("modules", "gpu_power_limit")
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
