"""dmidecode -t 16 -t 17: the memory arrays and devices (DIMMs) of system memory."""

from __future__ import annotations

import re
from typing import Any

HANDLE = re.compile(r"^Handle 0x([0-9A-Fa-f]+), DMI type (\d+),")


def _size_mb(value: str) -> int:
    """'32 GB' -> 32768, '8192 MB' -> 8192, 'No Module Installed' -> 0."""
    match = re.match(r"^(\d+)\s*(kB|KB|MB|GB|TB)\b", value.strip())
    if not match:
        return 0
    return int(int(match[1]) * {"kB": 1 / 1024, "KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024}[match[2]])


def leading_number(value: str | None) -> int | None:
    """'72 bits' -> 72, '3200 MT/s' -> 3200, 'Unknown' -> None."""
    match = re.match(r"^(\d+)", (value or "").strip())
    return int(match[1]) if match else None


def parse_dmidecode(text: str) -> dict[str, Any]:
    """Parse `dmidecode -t 16 -t 17` (other types are ignored) into arrays and devices of system memory."""
    records: list[tuple[int, str, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for line in text.splitlines():
        stripped = line.strip()
        match = HANDLE.match(stripped)
        if match:
            current = {} if match[2] in ("16", "17") else None
            if current is not None:
                records.append((int(match[2]), match[1].lower(), current))
        elif current is not None and ":" in stripped:
            key, _sep, value = stripped.partition(":")
            current.setdefault(key.strip(), value.strip())
    arrays = {handle: rec for kind, handle, rec in records if kind == 16}
    system = {h for h, rec in arrays.items() if rec.get("Use", "System Memory") == "System Memory"}
    devices = []
    for kind, _handle, rec in records:
        owner = rec.get("Array Handle", "").lower().removeprefix("0x")
        if kind != 17 or (arrays and owner not in system):
            continue
        devices.append({
            "locator": rec.get("Locator", ""),
            "bank_locator": rec.get("Bank Locator", ""),
            "size_mb": _size_mb(rec.get("Size", "")),
            "type": rec.get("Type", ""),
            "type_detail": rec.get("Type Detail", ""),
            "speed_mts": leading_number(rec.get("Speed")),
            "configured_speed_mts": leading_number(
                rec.get("Configured Memory Speed", rec.get("Configured Clock Speed"))),
            "total_width": leading_number(rec.get("Total Width")),
            "data_width": leading_number(rec.get("Data Width")),
            "manufacturer": rec.get("Manufacturer", ""),
            "part_number": rec.get("Part Number", ""),
        })
    return {
        "arrays": [{"ecc_type": rec.get("Error Correction Type", ""), "max_capacity": rec.get("Maximum Capacity", ""),
                    "use": rec.get("Use", ""), "devices": leading_number(rec.get("Number Of Devices"))}
                   for h, rec in arrays.items() if h in system],
        "devices": devices,
    }
