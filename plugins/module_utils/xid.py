"""NVIDIA GPU events in a kernel log: Xid lines, and the NVRM lines of a GPU that is lost without one.

A GPU that has fallen off the bus is not always announced by an Xid: at probe time the driver prints
"NVRM: The NVIDIA GPU 0000:5d:00.0 (PCI ID: 10de:2330) installed in this system has fallen off the bus
and is not responding to commands." over three lines, and a GPU that fails to initialise prints
"NVRM: GPU 0000:01:00.0: RmInitAdapter failed!". Those are the most serious GPU failures there are.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import norm_bus_id
from ansible_collections.gpu_rig.cluster.plugins.module_utils.xid_catalog import action_of, recovery_action

BUS = r"(?:PCI:)?(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)"
XID_LINE = re.compile(r"NVRM: Xid \(" + BUS + r"\): (?P<xid>\d+),\s*(?P<text>.*?)\s*$")
# Xid 154: "GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)".
RECOVERY = re.compile(r"recovery action changed from \S+ \((?P<old>[^)]*)\) to \S+ \((?P<new>[^)]*)\)", re.I)
# NVRM lines that mean a GPU is lost or never came up, with or without an Xid.
GPU_LOST = (
    ("fallen off the bus", re.compile(r"fallen off the bus", re.I)),
    ("GPU lost", re.compile(r"GPU (?:is )?lost|NV_ERR_GPU_IS_LOST", re.I)),
    ("RmInitAdapter failed", re.compile(r"RmInitAdapter failed|rm_init_adapter failed", re.I)),
    ("probe failed", re.compile(r"NVIDIA probe routine failed", re.I)),
    ("not supported by this driver", re.compile(r"installed in this system is not supported by", re.I)),
)
NVRM_BUS = re.compile(r"(?:GPU|PCI:|NVIDIA GPU)\s*" + BUS)
TIMESTAMP = re.compile(r"^(?:\[\s*\d+\.\d+\]|\w{3} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)")


def _gpu_index(bus: str | None, gpus: list[dict[str, Any]] | None) -> int | None:
    if not bus:
        return None
    return next((g["index"] for g in gpus or [] if g.get("pci_address")
                 and (g["pci_address"] == bus or g["pci_address"].startswith(bus + "."))), None)


def messages(text: str) -> list[str]:
    """The log's messages, with the driver's continuation lines ("   NVRM: ...", no timestamp) joined on."""
    joined: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if joined and line[:1].isspace() and stripped.startswith("NVRM:") and not TIMESTAMP.match(stripped):
            joined[-1] += " " + stripped[len("NVRM:"):].strip()
        else:
            joined.append(line)
    return joined


def parse_xids(text: str, gpus: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """NVRM Xid events of a kernel log, with the GPU index when the bus id names one of gpus, and the action
    NVIDIA's Xid catalog gives for the code (for Xid 154, the recovery action the line names)."""
    events = []
    for line in messages(text):
        match = XID_LINE.search(line)
        if not match:
            continue
        bus = norm_bus_id(match["bus"])
        xid = int(match["xid"])
        action = action_of(xid)
        if xid == 154:
            recovery = RECOVERY.search(match["text"])
            # Without a readable action the change itself says the GPU needs attention.
            action = recovery_action(recovery["new"]) if recovery else "reset_gpu"
        events.append({"bus_id": bus, "gpu": _gpu_index(bus, gpus), "xid": xid, "text": match["text"],
                       "action": action})
    return events


def parse_gpu_lost(text: str, gpus: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """NVRM messages that say a GPU is lost or failed to initialise (Xid lines aside), one per message."""
    events = []
    for line in messages(text):
        if XID_LINE.search(line) or "NVRM" not in line:
            continue
        kind = next((name for name, pattern in GPU_LOST if pattern.search(line)), None)
        if kind is None:
            continue
        found = NVRM_BUS.search(line)
        bus = norm_bus_id(found["bus"]) if found else None
        message = line[line.index("NVRM"):].strip()
        events.append({"kind": kind, "bus_id": bus, "gpu": _gpu_index(bus, gpus), "text": message})
    return events
