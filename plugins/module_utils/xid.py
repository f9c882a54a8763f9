"""NVIDIA Xid events in a kernel log, and which of them mean the GPU needs attention at once."""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import norm_bus_id

FATAL_XIDS = frozenset({48, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120})
XID_LINE = re.compile(
    r"NVRM: Xid \((?:PCI:)?(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\): "
    r"(?P<xid>\d+),\s*(?P<text>.*?)\s*$"
)


def parse_xids(text: str, gpus: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """NVRM Xid events of a kernel log, with the GPU index when the bus id names one of gpus."""
    events = []
    for line in text.splitlines():
        match = XID_LINE.search(line)
        if not match:
            continue
        bus = norm_bus_id(match["bus"])
        index = next((g["index"] for g in gpus or []
                      if g.get("pci_address") and (g["pci_address"] == bus or g["pci_address"].startswith(bus + "."))),
                     None)
        events.append({"bus_id": bus, "gpu": index, "xid": int(match["xid"]), "text": match["text"]})
    return events
