"""rasdaemon's record of memory errors (its SQLite database, table mc_event), which outlives reboots.

EDAC's counters reset at every boot; rasdaemon stores each memory controller event as it happens, so a
DIMM that logged corrected errors at one address before the last reboot is still found. The schema is
rasdaemon's ras-record.c (mc_event: id, timestamp, err_count, err_type, err_msg, label, mc, top_layer,
middle_layer, lower_layer, address, grain, syndrome, driver_detail). err_type is what the kernel's EDAC
event says: Corrected, Uncorrected, Deferred, Fatal or Info.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

UNCORRECTED_TYPES = frozenset({"uncorrected", "deferred", "fatal"})


def _where(row: sqlite3.Row) -> str:
    label = (row["label"] or "").strip()
    place = label if label and label.lower() not in ("unknown", "any memory") else (
        f"mc{row['mc']} layer {row['top_layer']}/{row['middle_layer']}/{row['lower_layer']}")
    return f"{place} address 0x{int(row['address'] or 0):x}"


def read_events(db_path: Path) -> dict[str, Any]:
    """Corrected and uncorrected events grouped by place (label or layers) and address.

    available is false, with the reason, when the database is absent or unreadable: the caller decides
    what that means (rasdaemon not installed, or not running). repeated lists the places with more than
    one corrected event at the same address: a weak cell, not a cosmic ray.
    """
    if not db_path.is_file():
        return {"available": False, "reason": f"{db_path} does not exist", "events": 0, "corrected": [],
                "uncorrected": [], "repeated": []}
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT timestamp, err_count, err_type, label, mc, top_layer, middle_layer, "
                              "lower_layer, address FROM mc_event ORDER BY id").fetchall()
    except sqlite3.Error as exc:
        return {"available": False, "reason": f"{db_path} unreadable: {exc}", "events": 0, "corrected": [],
                "uncorrected": [], "repeated": []}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kind = "uncorrected" if (row["err_type"] or "").strip().lower() in UNCORRECTED_TYPES else (
            "corrected" if (row["err_type"] or "").strip().lower() == "corrected" else "")
        if not kind:
            continue
        entry = groups.setdefault((kind, _where(row)), {"where": _where(row), "count": 0, "events": 0,
                                                        "first": row["timestamp"], "last": row["timestamp"]})
        entry["count"] += int(row["err_count"] or 1)
        entry["events"] += 1
        entry["last"] = row["timestamp"]
    corrected = [g for (kind, _w), g in groups.items() if kind == "corrected"]
    return {
        "available": True,
        "reason": f"{len(rows)} events in {db_path}",
        "events": len(rows),
        "corrected": corrected,
        "uncorrected": [g for (kind, _w), g in groups.items() if kind == "uncorrected"],
        "repeated": [g for g in corrected if g["events"] > 1],
    }
