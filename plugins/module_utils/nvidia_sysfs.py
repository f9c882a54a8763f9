"""What sysfs and procfs say about the NVIDIA devices: the loaded module's version, PCI functions, NUMA nodes."""

from __future__ import annotations

import re
from pathlib import Path


def kernel_module_version(root: Path) -> str | None:
    sys_version = root / "sys/module/nvidia/version"
    if sys_version.is_file():
        return sys_version.read_text(encoding="utf-8").strip() or None
    proc = root / "proc/driver/nvidia/version"
    if proc.is_file():
        match = re.search(r"Kernel Module(?: for \S+)?\s+(\d+\.\d+(?:\.\d+)?)", proc.read_text(encoding="utf-8"))
        return match.group(1) if match else None
    return None


def numa_node(root: Path, pci_address: str | None) -> int | None:
    path = root / "sys/bus/pci/devices" / (pci_address or "-") / "numa_node"
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def nvidia_pci_gpus(root: Path) -> list[str] | None:
    """sysfs addresses of NVIDIA display-class PCI functions; None when there is no sysfs under root."""
    devices = root / "sys/bus/pci/devices"
    if not devices.is_dir():
        return None
    found = []
    for dev in sorted(devices.iterdir()):
        try:
            vendor = (dev / "vendor").read_text(encoding="utf-8").strip()
            klass = (dev / "class").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if vendor == "0x10de" and klass.startswith("0x03"):
            found.append(dev.name)
    return found
