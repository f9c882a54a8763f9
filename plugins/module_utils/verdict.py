"""The verdict model every health check uses: one check, the overall verdict, a check as a line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# SKIP: the check does not apply here (a container, a VM, no expectation); it ranks lowest, so a node
# whose every check is SKIP is SKIP, never PASS. UNKNOWN: the check applies but its input was absent or
# unreadable; it ranks above PASS, so what could not be seen never adds up to PASS.
VERDICTS = ("SKIP", "PASS", "UNKNOWN", "WARN", "FAIL")
RANK = {verdict: rank for rank, verdict in enumerate(VERDICTS)}


def check(name: str, gpu: int | None, verdict: str, reason: str, *, expected: Any = None, found: Any = None
          ) -> dict[str, Any]:
    """One named check. gpu is the GPU index the check is about, None for node-wide checks."""
    if verdict not in RANK:
        raise ValueError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    return {"name": name, "gpu": gpu, "verdict": verdict, "reason": reason, "expected": expected, "found": found}


def checker(name: str, gpu: int | None = None) -> Callable[..., dict[str, Any]]:
    """check() with the name (and GPU) filled in: c = checker('ecc', 0); c('PASS', 'ok', found=0)."""
    return lambda verdict, reason, **kw: check(name, gpu, verdict, reason, **kw)


def overall(checks: list[dict[str, Any]]) -> str:
    """The worst verdict: FAIL, then WARN, then UNKNOWN, then PASS; SKIP only when every check is SKIP (or none)."""
    return max((c["verdict"] for c in checks), key=RANK.__getitem__, default="SKIP")


def check_line(entry: dict[str, Any]) -> str:
    """A check as one line: 'FAIL pcie_width[GPU 2]: expected x16, found x8'."""
    gpu = entry.get("gpu")
    where = f"[GPU {gpu}]" if gpu is not None else ""
    return f"{entry.get('verdict', '?')} {entry.get('name', '?')}{where}: {entry.get('reason', '')}"
