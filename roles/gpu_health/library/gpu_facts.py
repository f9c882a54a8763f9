#!/usr/bin/python
"""Ansible module: read NVIDIA GPU health facts from nvidia-smi and judge them against the inventory."""

from __future__ import annotations

import csv
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: gpu_facts
short_description: Gather NVIDIA GPU facts (nvidia-smi -q -x, sysfs, kernel log) and check them
description:
  - Runs C(nvidia-smi -q -x) (or parses O(xml_file)) and returns, per GPU, the name, UUID, PCI bus id,
    NUMA node, persistence mode, PCIe generation and width, power limits, temperatures, ECC, retired
    pages, remapped rows and active clock event (throttle) reasons, plus the NVIDIA Xid events of the
    current boot's kernel log.
  - Judges them against O(expected) and returns a list of checks, each PASS, WARN, FAIL or SKIP, and an
    overall verdict (the worst; SKIP only when every check is SKIP). Never changes anything.
  - Parses both generations of nvidia-smi XML names (C(power_readings)/C(enforced_power_limit) and
    C(gpu_power_readings)/C(current_power_limit); C(clocks_throttle_reasons) and C(clocks_event_reasons);
    absolute temperature thresholds and the T.Limit-relative ones of newer drivers). Values reported as
    C(N/A), C([N/A]) or C(Not Supported) become null.
  - When nvidia-smi is missing or fails, every check is SKIP with its message, unless
    O(expected.gpus_expected) is true on a host that is neither a container nor a VM without NVIDIA
    PCI devices; then the gpu_count check FAILs.
options:
  nvidia_smi:
    description: Name or path of the nvidia-smi binary.
    type: str
    default: nvidia-smi
  xml_file:
    description: Parse this saved C(nvidia-smi -q -x) output instead of running nvidia-smi.
    type: path
  root:
    description:
      - Prefix for C(/sys/bus/pci/devices/*/numa_node), C(/sys/module/nvidia/version),
        C(/proc/driver/nvidia/version) and the container markers (tests point it at a fixture tree).
    type: path
    default: /
  kernel_log_file:
    description:
      - Read the kernel log from this file. Without it, C(journalctl -k -b --no-pager) is used, then
        C(dmesg); when neither gives a log, the xid check is SKIP.
    type: path
  expected:
    description:
      - What the inventory says about this node. Keys (all optional) C(gpu_count) (int), C(gpu_model)
        (str; matches the product name exactly or as its trailing words, so C(RTX 3090) does not match
        C(RTX 3090 Ti)), C(driver_branch) (str, e.g. C(580)), C(driver_version) (exact), C(pcie_widths)
        (dict of PCI bus id to width, or list by GPU index), C(pcie_gen_max) (int, the platform's top
        PCIe generation), C(power_limit_w) (number), C(persistence) (bool, default true) and
        C(gpus_expected) (bool).
    type: dict
    default: {}
  temperature_margin_c:
    description: WARN when a GPU is within this many degrees of its slowdown temperature (FAIL at or above it).
    type: int
    default: 5
author: GPU rig maintainers
"""

EXAMPLES = r"""
- name: Check the GPUs against the inventory
  gpu_facts:
    expected:
      gpus_expected: true
      gpu_count: 4
      gpu_model: NVIDIA GeForce RTX 3090
      driver_branch: "580"
      pcie_gen_max: 3
      pcie_widths: {"0000:01:00.0": 16, "0000:21:00.0": 16, "0000:41:00.0": 8, "0000:61:00.0": 16}
      power_limit_w: 280
  register: gpu

- name: Stop on a failed check
  ansible.builtin.assert:
    that: gpu.ansible_facts.gpu_health.verdict != 'FAIL'
    fail_msg: "{{ gpu.ansible_facts.gpu_health.checks | selectattr('verdict', 'equalto', 'FAIL') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: C(gpu_health) with available, reason, driver_version, cuda_version, kernel_module_version,
    gpus (index, name, uuid, serial, bus_id, pci_address, minor_number, vbios, architecture, numa_node,
    persistence, pcie, power, temperature, ecc, retired_pages, remapped_rows, clock_event_reasons,
    clock_events_active), xid_events, kernel_log, checks and verdict.
  type: dict
  returned: always
checks:
  description: Each check as C({name, gpu, verdict, reason, expected, found}); C(gpu) is the index or null.
  type: list
  returned: always
verdict:
  description: PASS, WARN, FAIL or SKIP; the worst of the checks (SKIP only when all are SKIP).
  type: str
  returned: always
"""

MISSING = {"", "n/a", "[n/a]", "not supported", "[not supported]", "unknown error", "[unknown error]",
           "not available", "none"}
RANK = {"SKIP": 0, "PASS": 1, "WARN": 2, "FAIL": 3}
FATAL_XIDS = frozenset({48, 62, 63, 64, 74, 79, 92, 94, 95, 119, 120})
BAD_CLOCK_EVENTS = ("hw_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown", "sw_thermal_slowdown")
CHECK_NAMES = ("gpu_count", "gpu_model", "driver_version", "pcie_width", "pcie_gen", "persistence",
               "power_limit", "temperature", "ecc", "retired_pages", "remapped_rows", "clock_events", "xid")
XID_LINE = re.compile(
    r"NVRM: Xid \((?:PCI:)?(?P<bus>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\): "
    r"(?P<xid>\d+),\s*(?P<text>.*?)\s*$"
)
NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")
QUERY_FIELD_LINE = re.compile(r'^"([^"]+)"(?:\s+or\s+"([^"]+)")*\s*$')


# --- Value helpers ---

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
    bus_id = bus_id.strip().lower().removeprefix("pci:")
    parts = bus_id.split(":")
    if len(parts) == 2:
        parts.insert(0, "0000")
    parts[0] = parts[0][-4:].rjust(4, "0")
    return ":".join(parts)


def _text(elem: ET.Element | None, path: str) -> str | None:
    if elem is None:
        return None
    found = elem.find(path)
    return None if found is None or found.text is None else found.text


def _first(elem: ET.Element | None, *paths: str) -> str | None:
    """The first of paths that is present and not N/A (older and newer drivers name things differently)."""
    for path in paths:
        value = clean(_text(elem, path))
        if value is not None:
            return value
    return None


def _num(elem: ET.Element | None, *paths: str) -> int | float | None:
    return number(_first(elem, *paths))


def _int(elem: ET.Element | None, *paths: str) -> int | None:
    return integer(_first(elem, *paths))


# --- nvidia-smi -q -x ---

def parse_pcie(gpu: ET.Element) -> dict[str, Any]:
    link = gpu.find("pci/pci_gpu_link_info")
    gen_gpu = _int(link, "pcie_gen/max_device_link_gen")
    gen_host = _int(link, "pcie_gen/max_host_link_gen")
    gen_link = _int(link, "pcie_gen/max_link_gen")
    # max_link_gen is already "the most this GPU and system can do"; with both ends known, use their minimum.
    effective = min(gen_gpu, gen_host) if gen_gpu is not None and gen_host is not None else gen_link
    if effective is None:
        effective = gen_gpu
    return {
        "gen_current": _int(link, "pcie_gen/current_link_gen", "pcie_gen/device_current_link_gen"),
        "gen_max_gpu": gen_gpu,
        "gen_max_host": gen_host,
        "gen_max_link": gen_link,
        "gen_max": effective,
        "width_current": _int(link, "link_widths/current_link_width"),
        "width_max": _int(link, "link_widths/max_link_width"),
    }


def parse_power(gpu: ET.Element) -> dict[str, Any]:
    readings = gpu.find("gpu_power_readings")
    if readings is None:
        readings = gpu.find("power_readings")
    return {
        "draw_w": _num(readings, "instant_power_draw", "power_draw", "average_power_draw"),
        "average_w": _num(readings, "average_power_draw"),
        "limit_w": _num(readings, "requested_power_limit", "power_limit"),
        "enforced_w": _num(readings, "current_power_limit", "enforced_power_limit"),
        "default_w": _num(readings, "default_power_limit"),
        "min_w": _num(readings, "min_power_limit"),
        "max_w": _num(readings, "max_power_limit"),
    }


def parse_temperature(gpu: ET.Element) -> dict[str, Any]:
    temp = gpu.find("temperature")
    gpu_c = _num(temp, "gpu_temp")
    result: dict[str, Any] = {
        "gpu_c": gpu_c,
        "slowdown_c": _num(temp, "gpu_temp_slow_threshold"),
        "shutdown_c": _num(temp, "gpu_temp_max_threshold"),
        "max_operating_c": _num(temp, "gpu_temp_max_gpu_threshold"),
        "target_c": _num(temp, "gpu_target_temperature"),
        "memory_c": _num(temp, "memory_temp"),
        "tlimit_c": _num(temp, "gpu_temp_tlimit"),
        "thresholds": "absolute",
    }
    tlimit = result["tlimit_c"]
    relative = {"slowdown_c": "gpu_temp_slow_tlimit_threshold", "shutdown_c": "gpu_temp_max_tlimit_threshold",
                "max_operating_c": "gpu_temp_max_gpu_tlimit_threshold"}
    if result["slowdown_c"] is None and tlimit is not None and gpu_c is not None:
        # Newer drivers give the GPU's margin to T.Limit and each threshold as an offset on that scale
        # (slowdown at -2 means 2 degrees past T.Limit); turn them into absolute temperatures.
        result["thresholds"] = "tlimit"
        for key, element in relative.items():
            offset = _num(temp, element)
            result[key] = None if offset is None else gpu_c + tlimit - offset
    elif result["slowdown_c"] is None:
        result["thresholds"] = None
    return result


def _ecc_counts(block: ET.Element | None) -> tuple[int | None, int | None]:
    """(correctable, uncorrectable) totals of a volatile/aggregate block, in any driver generation."""
    if block is None:
        return None, None
    if block.find("single_bit") is not None or block.find("double_bit") is not None:
        return _int(block, "single_bit/total"), _int(block, "double_bit/total")
    sbe = dbe = None
    for child in block:
        value = integer(child.text)
        if value is None or "threshold" in child.tag:
            continue
        if "uncorrectable" in child.tag:
            dbe = (dbe or 0) + value
        elif "correctable" in child.tag:
            sbe = (sbe or 0) + value
    return sbe, dbe


def parse_ecc(gpu: ET.Element) -> dict[str, Any]:
    mode = _first(gpu, "ecc_mode/current_ecc")
    errors = gpu.find("ecc_errors")
    volatile_sbe, volatile_dbe = _ecc_counts(errors.find("volatile") if errors is not None else None)
    aggregate_sbe, aggregate_dbe = _ecc_counts(errors.find("aggregate") if errors is not None else None)
    return {
        "supported": mode is not None,
        "mode_current": mode,
        "mode_pending": _first(gpu, "ecc_mode/pending_ecc"),
        "volatile_sbe": volatile_sbe,
        "volatile_dbe": volatile_dbe,
        "aggregate_sbe": aggregate_sbe,
        "aggregate_dbe": aggregate_dbe,
        "threshold_exceeded": yes_no(_text(errors, "aggregate/sram_threshold_exceeded")),
        "repair_pending": bool(yes_no(_text(errors, "channel_repair_pending"))
                               or yes_no(_text(errors, "tpc_repair_pending"))),
        "unrepairable_memory": yes_no(_text(errors, "unrepairable_memory")),
    }


def parse_retired_pages(gpu: ET.Element) -> dict[str, Any]:
    pages = gpu.find("retired_pages")
    result = {
        "sbe": _int(pages, "multiple_single_bit_retirement/retired_count"),
        "dbe": _int(pages, "double_bit_retirement/retired_count"),
        "pending": yes_no(_first(pages, "pending_retirement", "pending_blacklist")),
    }
    return {"supported": any(v is not None for v in result.values()), **result}


def parse_remapped_rows(gpu: ET.Element) -> dict[str, Any]:
    rows = gpu.find("remapped_rows")
    result = {
        "correctable": _int(rows, "remapped_row_corr"),
        "uncorrectable": _int(rows, "remapped_row_unc"),
        "pending": yes_no(_text(rows, "remapped_row_pending")),
        "failure": yes_no(_text(rows, "remapped_row_failure")),
    }
    return {"supported": any(v is not None for v in result.values()), **result}


def parse_clock_events(gpu: ET.Element) -> dict[str, bool]:
    reasons: dict[str, bool] = {}
    for block, prefix in (("clocks_event_reasons", "clocks_event_reason_"),
                          ("clocks_throttle_reasons", "clocks_throttle_reason_")):
        elem = gpu.find(block)
        if elem is None:
            continue
        for child in elem:
            active = yes_no(child.text)
            if active is not None:
                reasons[child.tag.removeprefix(prefix)] = active
    return reasons


def parse_gpu(index: int, gpu: ET.Element) -> dict[str, Any]:
    bus_id = _first(gpu, "pci/pci_bus_id") or gpu.get("id") or ""
    reasons = parse_clock_events(gpu)
    return {
        "index": index,
        "name": _first(gpu, "product_name"),
        "brand": _first(gpu, "product_brand"),
        "uuid": _first(gpu, "uuid"),
        "serial": _first(gpu, "serial"),
        "bus_id": bus_id,
        "pci_address": norm_bus_id(bus_id) if bus_id else None,
        "minor_number": _int(gpu, "minor_number"),
        "vbios": _first(gpu, "vbios_version"),
        "architecture": _first(gpu, "product_architecture"),
        "numa_node": None,
        "persistence": yes_no(_text(gpu, "persistence_mode")),
        "pcie": parse_pcie(gpu),
        "power": parse_power(gpu),
        "temperature": parse_temperature(gpu),
        "ecc": parse_ecc(gpu),
        "retired_pages": parse_retired_pages(gpu),
        "remapped_rows": parse_remapped_rows(gpu),
        "clock_event_reasons": reasons,
        "clock_events_active": sorted(name for name, active in reasons.items() if active),
    }


def parse_smi_xml(text: str) -> dict[str, Any]:
    """Parse `nvidia-smi -q -x` output (raises ET.ParseError on anything that is not its XML)."""
    root = ET.fromstring(text)
    if root.tag != "nvidia_smi_log":
        raise ET.ParseError(f"root element is <{root.tag}>, not <nvidia_smi_log>")
    return {
        "driver_version": _first(root, "driver_version"),
        "cuda_version": _first(root, "cuda_version"),
        "attached_gpus": _int(root, "attached_gpus"),
        "gpus": [parse_gpu(i, gpu) for i, gpu in enumerate(root.findall("gpu"))],
    }


# --- nvidia-smi --query-gpu ---

def known_query_fields(help_text: str) -> set[str]:
    """Field names (aliases included) listed by `nvidia-smi --help-query-gpu`."""
    fields: set[str] = set()
    for line in help_text.splitlines():
        if QUERY_FIELD_LINE.match(line.strip()):
            fields.update(re.findall(r'"([^"]+)"', line))
    return fields


def _query_value(value: str) -> str | int | float | None:
    value = clean(value) if value.strip() else None
    if value is None:
        return None
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    return value


def parse_query_csv(text: str, fields: list[str]) -> list[dict[str, Any]]:
    """Rows of `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]` as dicts (N/A -> None)."""
    rows = []
    for row in csv.reader(line for line in text.splitlines() if line.strip()):
        cells = [cell.strip() for cell in row]
        if [re.sub(r"\s*\[.*\]$", "", c) for c in cells] == list(fields):
            continue  # the header line of --format=csv
        if len(cells) != len(fields):
            raise ValueError(f"expected {len(fields)} values, got {len(cells)}: {','.join(cells)[:200]}")
        rows.append({name: _query_value(cell) for name, cell in zip(fields, cells, strict=True)})
    return rows


# --- Kernel log ---

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


def _run(argv: list[str], timeout: int = 60) -> tuple[int, str, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: command not found"
    except (subprocess.TimeoutExpired, OSError) as exc:
        return 124, "", f"{argv[0]}: {exc}"
    return done.returncode, done.stdout, done.stderr


def read_kernel_log(kernel_log_file: str | None) -> tuple[str | None, str]:
    """(log text or None, where it came from or why there is none)."""
    if kernel_log_file:
        try:
            return Path(kernel_log_file).read_text(encoding="utf-8", errors="replace"), kernel_log_file
        except OSError as exc:
            return None, f"kernel log {kernel_log_file} unreadable: {exc}"
    why = []
    for argv in (["journalctl", "-k", "-b", "--no-pager"], ["dmesg"]):
        rc, out, err = _run(argv)
        lines = [x for x in out.splitlines() if x.strip() and not x.startswith(("-- ", "Hint:"))]
        if rc == 0 and lines:
            return out, " ".join(argv)
        why.append(f"{argv[0]}: {(err or out).strip().splitlines()[0] if (err or out).strip() else 'no output'}")
    return None, "kernel log unavailable (" + "; ".join(why) + ")"


# --- Host state around nvidia-smi ---

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


def environment(root: Path) -> dict[str, Any]:
    """Container and virtualisation markers (systemd-detect-virt only runs when root is /)."""
    container = next((m for m in ("run/.containerenv", ".dockerenv") if (root / m).exists()), None)
    virt = None
    if str(root) == "/":
        rc, out, _ = _run(["systemd-detect-virt", "--container"], timeout=10)
        if rc == 0 and out.strip() not in ("", "none"):
            container = container or f"systemd-detect-virt: {out.strip()}"
        rc, out, _ = _run(["systemd-detect-virt", "--vm"], timeout=10)
        if rc == 0 and out.strip() not in ("", "none"):
            virt = out.strip()
    return {"container": container, "vm": virt, "nvidia_pci_gpus": nvidia_pci_gpus(root)}


def smi_failure(rc: int, out: str, err: str) -> str:
    message = next((line.strip() for line in (out + "\n" + err).splitlines() if line.strip()), "")
    if rc == 127:
        return "nvidia-smi is not installed"
    return f"nvidia-smi failed (rc={rc}): {message or 'no output'}"


# --- Checks ---

def check(name: str, gpu: int | None, verdict: str, reason: str, *, expected: Any = None, found: Any = None
          ) -> dict[str, Any]:
    return {"name": name, "gpu": gpu, "verdict": verdict, "reason": reason, "expected": expected, "found": found}


def checker(name: str, gpu: int | None) -> Callable[..., dict[str, Any]]:
    """check() with the name and GPU filled in."""
    return lambda verdict, reason, **kw: check(name, gpu, verdict, reason, **kw)


def overall(checks: list[dict[str, Any]]) -> str:
    return max((c["verdict"] for c in checks), key=RANK.__getitem__, default="SKIP")


def model_matches(name: str | None, want: str) -> bool:
    name, want = (name or "").strip().lower(), want.strip().lower()
    return name == want or name.endswith(" " + want)


def _expected_width(expected: dict[str, Any], gpu: dict[str, Any]) -> int | None:
    widths = expected.get("pcie_widths")
    if isinstance(widths, dict):
        by_bus = {norm_bus_id(str(k)): v for k, v in widths.items()}
        value = by_bus.get(gpu["pci_address"])
    elif isinstance(widths, list) and gpu["index"] < len(widths):
        value = widths[gpu["index"]]
    else:
        value = None
    return None if value is None else int(value)


def check_gpu_count(facts: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c = checker("gpu_count", None)
    found = len(facts["gpus"])
    pci = facts.get("pci_nvidia_gpus")
    seen = f" ({len(pci)} NVIDIA GPU PCI functions in sysfs)" if pci and len(pci) > found else ""
    want = expected.get("gpu_count")
    if want is None:
        if expected.get("gpus_expected") and found == 0:
            return c("FAIL", f"inventory says this node has GPUs, nvidia-smi lists none{seen}", expected=">0", found=0)
        return c("SKIP", f"no expected gpu_count; nvidia-smi lists {found}{seen}", found=found)
    if found == int(want):
        return c("PASS", f"{found} GPUs{seen}", expected=int(want), found=found)
    return c("FAIL", f"expected {want} GPUs, nvidia-smi lists {found}{seen}", expected=int(want), found=found)


def check_driver(facts: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c = checker("driver_version", None)
    found, module = facts.get("driver_version"), facts.get("kernel_module_version")
    if found and module and found != module:
        return c("FAIL", f"nvidia-smi reports driver {found} but the loaded kernel module is {module}; "
                 "reboot or reload the module", expected=found, found=module)
    exact, branch = expected.get("driver_version"), expected.get("driver_branch")
    if exact:
        want = str(exact)
        ok = found == want
    elif branch:
        want = f"{str(branch).rstrip('.')}.x"
        ok = bool(found) and found.startswith(want[:-1])
    else:
        return c("SKIP", f"no expected driver; installed {found}", found=found)
    if ok:
        return c("PASS", f"driver {found}", expected=want, found=found)
    return c("FAIL", f"expected driver {want}, found {found}", expected=want, found=found)


def check_model(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, want = checker("gpu_model", gpu["index"]), expected.get("gpu_model")
    if not want:
        return c("SKIP", f"no expected gpu_model; {gpu['name']}", found=gpu["name"])
    if model_matches(gpu["name"], str(want)):
        return c("PASS", str(gpu["name"]), expected=want, found=gpu["name"])
    return c("FAIL", f"expected {want}, found {gpu['name']}", expected=want, found=gpu["name"])


def check_pcie(gpu: dict[str, Any], expected: dict[str, Any]) -> list[dict[str, Any]]:
    i, pcie, addr = gpu["index"], gpu["pcie"], gpu["pci_address"]
    c = checker("pcie_width", i)
    want, cur, top = _expected_width(expected, gpu), pcie["width_current"], pcie["width_max"]
    if cur is None:
        width = c("SKIP", "link width not reported", expected=want)
    elif want is not None:
        width = c("PASS" if cur == want else "FAIL", f"{addr} trained x{cur}, expected x{want} (GPU max x{top})",
                  expected=want, found=cur)
    elif top is not None and cur < top:
        width = c("WARN", f"{addr} trained x{cur} of x{top} and no width is expected for this slot", found=cur)
    else:
        width = c("SKIP", f"no expected width for {addr}; trained x{cur}", found=cur)
    c = checker("pcie_gen", i)
    gen_want, gen = expected.get("pcie_gen_max"), pcie["gen_max"]
    detail = (f"max reachable gen {gen} (GPU {pcie['gen_max_gpu']}, host {pcie['gen_max_host']}; "
              f"current {pcie['gen_current']}, which drops at idle)")
    if gen_want is None:
        return [width, c("SKIP", f"no expected pcie_gen_max; {detail}", found=gen)]
    if gen is None:
        return [width, c("SKIP", "PCIe generation not reported", expected=int(gen_want))]
    verdict = "PASS" if gen == int(gen_want) else "FAIL"
    return [width, c(verdict, f"expected gen {gen_want}, {detail}", expected=int(gen_want), found=gen)]


def check_persistence(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, found = checker("persistence", gpu["index"]), gpu["persistence"]
    want = bool(expected.get("persistence", True))
    if found is None:
        return c("SKIP", "persistence mode not reported", expected=want)
    text = {True: "on", False: "off"}
    if found == want:
        return c("PASS", f"persistence mode {text[found]}", expected=want, found=found)
    return c("FAIL", f"expected persistence mode {text[want]}, found {text[found]}", expected=want, found=found)


def check_power(gpu: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    c, power, want = checker("power_limit", gpu["index"]), gpu["power"], expected.get("power_limit_w")
    found = power["enforced_w"] if power["enforced_w"] is not None else power["limit_w"]
    if want is None:
        return c("SKIP", f"no expected power_limit_w; enforced {found} W", found=found)
    want = float(want)
    if found is None:
        return c("SKIP", "power limit not reported (power management unsupported?)", expected=want)
    bounds = f" (allowed {power['min_w']}-{power['max_w']} W, default {power['default_w']} W)"
    if abs(found - want) <= 1:
        return c("PASS", f"enforced limit {found} W{bounds}", expected=want, found=found)
    return c("FAIL", f"expected limit {want} W, enforced {found} W{bounds}", expected=want, found=found)


def check_temperature(gpu: dict[str, Any], margin: int) -> dict[str, Any]:
    c, temp = checker("temperature", gpu["index"]), gpu["temperature"]
    now, slow = temp["gpu_c"], temp["slowdown_c"]
    if now is None or slow is None:
        return c("SKIP", "GPU temperature or slowdown threshold not reported", found=now)
    headroom = slow - now
    found, want = {"gpu_c": now, "slowdown_c": slow, "headroom_c": headroom}, f"< {slow - margin} C"
    if headroom <= 0:
        return c("FAIL", f"{now} C, at or above slowdown {slow} C", expected=want, found=found)
    if headroom <= margin:
        return c("WARN", f"{now} C, within {margin} C of slowdown {slow} C", expected=want, found=found)
    return c("PASS", f"{now} C, {headroom} C below slowdown {slow} C", expected=want, found=found)


def check_ecc(gpu: dict[str, Any]) -> dict[str, Any]:
    c, ecc = checker("ecc", gpu["index"]), gpu["ecc"]
    if not ecc["supported"]:
        return c("SKIP", f"ECC not supported on {gpu['name']}")
    found = {k: ecc[k] for k in ("mode_current", "mode_pending", "volatile_sbe", "volatile_dbe",
                                  "aggregate_sbe", "aggregate_dbe")}
    dbe = max(ecc["aggregate_dbe"] or 0, ecc["volatile_dbe"] or 0)
    if dbe > 0:
        return c("FAIL", f"expected 0 uncorrectable ECC errors, found {dbe}", expected={"uncorrectable": 0},
                 found=found)
    if ecc["unrepairable_memory"]:
        return c("FAIL", "nvidia-smi reports unrepairable memory", expected={"unrepairable_memory": False}, found=found)
    if (ecc["mode_current"] or "").lower() != "enabled":
        return c("WARN", f"ECC is supported but {ecc['mode_current']}", expected={"mode_current": "Enabled"},
                 found=found)
    if ecc["mode_pending"] and ecc["mode_pending"] != ecc["mode_current"]:
        return c("WARN", f"ECC mode changes to {ecc['mode_pending']} at the next reset", found=found)
    if ecc["repair_pending"] or ecc["threshold_exceeded"]:
        return c("WARN", "memory repair pending or SRAM error threshold exceeded", found=found)
    return c("PASS", f"ECC enabled, 0 uncorrectable ({ecc['aggregate_sbe']} correctable aggregate)",
             expected={"uncorrectable": 0}, found=found)


def check_retired(gpu: dict[str, Any]) -> dict[str, Any]:
    c, pages = checker("retired_pages", gpu["index"]), gpu["retired_pages"]
    if not pages["supported"]:
        return c("SKIP", f"retired pages not reported on {gpu['name']}")
    found = {k: pages[k] for k in ("sbe", "dbe", "pending")}
    if pages["pending"]:
        return c("WARN", "page retirement pending: reset the GPU", expected={"pending": False}, found=found)
    if pages["dbe"]:
        return c("WARN", f"{pages['dbe']} pages retired for double-bit errors", found=found)
    return c("PASS", "no retirement pending", expected={"pending": False}, found=found)


def check_remapped(gpu: dict[str, Any]) -> dict[str, Any]:
    c, rows = checker("remapped_rows", gpu["index"]), gpu["remapped_rows"]
    if not rows["supported"]:
        return c("SKIP", f"row remapping not reported on {gpu['name']}")
    found = {k: rows[k] for k in ("correctable", "uncorrectable", "pending", "failure")}
    if rows["failure"]:
        return c("FAIL", "a row remapping failed: the GPU needs replacing", expected={"failure": False}, found=found)
    if rows["pending"]:
        return c("WARN", "row remapping pending: reset the GPU", expected={"pending": False}, found=found)
    return c("PASS", "no remap pending or failed", expected={"pending": False, "failure": False}, found=found)


def check_clock_events(gpu: dict[str, Any]) -> dict[str, Any]:
    c, active = checker("clock_events", gpu["index"]), gpu["clock_events_active"]
    if not gpu["clock_event_reasons"]:
        return c("SKIP", "clock event reasons not reported")
    bad = [r for r in BAD_CLOCK_EVENTS if gpu["clock_event_reasons"].get(r)]
    if bad:
        return c("WARN", "clocks held down by " + ", ".join(bad), expected=[], found=active)
    return c("PASS", "no slowdown active", expected=[], found=active)


def check_xids(facts: dict[str, Any]) -> dict[str, Any]:
    c, events = checker("xid", None), facts.get("xid_events")
    if events is None:
        return c("SKIP", facts.get("kernel_log") or "kernel log unavailable")
    if not events:
        return c("PASS", f"no Xid in {facts.get('kernel_log')}", expected=[], found=[])
    counts: dict[tuple[str, int], int] = {}
    for event in events:
        counts[(event["bus_id"], event["xid"])] = counts.get((event["bus_id"], event["xid"]), 0) + 1
    found = [{"bus_id": bus, "xid": xid, "count": n} for (bus, xid), n in counts.items()]
    summary = ", ".join(f"Xid {xid} x{n} on {bus}" for (bus, xid), n in counts.items())
    verdict = "FAIL" if any(xid in FATAL_XIDS for _, xid in counts) else "WARN"
    return c(verdict, f"{summary}; last: {events[-1]['text']}", expected=[], found=found)


def unavailable_checks(facts: dict[str, Any], expected: dict[str, Any], env: dict[str, Any]) -> list[dict[str, Any]]:
    reason = facts["reason"]
    pci = env.get("nvidia_pci_gpus")
    if env.get("container"):
        skip_why = f"container ({env['container']}): {reason}"
    elif env.get("vm") and not pci:
        skip_why = f"VM ({env['vm']}) without NVIDIA PCI devices: {reason}"
    elif not expected.get("gpus_expected"):
        skip_why = f"no GPUs expected on this node: {reason}"
    else:
        skip_why = None
    checks = [check(name, None, "SKIP", skip_why or f"cannot check: {reason}") for name in CHECK_NAMES]
    if skip_why is None:
        want = expected.get("gpu_count")
        pci_note = f"; {len(pci)} NVIDIA GPU PCI functions in sysfs" if pci is not None else ""
        checks[0] = check("gpu_count", None, "FAIL",
                          f"inventory says this node has {want if want is not None else 'GPUs'}, {reason}{pci_note}",
                          expected=want)
        if facts.get("xid_events") is not None:  # an Xid 79 in the log often says why nvidia-smi fails
            checks[CHECK_NAMES.index("xid")] = check_xids(facts)
    return checks


def evaluate(facts: dict[str, Any], expected: dict[str, Any], temperature_margin_c: int = 5,
             env: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Judge facts (parse_smi_xml output plus xid_events/kernel_log) against the inventory's expectations."""
    expected = expected or {}
    if not facts.get("available", True):
        return unavailable_checks(facts, expected, env or {})
    checks = [check_gpu_count(facts, expected), check_driver(facts, expected)]
    for gpu in facts["gpus"]:
        checks += [check_model(gpu, expected), *check_pcie(gpu, expected), check_persistence(gpu, expected),
                   check_power(gpu, expected), check_temperature(gpu, temperature_margin_c), check_ecc(gpu),
                   check_retired(gpu), check_remapped(gpu), check_clock_events(gpu)]
    checks.append(check_xids(facts))
    return checks


# --- Module ---

def gather(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Collect the facts (reading the host) and the environment markers."""
    root = Path(params["root"])
    env = environment(root)
    facts: dict[str, Any] = {"available": False, "reason": None, "driver_version": None, "cuda_version": None,
                             "gpus": [], "kernel_module_version": kernel_module_version(root),
                             "pci_nvidia_gpus": env["nvidia_pci_gpus"]}
    if params["xml_file"]:
        text = Path(params["xml_file"]).read_text(encoding="utf-8")
        facts.update(parse_smi_xml(text), available=True, reason=f"parsed {params['xml_file']}")
    else:
        rc, out, err = _run([params["nvidia_smi"], "-q", "-x"])
        if rc != 0:
            module_state = facts["kernel_module_version"] or "no nvidia kernel module loaded"
            facts["reason"] = f"{smi_failure(rc, out, err)} ({module_state})"
        else:
            try:
                facts.update(parse_smi_xml(out), available=True, reason="nvidia-smi -q -x")
            except ET.ParseError as exc:
                facts["reason"] = f"nvidia-smi -q -x gave output that is not its XML: {exc}"
    for gpu in facts["gpus"]:
        gpu["numa_node"] = numa_node(root, gpu["pci_address"])
    if facts["available"] or params["expected"].get("gpus_expected"):
        log, source = read_kernel_log(params["kernel_log_file"])
        facts["kernel_log"] = source
        facts["xid_events"] = parse_xids(log, facts["gpus"]) if log is not None else None
    else:
        facts["kernel_log"], facts["xid_events"] = "not read: no GPUs available or expected", None
    return facts, env


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "nvidia_smi": {"type": "str", "default": "nvidia-smi"},
            "xml_file": {"type": "path"},
            "root": {"type": "path", "default": "/"},
            "kernel_log_file": {"type": "path"},
            "expected": {"type": "dict", "default": {}},
            "temperature_margin_c": {"type": "int", "default": 5},
        },
        supports_check_mode=True,
    )
    params = module.params
    params["expected"] = params["expected"] or {}
    try:
        facts, env = gather(params)
        checks = evaluate(facts, params["expected"], params["temperature_margin_c"], env)
    except (OSError, ET.ParseError, ValueError, TypeError) as exc:
        module.fail_json(msg=f"gpu_facts could not gather or judge GPU facts: {exc}")
    verdict = overall(checks)
    facts.update(checks=checks, verdict=verdict, environment=env)
    module.exit_json(changed=False, ansible_facts={"gpu_health": facts}, checks=checks, verdict=verdict)


if __name__ == "__main__":
    main()
