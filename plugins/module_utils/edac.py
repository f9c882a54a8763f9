"""The EDAC sysfs tree (memory controllers, ranks/DIMMs, CE/UE counts), /proc/meminfo, the CE/UE baseline
and memory error lines in the kernel log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.dmidecode import leading_number
from ansible_collections.gpu_rig.cluster.plugins.module_utils.fileio import read_value

EDAC_MC = "sys/devices/system/edac/mc"
BASELINE_VERSION = 1
EDAC_COUNT = re.compile(r"\bEDAC\b.*\b\d+\s+(CE|UE)\b")
EDAC_UE = re.compile(r"\bEDAC\b.*(\b\d+\s+UE\b|uncorrect)", re.IGNORECASE)
MCE = re.compile(r"Machine check events logged|\[Hardware Error\]")
MCE_UE = re.compile(r"mce: Uncorrected hardware memory error", re.IGNORECASE)
# amd64_edac when ECC is off in firmware: "Node 0: DRAM ECC disabled." and "ECC disabled in the BIOS or no
# ECC capability, module will not load." (drivers/edac/amd64_edac.c).
ECC_OFF = re.compile(r"EDAC.*(DRAM ECC disabled|ECC disabled in the BIOS|ECC is disabled)", re.IGNORECASE)


def _count(path: Path) -> int | None:
    """A counter file's value; None when the kernel does not offer it (absent is unknown, never zero)."""
    return leading_number(read_value(path))


def _index(path: Path) -> int:
    return int(re.sub(r"\D", "", path.name) or 0)


def _sum(values: list[int | None]) -> int | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _dimm_entries(mc: Path) -> list[dict[str, Any]]:
    """Per-DIMM (dimmN/) or per-rank (rankN/) entries: the layout of kernels since 3.x."""
    entries = []
    for entry in sorted((p for p in mc.iterdir() if re.fullmatch(r"(rank|dimm)\d+", p.name)), key=_index):
        entries.append({
            "name": entry.name,
            "label": read_value(entry / "dimm_label") or "",
            "location": read_value(entry / "dimm_location") or "",
            "mem_type": read_value(entry / "dimm_mem_type") or "",
            "edac_mode": read_value(entry / "dimm_edac_mode") or "",
            "size_mb": _count(entry / "size") or 0,
            "ce_count": _count(entry / "dimm_ce_count"),
            "ue_count": _count(entry / "dimm_ue_count"),
        })
    return entries


def _csrow_entries(mc: Path) -> list[dict[str, Any]]:
    """The legacy csrowN/ layout: per chip-select row, CE per channel (chN_ce_count), UE per row."""
    entries = []
    for row in sorted((p for p in mc.iterdir() if re.fullmatch(r"csrow\d+", p.name)), key=_index):
        channels = sorted(row.glob("ch*_ce_count"), key=lambda p: _index(Path(p.name.split("_")[0])))
        channel_ce = [_count(c) for c in channels]
        labels = [read_value(row / c.name.replace("_ce_count", "_dimm_label")) or "" for c in channels]
        row_ce = _count(row / "ce_count")
        entries.append({
            "name": row.name,
            "label": " ".join(label for label in labels if label),
            "location": row.name,
            "mem_type": read_value(row / "mem_type") or "",
            "edac_mode": read_value(row / "edac_mode") or "",
            "size_mb": _count(row / "size_mb") or 0,
            # The row's own total, else the sum of its channels.
            "ce_count": row_ce if row_ce is not None else _sum(channel_ce),
            "ue_count": _count(row / "ue_count"),
        })
    return entries


def _total(controller: int | None, finer: int | None, what: str, name: str, notes: list[str]) -> int | None:
    """The controller's count cross-checked with its DIMMs': the larger known value, the mismatch noted."""
    if controller is not None and finer is not None and finer > controller:
        notes.append(f"{name}: {what} of its DIMMs sum to {finer}, above the controller's {controller}")
        return finer
    return controller if controller is not None else finer


def read_edac(root: Path) -> dict[str, Any]:
    """Read the EDAC memory controllers under root; present is false when there is none.

    Counters the kernel does not offer are None (unknown), never 0. Per controller, ce_count and
    ue_count are the controller's totals cross-checked with the finest counters there are (per DIMM,
    per rank or per csrow); where only the finer ones exist, their sum.
    """
    base = root / EDAC_MC
    if not base.is_dir():
        return {"present": False, "reason": f"/{EDAC_MC} does not exist (no EDAC driver loaded)", "controllers": []}
    controllers = []
    for mc in sorted((p for p in base.iterdir() if re.fullmatch(r"mc\d+", p.name)), key=_index):
        dimms = _dimm_entries(mc) or _csrow_entries(mc)
        notes: list[str] = []
        ce = _total(_count(mc / "ce_count"), _sum([d["ce_count"] for d in dimms]), "corrected errors", mc.name, notes)
        ue = _total(_count(mc / "ue_count"), _sum([d["ue_count"] for d in dimms]), "uncorrected errors", mc.name,
                    notes)
        controllers.append({
            "name": mc.name,
            "mc_name": read_value(mc / "mc_name") or "",
            "size_mb": _count(mc / "size_mb") or sum(d["size_mb"] for d in dimms),
            "ce_count": ce,
            "ue_count": ue,
            "ce_noinfo_count": _count(mc / "ce_noinfo_count"),
            "ue_noinfo_count": _count(mc / "ue_noinfo_count"),
            "layout": "dimm" if dimms and not dimms[0]["name"].startswith("csrow") else "csrow" if dimms else "none",
            "notes": notes,
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
    """Pick EDAC error lines, uncorrected-error lines, machine-check lines and ECC-off lines out of a kernel log."""
    if text is None:
        return {"available": False, "source": source, "edac_errors": [], "mce_errors": [], "ue_lines": [],
                "ecc_off_lines": []}
    lines = [line.strip() for line in text.splitlines()]
    return {
        "available": True,
        "source": source,
        "edac_errors": [line for line in lines if EDAC_COUNT.search(line)],
        "mce_errors": [line for line in lines if MCE.search(line)],
        "ue_lines": [line for line in lines if EDAC_UE.search(line) or MCE_UE.search(line)],
        "ecc_off_lines": [line for line in lines if ECC_OFF.search(line)],
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
            before = old.get("dimms", {}).get(dimm["name"], {}).get("ce_count")
            # A counter the baseline never saw is no rise: it has no earlier value to rise from.
            if before is not None and dimm["ce_count"] is not None and dimm["ce_count"] > before:
                label = f" {dimm['label']}" if dimm["label"] else ""
                dimms.append(f"{dimm['name']}{label} +{dimm['ce_count'] - before}")
        before = old.get("ce_count")
        if before is not None and mc["ce_count"] is not None and mc["ce_count"] > before:
            detail = f" ({', '.join(dimms)})" if dimms else ""
            rises.append(f"{mc['name']} +{mc['ce_count'] - before}{detail}")
    return rises


def load_baseline(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == BASELINE_VERSION else None


def render_baseline(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
