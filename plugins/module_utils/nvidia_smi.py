"""nvidia-smi's text: reported values, --query-* CSV output, --help-query-gpu, and how it fails."""

from __future__ import annotations

import csv
import re
from typing import Any

# The ways nvidia-smi says "nothing here".
MISSING = frozenset({"", "n/a", "[n/a]", "not supported", "[not supported]", "unknown error", "[unknown error]",
                     "not available", "none"})
NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")
QUERY_FIELD_LINE = re.compile(r'^"([^"]+)"(?:\s+or\s+"([^"]+)")*\s*$')


def clean(value: str | None) -> str | None:
    """Strip a reported value; the ways nvidia-smi says 'nothing here' become None."""
    if value is None:
        return None
    value = value.strip()
    return None if value.lower() in MISSING else value


def number(value: str | None) -> int | float | None:
    """The leading number of a value such as '700.00 W' (700.0), '40 C' (40), '-2 C' or '16x'."""
    value = clean(value)
    match = NUMBER.match(value) if value else None
    if not match:
        return None
    return float(match.group(1)) if "." in match.group(1) else int(match.group(1))


def integer(value: str | None) -> int | None:
    num = number(value)
    return int(num) if num is not None else None


def yes_no(value: str | None) -> bool | None:
    value = clean(value)
    if value is None:
        return None
    if value.lower() in ("yes", "enabled", "active", "true"):
        return True
    if value.lower() in ("no", "disabled", "not active", "false"):
        return False
    return None


def norm_bus_id(bus_id: str) -> str:
    """'00000000:01:00.0' (nvidia-smi) or '01:00.0' -> '0000:01:00.0' (sysfs); 'PCI:0000:01:00' keeps no function."""
    bus_id = bus_id.strip().lower()
    if bus_id.startswith("pci:"):
        bus_id = bus_id[4:]
    parts = bus_id.split(":")
    if len(parts) == 2:
        parts.insert(0, "0000")
    parts[0] = parts[0][-4:].rjust(4, "0")
    return ":".join(parts)


def known_query_fields(help_text: str) -> set[str]:
    """Field names (aliases included) listed by `nvidia-smi --help-query-gpu`."""
    fields: set[str] = set()
    for line in help_text.splitlines():
        if QUERY_FIELD_LINE.match(line.strip()):
            fields.update(re.findall(r'"([^"]+)"', line))
    return fields


def query_value(value: str) -> str | int | float | None:
    """One CSV cell: N/A and the like become None, numbers become numbers."""
    value = clean(value) if value.strip() else None
    if value is None:
        return None
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


BUS_ID = re.compile(r"^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$")


def parse_query_csv(text: str, fields: list[str], require_header: bool = False) -> list[dict[str, Any]]:
    """Rows of `nvidia-smi --query-*=<fields> --format=csv[,noheader][,nounits]` as dicts (N/A -> None).

    With require_header, the first line must be the header of exactly these fields (units in brackets
    aside): output of another query, or an error message, is refused instead of read column by column.
    Raises ValueError on a row with another number of values (an error message in the output, a field
    the driver does not know) and on a missing or different header.
    """
    rows = []
    lines = [line for line in text.splitlines() if line.strip()]
    for number, row in enumerate(csv.reader(lines)):
        cells = [cell.strip() for cell in row]
        names = [re.sub(r"\s*\[.*\]$", "", c) for c in cells]
        if number == 0 and require_header and names != list(fields):
            raise ValueError(f"expected the header {','.join(fields)}, got {','.join(cells)[:200]}")
        if names == list(fields):
            continue  # the header line of --format=csv
        if len(cells) != len(fields):
            raise ValueError(f"expected {len(fields)} values, got {len(cells)}: {','.join(cells)[:200]}")
        rows.append({name: query_value(cell) for name, cell in zip(fields, cells, strict=True)})
    return rows


def failure(rc: int, out: str, err: str) -> str:
    """Why nvidia-smi gave no answer, in one line (its own first line of output where it printed one)."""
    message = next((line.strip() for line in (out + "\n" + err).splitlines() if line.strip()), "")
    if rc == 127:
        return "nvidia-smi is not installed"
    return f"nvidia-smi failed (rc={rc}): {message or 'no output'}"
