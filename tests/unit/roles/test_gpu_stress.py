"""gpu_health's stress summary, on the events and samples of the real H200 run (tests/fixtures/gpu_stress)."""

from __future__ import annotations

import json

from conftest import FIXTURES, load_module

mod = load_module("roles/gpu_health/files/gpu_stress.py")
EVIDENCE = FIXTURES / "gpu_stress"


def real_events() -> list[dict]:
    lines = (EVIDENCE / "gpu_check.jsonl").read_text().split("# $ gpu_check --stress")[1].splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def real_samples() -> list[dict]:
    # The CSV was taken with units (`--format=csv`): strip them into the nounits shape.
    rows = (EVIDENCE / "stress_samples.csv").read_text().splitlines()[1:]
    out = []
    for row in rows:
        _, index, temp, power, clock, reasons, _ = (f.strip() for f in row.split(","))
        watts, mhz = power.removesuffix(" W"), clock.removesuffix(" MHz")
        out.append(mod.parse_sample(f"{index}, {temp}, {watts}, {mhz}, {reasons}"))
    return out


def test_the_real_h200_stress_passes_with_its_peaks():
    report = mod.summarize(real_events(), real_samples(), 20, 0)
    assert report["verdict"] == "PASS" and report["slowdowns"] == []
    assert report["gpus"]["0"]["peak_temperature_c"] == 47.0
    assert report["gpus"]["0"]["peak_power_w"] == 354.74


def test_a_thermal_slowdown_turns_a_passing_check_into_fail():
    samples = real_samples()
    samples[-1] = {**samples[-1], "reasons": 0x40}  # HW thermal slowdown
    report = mod.summarize(real_events(), samples, 20, 0)
    assert report["verdict"] == "FAIL" and report["slowdowns"] == ["hw_thermal_slowdown"]


def test_a_run_without_a_summary_is_fail():
    assert mod.summarize([], real_samples(), 20, 1)["verdict"] == "FAIL"
