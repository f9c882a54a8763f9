"""rasdaemon's record of memory errors (its SQLite database, table mc_event), which outlives reboots.

EDAC's counters reset at every boot; rasdaemon stores each memory controller event as it happens, so a
DIMM that logged corrected errors at one address before the last reboot is still found. The schema is
rasdaemon's ras-record.c (mc_event: id, timestamp, err_count, err_type, err_msg, label, mc, top_layer,
middle_layer, lower_layer, address, grain, syndrome, driver_detail). err_type is what the kernel's EDAC
event says: Corrected, Uncorrected, Deferred, Fatal or Info.

On AMD Zen systems the memory errors often arrive as machine checks of the Unified Memory Controller bank
instead, in table mce_record (rasdaemon built with MCE support): "error: Corrected error, no action required.,
CPU 2, bank Unified Memory Controller (bank=17), ..., mci CECC, memory_channel=0,csrow=1, ..., addr=0x319deb440"
as ras-mc-ctl --errors prints it. Both tables are read.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

UNCORRECTED_TYPES = frozenset({"uncorrected", "deferred", "fatal"})


def _mc_kind(row: sqlite3.Row) -> str:
    err_type = (row["err_type"] or "").strip().lower()
    return "uncorrected" if err_type in UNCORRECTED_TYPES else "corrected" if err_type == "corrected" else ""


def _mce_kind(row: sqlite3.Row) -> str:
    """Memory machine checks only (a memory controller bank, or a memory location); by their MCi status."""
    bank = (row["bank_name"] or "").lower()
    if "memory controller" not in bank and not (row["mc_location"] or "").strip():
        return ""
    status = f"{row['mcistatus_msg'] or ''} {row['error_msg'] or ''}".lower()
    if "uecc" in status or "uncorrected" in status or "deferred" in status:
        return "uncorrected"
    return "corrected" if "cecc" in status or "corrected" in status else ""


def _mce_where(row: sqlite3.Row) -> str:
    place = " ".join(p for p in ((row["bank_name"] or "").strip(), (row["mc_location"] or "").strip()) if p)
    return f"{place or 'memory'} address 0x{int(row['addr'] or 0):x}"


def _table(db: sqlite3.Connection, name: str, columns: str) -> list[sqlite3.Row]:
    """The rows of one of rasdaemon's tables, none when rasdaemon was built without it."""
    exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
    return db.execute(f"SELECT {columns} FROM {name} ORDER BY id").fetchall() if exists else []


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
        with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)) as db:
            db.row_factory = sqlite3.Row
            mc_rows = _table(db, "mc_event", "timestamp, err_count, err_type, label, mc, top_layer, middle_layer, "
                                             "lower_layer, address")
            mce_rows = _table(db, "mce_record", "timestamp, bank_name, error_msg, mcistatus_msg, mc_location, addr")
    except sqlite3.Error as exc:
        return {"available": False, "reason": f"{db_path} unreadable: {exc}", "events": 0, "corrected": [],
                "uncorrected": [], "repeated": []}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    events = [(_mc_kind(r), _where(r), int(r["err_count"] or 1), r["timestamp"]) for r in mc_rows]
    events += [(_mce_kind(r), _mce_where(r), 1, r["timestamp"]) for r in mce_rows]
    for kind, where, count, when in events:
        if not kind:
            continue
        entry = groups.setdefault((kind, where), {"where": where, "count": 0, "events": 0, "first": when,
                                                  "last": when})
        entry["count"] += count
        entry["events"] += 1
        entry["last"] = when
    rows = [e for e in events if e[0]]
    corrected = [g for (kind, _w), g in groups.items() if kind == "corrected"]
    return {
        "available": True,
        "reason": f"{len(rows)} memory error events in {db_path}",
        "events": len(rows),
        "corrected": corrected,
        "uncorrected": [g for (kind, _w), g in groups.items() if kind == "uncorrected"],
        "repeated": [g for g in corrected if g["events"] > 1],
    }
