"""gpu_power_limit: the per-GPU limits and their range check, on the H200's real numbers."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

limit_mod = plugin("modules", "gpu_power_limit")
SMI = FIXTURES / "nvidia_smi"


FIELDS = ["index", "pci.bus_id", "power.limit", "power.min_limit", "power.max_limit"]


def query_columns(path, fields: list[str]) -> str:
    """The given fields, header included, from a real `--query-gpu=<all> --format=csv` capture."""
    lines = path.read_text().splitlines()
    assert lines[0].startswith("$ ")
    rows = [[v.strip() for v in line.split(", ")] for line in lines[1:] if line and not line.startswith("[rc=")]
    header = [name.split(" [")[0] for name in rows[0]]
    return "\n".join(", ".join(row[header.index(f)] for f in fields) for row in rows) + "\n"


def test_real_h200_limits_parse():
    gpus = limit_mod.parse_limits(query_columns(SMI / "h200_driver580_smi_query_all.txt", FIELDS))
    assert gpus == [{"index": 0, "bus_id": "00000000:00:06.0", "limit_w": 700.0, "min_w": 200.0, "max_w": 700.0}]


def test_a_target_outside_the_range_is_named_with_the_range():
    gpus = limit_mod.parse_limits(query_columns(SMI / "h200_driver580_smi_query_all.txt", FIELDS))
    assert limit_mod.out_of_range(gpus, {0: 150.0}) == ["GPU 0 (00000000:00:06.0): 150 W is outside 200-700 W"]
    assert limit_mod.out_of_range(gpus, {0: 700.0}) == []
    assert limit_mod.out_of_range(gpus, {1: 300.0}) == ["GPU 1: not present (found indexes [0])"]


def test_3090_shaped_limits_and_na():
    # RTX 3090 reference board: 100-350 W; [N/A] where a driver reports no range.
    gpus = limit_mod.parse_limits("index, pci.bus_id, power.limit [W], power.min_limit [W], power.max_limit [W]\n"
                                  "0, 00000000:01:00.0, 350.00, 100.00, 350.00\n"
                                  "1, 00000000:21:00.0, [N/A], [N/A], [N/A]\n")
    assert limit_mod.out_of_range(gpus, {0: 280.0}) == []
    assert limit_mod.out_of_range(gpus, {0: 400.0}) == ["GPU 0 (00000000:01:00.0): 400 W is outside 100-350 W"]
    assert limit_mod.out_of_range(gpus, {1: 280.0}) == [
        "GPU 1 (00000000:21:00.0): the driver reports no power limit range"]


def test_another_querys_output_is_refused_not_read_as_limits():
    # Five columns of the same real capture, but not the fields asked for: the old parser took the
    # product name for a bus id.
    other = query_columns(SMI / "h200_driver580_smi_query_all.txt",
                          ["index", "name", "power.limit", "power.min_limit", "power.max_limit"])
    with pytest.raises(ValueError, match="expected the header"):
        limit_mod.parse_limits(other)


def test_rows_without_a_header_are_refused():
    with pytest.raises(ValueError, match="expected the header"):
        limit_mod.parse_limits("0, NVIDIA H200, 700.00, 200.00, 700.00\n")


def test_a_row_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="unexpected nvidia-smi row"):
        limit_mod.parse_limits("index, pci.bus_id, power.limit, power.min_limit, power.max_limit\n"
                               "0, NVIDIA H200, 700.00, 200.00, 700.00\n")


def test_nvidias_invalid_field_answer_is_refused():
    # The real stdout of nvidia-smi for a field this driver does not know (exit code 2).
    text = (SMI / "invalid_field_cohdi_issue37.log").read_text()
    # The log quotes it JSON-escaped: \" and \n.
    answer = text.split("stdout: '", 1)[1].split("'", 1)[0].replace("\\n", "\n").replace('\\"', '"')
    assert answer.startswith('Field "device_minor" is not a valid field to query.')
    with pytest.raises(ValueError, match="expected the header"):
        limit_mod.parse_limits(answer)
