#!/usr/bin/env python3
"""Benchmarks of the project's Python parsers on the real captured inputs in tests/fixtures.

    .venv/bin/python bench/parsers.py [--number N]

Prints microseconds per call (best of 5 repeats). Speed is measured here, never
asserted in tests: these parsers run once per host per play, so the numbers are
for spotting a regression (say, an O(n^2) scan of a large nvidia-smi XML from an
8-GPU node), not for pass/fail.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import timeit
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests/fixtures"
# collections/ansible_collections/gpu_rig/cluster is this checkout.
sys.path.insert(0, str(ROOT / "collections"))


def load(kind: str, name: str) -> ModuleType:
    return importlib.import_module(f"ansible_collections.gpu_rig.cluster.plugins.{kind}.{name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=200)
    args = parser.parse_args()

    gpu = load("module_utils", "nvidia_smi_xml")
    dmi_mod = load("module_utils", "dmidecode")
    edac = load("module_utils", "edac")
    pgp = load("modules", "apt_signed_repo")
    apt = load("modules", "apt_components")

    h200 = (FIX / "nvidia_smi/h200_driver580_smi_qx.xml").read_text()
    rtx = (FIX / "nvidia_smi/built_rtx3090x4_persistence_on.xml").read_text()
    dmi = sorted((FIX / "memory/dmidecode").glob("*"))[0].read_text()
    key = (FIX / "openpgp/nvidia_cuda-3bf863cc.asc").read_bytes()
    sources = (FIX / "apt_sources/debian12_installer.list").read_text()

    cases = {
        "nvidia_smi_xml.parse_smi_xml (H200, 1 GPU)": lambda: gpu.parse_smi_xml(h200),
        "nvidia_smi_xml.parse_smi_xml (RTX 3090 x4)": lambda: gpu.parse_smi_xml(rtx),
        "dmidecode.parse_dmidecode": lambda: dmi_mod.parse_dmidecode(dmi),
        "edac.read_edac (Naples tree)": lambda: edac.read_edac(FIX / "memory/edac_naples"),
        "apt_signed_repo.certificates (NVIDIA CUDA key)": lambda: pgp.certificates(key),
        "apt_components.rewrite_one_line (Debian 12)": lambda: apt.rewrite_one_line(
            sources, "/s", {"bookworm", "bookworm-updates", "bookworm-security"},
            ["main", "contrib", "non-free", "non-free-firmware"], "main"),
    }
    width = max(map(len, cases))
    for name, call in cases.items():
        best = min(timeit.repeat(call, number=args.number, repeat=5)) / args.number
        print(f"{name:<{width}}  {best * 1e6:10.1f} us/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
