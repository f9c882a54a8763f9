"""The verdict model: the worst verdict wins, SKIP only when nothing was seen, a check as one line."""

from __future__ import annotations

import pytest
from conftest import plugin

verdict = plugin("module_utils", "verdict")


@pytest.mark.parametrize(("seen", "expected"), [
    (["PASS", "SKIP", "WARN"], "WARN"), (["PASS", "FAIL", "WARN"], "FAIL"), (["SKIP", "PASS"], "PASS"),
    (["SKIP", "SKIP"], "SKIP"), ([], "SKIP"),
])
def test_overall_is_the_worst_and_skip_only_when_all_skip(seen, expected):
    assert verdict.overall([{"verdict": v} for v in seen]) == expected


def test_a_check_has_every_field():
    c = verdict.checker("pcie_width", 2)("FAIL", "x8 of x16", expected=16, found=8)
    assert c == {"name": "pcie_width", "gpu": 2, "verdict": "FAIL", "reason": "x8 of x16", "expected": 16, "found": 8}


def test_an_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="PASSED"):
        verdict.check("x", None, "PASSED", "typo")


@pytest.mark.parametrize(("check", "line"), [
    ({"name": "pcie_width", "gpu": 2, "verdict": "FAIL", "reason": "expected x16, found x8"},
     "FAIL pcie_width[GPU 2]: expected x16, found x8"),
    ({"name": "xid", "gpu": None, "verdict": "PASS", "reason": "none"}, "PASS xid: none"),
    ({"name": "rasdaemon", "verdict": "SKIP", "reason": "not managed"}, "SKIP rasdaemon: not managed"),
])
def test_check_line(check, line):
    assert verdict.check_line(check) == line
