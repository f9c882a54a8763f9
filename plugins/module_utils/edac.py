"""The EDAC sysfs tree (memory controllers, ranks/DIMMs, CE/UE counts), /proc/meminfo, the CE/UE baseline
and memory error lines in the kernel log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.dmidecode import leading_number

EDAC_MC = "sys/devices/system/edac/mc"
BASELINE_VERSION = 1
EDAC_COUNT = re.compile(r"\bEDAC\b.*\b\d+\s+(CE|UE)\b")
EDAC_UE = re.compile(r"\bEDAC\b.*(\b\d+\s+UE\b|uncorrect)", re.IGNORECASE)
MCE = re.compile(r"Machine check events logged|\[Hardware Error\]")
MCE_UE = re.compile(r"mce: Uncorrected hardware memory error", re.IGNORECASE)


def read_value(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _count(path: Path) -> int:
    return leading_number(read_value(path)) or 0


def _index(path: Path) -> int:
    return int(re.sub(r"\D", "", path.name) or 0)


def read_edac(root: Path) -> dict[str, Any]:
    """Read the EDAC memory controllers under root; present is false when there is none."""
    base = root / EDAC_MC
    if not base.is_dir():
        return {"present": False, "reason": f"/{EDAC_MC} does not exist (no EDAC driver loaded)", "controllers": []}
    controllers = []
    for mc in sorted((p for p in base.iterdir() if re.fullmatch(r"mc\d+", p.name)), key=_index):
        dimms = []
        for entry in sorted((p for p in mc.iterdir() if re.fullmatch(r"(rank|dimm)\d+", p.name)), key=_index):
            dimms.append({
                "name": entry.name,
                "label": read_value(entry / "dimm_label") or "",
                "location": read_value(entry / "dimm_location") or "",
                "mem_type": read_value(entry / "dimm_mem_type") or "",
                "edac_mode": read_value(entry / "dimm_edac_mode") or "",
                "size_mb": _count(entry / "size"),
                "ce_count": _count(entry / "dimm_ce_count"),
                "ue_count": _count(entry / "dimm_ue_count"),
            })
        controllers.append({
            "name": mc.name,
            "mc_name": read_value(mc / "mc_name") or "",
            "size_mb": _count(mc / "size_mb"),
            "ce_count": _count(mc / "ce_count"),
            "ue_count": _count(mc / "ue_count"),
            "ce_noinfo_count": _count(mc / "ce_noinfo_count"),
            "ue_noinfo_count": _count(mc / "ue_noinfo_count"),
            "dimms": dimms,
        })
    reason = "" if controllers else f"/{EDAC_MC} has no memory controller (ECC off in firmware, or no driver for it)"
    return {"present": bool(controllers), "reason": reason, "controllers": controllers}


def parse_meminfo(text: str) -> dict[str, int | None]:
    """MemTotal and HardwareCorrupted in kB; None for a line the kernel does not print."""
    values = {}
    for line in text.splitlines():
        key, _sep, rest = line.partition(":")
        values[key.strip()] = leading_number(rest)
    return {"mem_total_kb": values.get("MemTotal"), "hardware_corrupted_kb": values.get("HardwareCorrupted")}


def scan_kernel_log(text: str | None, source: str = "") -> dict[str, Any]:
    """Pick EDAC error lines, uncorrected-error lines and machine-check lines out of a kernel log."""
    if text is None:
        return {"available": False, "source": source, "edac_errors": [], "mce_errors": [], "ue_lines": []}
    lines = [line.strip() for line in text.splitlines()]
    return {
        "available": True,
        "source": source,
        "edac_errors": [line for line in lines if EDAC_COUNT.search(line)],
        "mce_errors": [line for line in lines if MCE.search(line)],
        "ue_lines": [line for line in lines if EDAC_UE.search(line) or MCE_UE.search(line)],
    }


def baseline_of(edac: dict[str, Any]) -> dict[str, Any]:
    """The baseline document for the current EDAC counts (no timestamps: same counts, same bytes)."""
    return {"version": BASELINE_VERSION, "controllers": {
        mc["name"]: {"ce_count": mc["ce_count"], "ue_count": mc["ue_count"],
                     "dimms": {d["name"]: {"ce_count": d["ce_count"], "ue_count": d["ue_count"]} for d in mc["dimms"]}}
        for mc in edac["controllers"]}}


def ce_rises(edac: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """Where the CE count is above the baseline, as 'mc0 +2 (rank0 +2)'."""
    if not baseline:
        return []
    rises = []
    for mc in edac["controllers"]:
        old = baseline.get("controllers", {}).get(mc["name"])
        if not isinstance(old, dict):
            continue
        dimms = []
        for dimm in mc["dimms"]:
            before = old.get("dimms", {}).get(dimm["name"], {}).get("ce_count", 0)
            if dimm["ce_count"] > before:
                label = f" {dimm['label']}" if dimm["label"] else ""
                dimms.append(f"{dimm['name']}{label} +{dimm['ce_count'] - before}")
        if mc["ce_count"] > old.get("ce_count", 0):
            detail = f" ({', '.join(dimms)})" if dimms else ""
            rises.append(f"{mc['name']} +{mc['ce_count'] - old.get('ce_count', 0)}{detail}")
    return rises


def load_baseline(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == BASELINE_VERSION else None


def render_baseline(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
