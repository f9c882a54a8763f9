"""nvidia-smi -q -x: the XML report of every GPU, in both generations of its element names."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import (
    clean,
    integer,
    norm_bus_id,
    number,
    yes_no,
)


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


def parse_clocks(gpu: ET.Element) -> dict[str, int | float | None]:
    """The current clocks in MHz (graphics, sm, memory, video); None where the driver gives none."""
    clocks = gpu.find("clocks")
    return {"graphics": _num(clocks, "graphics_clock"), "sm": _num(clocks, "sm_clock"),
            "memory": _num(clocks, "mem_clock"), "video": _num(clocks, "video_clock")}


def parse_memory(gpu: ET.Element) -> dict[str, int | float | None]:
    """Frame buffer memory in MiB (total, reserved, used, free)."""
    usage = gpu.find("fb_memory_usage")
    return {"total_mib": _num(usage, "total"), "reserved_mib": _num(usage, "reserved"),
            "used_mib": _num(usage, "used"), "free_mib": _num(usage, "free")}


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
        "clocks": parse_clocks(gpu),
        "memory": parse_memory(gpu),
        "temperature": parse_temperature(gpu),
        "ecc": parse_ecc(gpu),
        "retired_pages": parse_retired_pages(gpu),
        "remapped_rows": parse_remapped_rows(gpu),
        # What NVML says the GPU needs (drivers with DTD v13): None, GPU Reset, Node Reboot, Drain P2P, ...
        # "None" is a value here, not nvidia-smi's "nothing": read the text as it is.
        "recovery_action": (_text(gpu, "gpu_recovery_action") or "").strip() or None,
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
