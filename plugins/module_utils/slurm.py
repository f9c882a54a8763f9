# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What scontrol says of a node, and when to drain or resume it: shared by the slurm filters (the controller's
view in a play) and the node's own health check program (Slurm's HealthCheckProgram). Standard library only."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

# Slurm keeps a reason of any length, but sinfo and the report show about this much.
REASON_LENGTH = 200


def node_state(text: str) -> dict[str, Any]:
    """What `scontrol show node NODE -o` says: state (base, flags), reason, gres, whether jobs run on it."""
    fields = dict(re.findall(r"(\w+)=(.*?)(?=\s+\w+=|$)", str(text).strip().splitlines()[-1] if text else ""))
    state = fields.get("State", "UNKNOWN")
    base, *flags = state.split("+")
    reason = re.sub(r"\s*\[[^\]]*@[^\]]*\]$", "", fields.get("Reason", "")).strip()
    return {"state": state, "base": base, "flags": flags, "drain": "DRAIN" in flags, "reason": reason,
            "gres": fields.get("Gres", ""), "busy": base in ("ALLOCATED", "MIXED", "COMPLETING")}


def clean_reason(text: str) -> str:
    """One line, no double quotes (scontrol's reason= is one argument), at most REASON_LENGTH characters."""
    return re.sub(r"\s+", " ", str(text).replace('"', "'")).strip()[:REASON_LENGTH]


def drain_action(failing: Sequence[str] | None, state: Mapping[str, Any], prefix: str, now: str = "") -> dict[str, str]:
    """Drain when failing lists problems (reason: prefix + problems); resume a node drained with this prefix
    when failing is empty; do nothing when failing is None (the node could not be judged) or when the node
    is drained for a reason of somebody else's (an admin's, a reboot's)."""
    if failing is None:
        return {"action": "", "reason": ""}
    drained, reason_now = bool(state.get("drain")), str(state.get("reason", ""))
    if failing:
        reason = clean_reason(f"{prefix}: " + "; ".join(failing))
        if drained and reason_now == reason:
            return {"action": "", "reason": reason}
        if drained and not reason_now.startswith(prefix):
            return {"action": "", "reason": f"left alone: drained for another reason ({reason_now or 'none'})"}
        return {"action": "drain", "reason": reason}
    if drained and reason_now.startswith(prefix):
        return {"action": "resume", "reason": now}
    return {"action": "", "reason": ""}
