"""Bounded GPU stress with sampling, for the gpu_health role (opt-in).

    gpu_stress.py SECONDS [--check /usr/local/bin/gpu-check] [--interval 2]

Runs the project's CUDA check (`gpu-check --stress SECONDS`, built by the
cuda_toolkit role) on every GPU while sampling temperature, power, SM clock and
clock event reasons with nvidia-smi, and prints one JSON document: the check's
own events, the samples, the peak temperature and power per GPU, the throttle
reasons seen, and a verdict (FAIL when the check failed or a thermal or power
brake slowdown was active).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from typing import Any

FIELDS = "index,temperature.gpu,power.draw,clocks.sm,clocks_event_reasons.active"
# Bits of clocks_event_reasons.active that mean the GPU protected itself.
BAD_REASONS = {0x8: "hw_slowdown", 0x20: "sw_thermal_slowdown", 0x40: "hw_thermal_slowdown",
               0x80: "hw_power_brake_slowdown"}


def parse_sample(line: str) -> dict[str, Any]:
    """One line of `--query-gpu=FIELDS --format=csv,noheader,nounits`."""
    index, temp, power, clock, reasons = (f.strip() for f in line.split(","))
    return {"t": round(time.monotonic(), 1), "index": int(index), "temperature_c": float(temp),
            "power_w": float(power) if power not in ("[N/A]", "N/A") else None,
            "sm_mhz": float(clock), "reasons": int(reasons, 16)}


def sample(stop: threading.Event, interval: float, out: list[dict[str, Any]]) -> None:
    while not stop.is_set():
        query = subprocess.run(["nvidia-smi", f"--query-gpu={FIELDS}", "--format=csv,noheader,nounits"],
                               capture_output=True, text=True, check=False)
        out.extend(parse_sample(line) for line in query.stdout.strip().splitlines())
        stop.wait(interval)


def summarize(events: list[dict[str, Any]], samples: list[dict[str, Any]], seconds: int, exit_code: int,
              stderr: str = "") -> dict[str, Any]:
    """The verdict: the check's own, turned to FAIL when a thermal or power-brake slowdown was seen."""
    per_gpu: dict[int, dict[str, Any]] = {}
    for s in samples:
        gpu = per_gpu.setdefault(s["index"], {"peak_temperature_c": 0.0, "peak_power_w": 0.0, "slowdowns": set()})
        gpu["peak_temperature_c"] = max(gpu["peak_temperature_c"], s["temperature_c"])
        gpu["peak_power_w"] = max(gpu["peak_power_w"], s["power_w"] or 0.0)
        gpu["slowdowns"] |= {name for bit, name in BAD_REASONS.items() if s["reasons"] & bit}
    summary = next((e for e in reversed(events) if e.get("event") == "summary"), {"verdict": "FAIL"})
    slowed = sorted({name for g in per_gpu.values() for name in g["slowdowns"]})
    verdict = summary.get("verdict", "FAIL")
    if verdict == "PASS" and slowed:
        verdict = "FAIL"
    return {
        "verdict": verdict, "exit_code": exit_code, "seconds": seconds, "slowdowns": slowed,
        "gpus": {str(i): {**g, "slowdowns": sorted(g["slowdowns"])} for i, g in sorted(per_gpu.items())},
        "events": events, "samples": samples, "stderr": stderr[-2000:],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="bounded GPU stress with sampling")
    parser.add_argument("seconds", type=int)
    parser.add_argument("--check", default="/usr/local/bin/gpu-check")
    parser.add_argument("--interval", type=float, default=2.0)
    args = parser.parse_args()
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=sample, args=(stop, args.interval, samples), daemon=True)
    sampler.start()
    run = subprocess.run([args.check, "--stress", str(args.seconds)], capture_output=True, text=True, check=False)
    stop.set()
    sampler.join(timeout=10)
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    report = summarize(events, samples, args.seconds, run.returncode, run.stderr)
    verdict = report["verdict"]
    print(json.dumps(report, indent=2))
    return 0 if verdict in ("PASS", "SKIP") else 1


if __name__ == "__main__":
    sys.exit(main())
