#!/usr/bin/python
"""Ansible module: read the node's memory health (EDAC, DMI, meminfo, kernel log) and judge it."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: memory_facts
short_description: Gather memory health facts (EDAC, DMI, meminfo, kernel log) and judge them
description:
  - Reads the EDAC sysfs tree (C(/sys/devices/system/edac/mc)), C(dmidecode -t 16 -t 17), C(/proc/meminfo),
    the virtualization type and this boot's kernel log, and returns them as the C(memory_health) fact
    together with a list of named checks, each PASS, WARN, FAIL or SKIP, and an overall verdict.
  - Only EDAC proves that ECC is on. DMI type 16 says what the board can do, not what it does, and
    hypervisors report C(Multi-bit ECC) for memory that has none; dmidecode alone never passes C(ecc_active).
  - In a virtual machine or a container, EDAC and DMI belong to the hypervisor, so every hardware check is
    SKIP. A check never passes for something that could not be seen.
  - Correctable errors (CE), summed over the EDAC controllers, are judged so. Zero, or more than zero but
    below O(ce_threshold) and not higher than in the baseline, is PASS (the count is in the reason).
    At or above O(ce_threshold) is FAIL. Higher than the baseline on any controller or DIMM (and still
    below the threshold) is WARN, naming by how much and where. Counts lower than the baseline (a reboot
    resets them) are not a rise.
  - Any uncorrectable error (EDAC UE on any controller or DIMM, C(HardwareCorrupted) above 0 in
    C(/proc/meminfo), or an EDAC C(UE)/C(Uncorrected) line in the kernel log) is FAIL.
  - Machine-check lines (C(Machine check events logged), C([Hardware Error])) in this boot's kernel log are
    WARN; no kernel log is SKIP. In a VM or container a clean kernel log is SKIP too, so that such a node's
    verdict is SKIP rather than a PASS for memory that was never seen.
  - The baseline is a JSON file of per-controller and per-DIMM CE/UE counts, without timestamps, so
    a re-run with the same counts is idempotent. With O(update_baseline) it is (re)written when the
    counts differ from the stored ones; that is the only change the module makes, it reports
    C(changed) only then, and in check mode it reports the change without writing.
  - With O(root) other than C(/) (tests), no command runs; C(<root>/dmidecode.txt), C(<root>/virt.txt)
    and C(<root>/kernel.log) stand for the output of C(dmidecode -t 16 -t 17), C(systemd-detect-virt)
    and the kernel log; a missing file means that source is not available.
options:
  root:
    description: Prefix for C(/sys), C(/proc), C(/run) and O(baseline_path) (tests point it at a fixture tree).
    type: path
    default: /
  expected:
    description:
      - What the node should have. Keys (all optional) C(memory_gb) (total of the DIMMs), C(dimm_count),
        C(dimm_size_gb) (every DIMM), C(speed_mts) (configured speed of every DIMM), C(edac_controllers)
        and C(require_registered_ecc) (default true).
      - A check whose expectation is not given is SKIP, with what was found in the reason.
    type: dict
    default: {}
  ce_threshold:
    description: Correctable errors (all controllers together) at or above this are FAIL.
    type: int
    default: 10
  baseline_path:
    description: Baseline of CE/UE counts, under O(root).
    type: path
    default: /var/lib/gpu-rig/memory_baseline.json
  update_baseline:
    description: Write the baseline when the EDAC counts differ from it (never in check mode).
    type: bool
    default: true
author: GPU rig maintainers
"""

EXAMPLES = r"""
- name: Check the memory of a Supermicro H11SSL-i with an EPYC 7401 and 8 x 16 GB RDIMM
  memory_facts:
    expected:
      memory_gb: 128
      dimm_count: 8
      dimm_size_gb: 16
      speed_mts: 2133
      edac_controllers: 4
  register: memory

- name: Stop on a failed memory check
  ansible.builtin.assert:
    that: memory.verdict != 'FAIL'
    fail_msg: "{{ memory.checks | selectattr('verdict', 'equalto', 'FAIL') | map(attribute='reason') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: C(memory_health) with keys edac, dmidecode, meminfo, virtualization, kernel_log, checks,
    verdict and baseline.
  type: dict
  returned: always
checks:
  description: One entry per check (ecc_active, edac_controllers, memory_total, dimm_count, dimm_sizes_equal,
    dimm_speed, registered_ecc, uncorrectable_errors, correctable_errors, kernel_log), each with name,
    verdict (PASS, WARN, FAIL or SKIP), reason, expected and found.
  type: list
  returned: always
verdict:
  description: The worst verdict of the checks (FAIL, then WARN, then PASS); SKIP only if every check is SKIP.
  type: str
  returned: always
"""

EDAC_MC = "sys/devices/system/edac/mc"
BASELINE_VERSION = 1
NO_ECC_MODES = {"", "none", "unknown"}
CONTAINERS = {"openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot",
              "pouch", "container-other"}
DMI_VIRT = (("qemu", "qemu"), ("kvm", "kvm"), ("vmware", "vmware"), ("virtualbox", "oracle"),
            ("innotek", "oracle"), ("xen", "xen"), ("bochs", "bochs"), ("parallels", "parallels"),
            ("bhyve", "bhyve"), ("virtual machine", "microsoft"), ("amazon ec2", "amazon"),
            ("google compute engine", "google"))
HANDLE = re.compile(r"^Handle 0x([0-9A-Fa-f]+), DMI type (\d+),")
EDAC_COUNT = re.compile(r"\bEDAC\b.*\b\d+\s+(CE|UE)\b")
EDAC_UE = re.compile(r"\bEDAC\b.*(\b\d+\s+UE\b|uncorrect)", re.IGNORECASE)
MCE = re.compile(r"Machine check events logged|\[Hardware Error\]")
MCE_UE = re.compile(r"mce: Uncorrected hardware memory error", re.IGNORECASE)
Runner = Callable[[list[str]], tuple[int, str, str]]
Which = Callable[[str], str | None]


# ---------------------------------------------------------------- parsing (pure) --------------------------------

def _size_mb(value: str) -> int:
    """'32 GB' -> 32768, '8192 MB' -> 8192, 'No Module Installed' -> 0."""
    match = re.match(r"^(\d+)\s*(kB|KB|MB|GB|TB)\b", value.strip())
    if not match:
        return 0
    return int(int(match[1]) * {"kB": 1 / 1024, "KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024}[match[2]])


def _number(value: str | None) -> int | None:
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
            key, _, value = stripped.partition(":")
            current.setdefault(key.strip(), value.strip())
    arrays = {handle: rec for kind, handle, rec in records if kind == 16}
    system = {h for h, rec in arrays.items() if rec.get("Use", "System Memory") == "System Memory"}
    devices = []
    for kind, _, rec in records:
        owner = rec.get("Array Handle", "").lower().removeprefix("0x")
        if kind != 17 or (arrays and owner not in system):
            continue
        devices.append({
            "locator": rec.get("Locator", ""),
            "bank_locator": rec.get("Bank Locator", ""),
            "size_mb": _size_mb(rec.get("Size", "")),
            "type": rec.get("Type", ""),
            "type_detail": rec.get("Type Detail", ""),
            "speed_mts": _number(rec.get("Speed")),
            "configured_speed_mts": _number(rec.get("Configured Memory Speed", rec.get("Configured Clock Speed"))),
            "total_width": _number(rec.get("Total Width")),
            "data_width": _number(rec.get("Data Width")),
            "manufacturer": rec.get("Manufacturer", ""),
            "part_number": rec.get("Part Number", ""),
        })
    return {
        "arrays": [{"ecc_type": rec.get("Error Correction Type", ""), "max_capacity": rec.get("Maximum Capacity", ""),
                    "use": rec.get("Use", ""), "devices": _number(rec.get("Number Of Devices"))}
                   for h, rec in arrays.items() if h in system],
        "devices": devices,
    }


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _count(path: Path) -> int:
    return _number(_read(path)) or 0


def _index(path: Path) -> int:
    return int(re.sub(r"\D", "", path.name) or 0)


def read_edac(root: Path) -> dict[str, Any]:
    """Read the EDAC memory controllers under root; present is false when there is none."""
    base = root / EDAC_MC
    if not base.is_dir():
        return {"present": False, "reason": f"/{EDAC_MC} does not exist (no EDAC driver loaded)", "controllers": []}
    controllers = []
    for mc in sorted((p for p in base.iterdir() if re.fullmatch(r"mc\d+", p.name)), key=_index):
        dimms = []
        for entry in sorted((p for p in mc.iterdir() if re.fullmatch(r"(rank|dimm)\d+", p.name)), key=_index):
            dimms.append({
                "name": entry.name,
                "label": _read(entry / "dimm_label") or "",
                "location": _read(entry / "dimm_location") or "",
                "mem_type": _read(entry / "dimm_mem_type") or "",
                "edac_mode": _read(entry / "dimm_edac_mode") or "",
                "size_mb": _count(entry / "size"),
                "ce_count": _count(entry / "dimm_ce_count"),
                "ue_count": _count(entry / "dimm_ue_count"),
            })
        controllers.append({
            "name": mc.name,
            "mc_name": _read(mc / "mc_name") or "",
            "size_mb": _count(mc / "size_mb"),
            "ce_count": _count(mc / "ce_count"),
            "ue_count": _count(mc / "ue_count"),
            "ce_noinfo_count": _count(mc / "ce_noinfo_count"),
            "ue_noinfo_count": _count(mc / "ue_noinfo_count"),
            "dimms": dimms,
        })
    reason = "" if controllers else f"/{EDAC_MC} has no memory controller (ECC off in firmware, or no driver for it)"
    return {"present": bool(controllers), "reason": reason, "controllers": controllers}


def parse_meminfo(text: str) -> dict[str, int | None]:
    """MemTotal and HardwareCorrupted in kB; None for a line the kernel does not print."""
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        values[key.strip()] = _number(rest)
    return {"mem_total_kb": values.get("MemTotal"), "hardware_corrupted_kb": values.get("HardwareCorrupted")}


def classify_virt(detect: str | None, sys_vendor: str | None = None, product_name: str | None = None,
                  container_marker: str | None = None) -> dict[str, Any]:
    """Say whether this is bare metal, a VM or a container, from systemd-detect-virt or, failing that, hints."""
    detected = (detect or "").strip().splitlines()
    if detected and detected[0].strip():
        kind = detected[0].strip()
        return {"type": kind, "is_virtual": kind != "none", "source": "systemd-detect-virt"}
    if container_marker:
        kind = "podman" if container_marker.endswith(".containerenv") else "docker"
        return {"type": kind, "is_virtual": True, "source": container_marker}
    dmi = f"{sys_vendor or ''} {product_name or ''}".lower()
    for needle, kind in DMI_VIRT:
        if needle in dmi:
            return {"type": kind, "is_virtual": True, "source": "dmi"}
    if dmi.strip():
        return {"type": "none", "is_virtual": False, "source": "dmi"}
    return {"type": "unknown", "is_virtual": False, "source": "none"}


def scan_kernel_log(text: str | None, source: str = "") -> dict[str, Any]:
    """Pick EDAC error lines, uncorrected-error lines and machine-check lines out of a kernel log."""
    if text is None:
        return {"available": False, "source": source, "edac_errors": [], "mce_errors": [], "ue_lines": []}
    lines = [line.strip() for line in text.splitlines()]
    return {
        "available": True,
        "source": source,
        "edac_errors": [line for line in lines if EDAC_COUNT.search(line)],
        "mce_errors": [line for line in lines if MCE.search(line)],
        "ue_lines": [line for line in lines if EDAC_UE.search(line) or MCE_UE.search(line)],
    }


# ---------------------------------------------------------------- evaluation (pure) -----------------------------

def _check(name: str, verdict: str, reason: str, expected: Any = None, found: Any = None) -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "reason": reason, "expected": expected, "found": found}


def _gb(mb: float) -> str:
    return f"{mb / 1024:g} GB"


def _listing(items: list[str]) -> str:
    return " ".join(items) if items else "none"


def baseline_of(edac: dict[str, Any]) -> dict[str, Any]:
    """The baseline document for the current EDAC counts (no timestamps: same counts, same bytes)."""
    return {"version": BASELINE_VERSION, "controllers": {
        mc["name"]: {"ce_count": mc["ce_count"], "ue_count": mc["ue_count"],
                     "dimms": {d["name"]: {"ce_count": d["ce_count"], "ue_count": d["ue_count"]} for d in mc["dimms"]}}
        for mc in edac["controllers"]}}


def ce_rises(edac: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """Where the CE count is above the baseline, as 'mc0 +2 (rank0 +2)'."""
    if not baseline:
        return []
    rises = []
    for mc in edac["controllers"]:
        old = baseline.get("controllers", {}).get(mc["name"])
        if not isinstance(old, dict):
            continue
        dimms = []
        for dimm in mc["dimms"]:
            before = old.get("dimms", {}).get(dimm["name"], {}).get("ce_count", 0)
            if dimm["ce_count"] > before:
                label = f" {dimm['label']}" if dimm["label"] else ""
                dimms.append(f"{dimm['name']}{label} +{dimm['ce_count'] - before}")
        if mc["ce_count"] > old.get("ce_count", 0):
            detail = f" ({', '.join(dimms)})" if dimms else ""
            rises.append(f"{mc['name']} +{mc['ce_count'] - old.get('ce_count', 0)}{detail}")
    return rises


def _hardware_checks(facts: dict[str, Any], expected: dict[str, Any]) -> list[dict[str, Any]]:
    edac, dmi = facts["edac"], facts["dmidecode"]
    controllers = edac["controllers"]
    ranks = [(mc["name"], d) for mc in controllers for d in mc["dimms"]]
    ecc_ranks = [f"{mc}/{d['name']}" for mc, d in ranks if d["edac_mode"].strip().lower() not in NO_ECC_MODES]
    modes = sorted({d["edac_mode"] or "unreported" for _, d in ranks})
    checks = []
    if not edac["present"]:
        checks.append(_check("ecc_active", "FAIL", (
            f"expected EDAC memory controllers with an ECC mode, found none: {edac['reason']}; "
            "DMI 'Multi-bit ECC' only says what the board can do"), "ECC on", "no EDAC controller"))
    elif not ecc_ranks:
        checks.append(_check("ecc_active", "FAIL",
                             f"expected an ECC edac_mode on some DIMM, found {', '.join(modes) or 'no DIMM entries'}",
                             "ECC on", modes))
    else:
        checks.append(_check("ecc_active", "PASS",
                             f"{len(ecc_ranks)} of {len(ranks)} EDAC DIMM entries run {', '.join(modes)} on "
                             f"{' '.join(mc['name'] for mc in controllers)}", "ECC on", modes))

    names = [f"{mc['name']}({mc['mc_name']})" for mc in controllers]
    want = expected.get("edac_controllers")
    if want is None:
        checks.append(_check("edac_controllers", "SKIP", f"no expectation; found {len(controllers)}: "
                             f"{_listing(names)}", None, len(controllers)))
    else:
        verdict = "PASS" if len(controllers) == want else "FAIL"
        checks.append(_check("edac_controllers", verdict, f"expected {want} EDAC controllers, found "
                             f"{len(controllers)}: {_listing(names)}", want, len(controllers)))

    mem_total = facts["meminfo"]["mem_total_kb"]
    total_text = f"MemTotal is {mem_total / 1048576:.1f} GiB" if mem_total else "MemTotal unknown"
    if not dmi["available"]:
        for name in ("memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed", "registered_ecc"):
            checks.append(_check(name, "SKIP", f"dmidecode unavailable: {dmi['reason']}"
                                 + (f"; {total_text}" if name == "memory_total" else "")))
        return checks

    devices = dmi["devices"]
    populated = [d for d in devices if d["size_mb"] > 0]
    empty = [d["locator"] for d in devices if d["size_mb"] == 0]
    total_mb = sum(d["size_mb"] for d in populated)
    want = expected.get("memory_gb")
    if want is None:
        checks.append(_check("memory_total", "SKIP", f"no expectation; DIMMs sum to {_gb(total_mb)}, {total_text}",
                             None, total_mb // 1024))
    else:
        verdict = "PASS" if total_mb == want * 1024 else "FAIL"
        checks.append(_check("memory_total", verdict, f"expected {want} GB of DIMMs, found {_gb(total_mb)} "
                             f"({total_text})", want, total_mb / 1024))

    slots = [d["locator"] for d in populated]
    want = expected.get("dimm_count")
    if want is None:
        checks.append(_check("dimm_count", "SKIP", f"no expectation; found {len(populated)} DIMMs: {_listing(slots)}",
                             None, len(populated)))
    else:
        verdict = "PASS" if len(populated) == want else "FAIL"
        checks.append(_check("dimm_count", verdict, f"expected {want} DIMMs, found {len(populated)}: "
                             f"{_listing(slots)}; empty slots: {_listing(empty)}", want, len(populated)))

    sizes = {d["locator"]: d["size_mb"] for d in populated}
    by_size = " ".join(f"{loc}={_gb(mb)}" for loc, mb in sizes.items())
    want = expected.get("dimm_size_gb")
    if not populated:
        checks.append(_check("dimm_sizes_equal", "FAIL", "expected populated DIMMs, dmidecode lists none",
                             want, []))
    elif len(set(sizes.values())) > 1:
        checks.append(_check("dimm_sizes_equal", "FAIL", f"expected every DIMM the same size, found {by_size}",
                             want, sizes))
    elif want is not None and populated[0]["size_mb"] != want * 1024:
        checks.append(_check("dimm_sizes_equal", "FAIL", f"expected every DIMM {want} GB, found {by_size}",
                             want, sizes))
    else:
        checks.append(_check("dimm_sizes_equal", "PASS", f"all {len(populated)} DIMMs are "
                             f"{_gb(populated[0]['size_mb'])}", want, sizes))

    speeds = {d["locator"]: d["configured_speed_mts"] for d in populated}
    by_speed = " ".join(f"{loc}={mts or 'unknown'}" for loc, mts in speeds.items())
    want = expected.get("speed_mts")
    known = {loc: mts for loc, mts in speeds.items() if mts}
    if want is None or not known:
        why = "no expectation" if want is None else "no DIMM reports a configured speed"
        checks.append(_check("dimm_speed", "SKIP", f"{why}; found {by_speed or 'no DIMM'}", want, speeds))
    elif any(mts != want for mts in known.values()):
        checks.append(_check("dimm_speed", "FAIL", f"expected {want} MT/s on every DIMM, found {by_speed}",
                             want, speeds))
    elif len(known) < len(speeds):
        checks.append(_check("dimm_speed", "WARN", f"expected {want} MT/s on every DIMM, some do not report it: "
                             f"{by_speed}", want, speeds))
    else:
        checks.append(_check("dimm_speed", "PASS", f"all {len(known)} DIMMs run at {want} MT/s", want, speeds))

    if not expected.get("require_registered_ecc", True):
        checks.append(_check("registered_ecc", "SKIP", "registered ECC DIMMs are not required"))
    else:
        bad = [f"{d['locator']}={d['total_width']}/{d['data_width']} bits '{d['type_detail']}'" for d in populated
               if d["total_width"] != 72 or d["data_width"] != 64 or "Registered" not in d["type_detail"]]
        want_text = "72/64-bit 'Registered' DIMMs"
        if not populated:
            checks.append(_check("registered_ecc", "FAIL", f"expected {want_text}, dmidecode lists none",
                                 want_text, []))
        elif bad:
            checks.append(_check("registered_ecc", "FAIL", f"expected {want_text}, found {' '.join(bad)}",
                                 want_text, bad))
        else:
            checks.append(_check("registered_ecc", "PASS", f"all {len(populated)} DIMMs are registered ECC "
                                 "(72/64 bits)", want_text, []))
    return checks


def evaluate(facts: dict[str, Any], expected: dict[str, Any], ce_threshold: int,
             baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Judge the facts; one entry per check, names fixed so that roles and reports can read them."""
    virt, edac, log = facts["virtualization"], facts["edac"], facts["kernel_log"]
    controllers = edac["controllers"]
    virt_why = f"running in {virt['type']}: EDAC and DMI are the hypervisor's"
    if virt["is_virtual"]:
        checks = [_check(name, "SKIP", virt_why) for name in (
            "ecc_active", "edac_controllers", "memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed",
            "registered_ecc")]
    else:
        checks = _hardware_checks(facts, expected)

    ue_where = [f"{mc['name']} ue_count={mc['ue_count']}" for mc in controllers if mc["ue_count"]]
    ue_where += [f"{mc['name']} ue_noinfo_count={mc['ue_noinfo_count']}" for mc in controllers
                 if mc["ue_noinfo_count"]]
    ue_where += [f"{mc['name']}/{d['name']} {d['label']} ue={d['ue_count']}" for mc in controllers
                 for d in mc["dimms"] if d["ue_count"]]
    corrupted = facts["meminfo"]["hardware_corrupted_kb"]
    if corrupted:
        ue_where.append(f"HardwareCorrupted={corrupted} kB")
    ue_where += [f"kernel log: {line}" for line in log["ue_lines"][:3]]
    if ue_where:
        checks.append(_check("uncorrectable_errors", "FAIL", f"expected no uncorrectable error, found "
                             f"{'; '.join(ue_where)}", 0, ue_where))
    elif virt["is_virtual"]:
        checks.append(_check("uncorrectable_errors", "SKIP", virt_why))
    elif not edac["present"]:
        checks.append(_check("uncorrectable_errors", "SKIP", f"no EDAC controller, uncorrectable errors cannot be "
                             f"counted: {edac['reason']}"))
    else:
        checks.append(_check("uncorrectable_errors", "PASS", f"no UE on {len(controllers)} EDAC controllers"
                             + (", HardwareCorrupted 0 kB" if corrupted == 0 else "")
                             + (", none in the kernel log" if log["available"] else ""), 0, 0))

    ce_total = sum(mc["ce_count"] for mc in controllers)
    rises = ce_rises(edac, baseline)
    ce_where = " ".join(f"{mc['name']}/{d['name']}={d['ce_count']}" for mc in controllers for d in mc["dimms"]
                        if d["ce_count"])
    if virt["is_virtual"] or not edac["present"]:
        why = virt_why if virt["is_virtual"] else f"no EDAC controller: {edac['reason']}"
        checks.append(_check("correctable_errors", "SKIP", why))
    elif ce_total >= ce_threshold:
        checks.append(_check("correctable_errors", "FAIL", f"expected fewer than {ce_threshold} correctable "
                             f"errors, found {ce_total}: {ce_where or 'no DIMM named'}", ce_threshold, ce_total))
    elif rises:
        checks.append(_check("correctable_errors", "WARN", f"correctable errors rose since the baseline: "
                             f"{'; '.join(rises)}; {ce_total} in all (threshold {ce_threshold})",
                             ce_threshold, ce_total))
    else:
        since = "no baseline yet" if baseline is None else "not higher than the baseline"
        checks.append(_check("correctable_errors", "PASS", f"{ce_total} correctable errors, below the threshold "
                             f"{ce_threshold}, {since}" + (f": {ce_where}" if ce_where else ""),
                             ce_threshold, ce_total))

    if not log["available"]:
        checks.append(_check("kernel_log", "SKIP", f"kernel log unavailable: {log['source'] or 'no source'}"))
    elif log["mce_errors"] or log["ue_lines"]:
        lines = log["mce_errors"] or log["ue_lines"]
        checks.append(_check("kernel_log", "WARN", f"expected no machine-check lines, found {len(lines)}, first: "
                             f"{lines[0]}", 0, lines[:10]))
    elif virt["is_virtual"]:
        checks.append(_check("kernel_log", "SKIP", f"{virt_why}; no machine-check line in {log['source']}"))
    else:
        checks.append(_check("kernel_log", "PASS", f"no machine-check or uncorrected lines in {log['source']}"
                             + (f" ({len(log['edac_errors'])} EDAC CE lines)" if log["edac_errors"] else ""),
                             0, log["edac_errors"][:10]))
    return checks


def overall(checks: list[dict[str, Any]]) -> str:
    verdicts = {c["verdict"] for c in checks}
    for verdict in ("FAIL", "WARN", "PASS"):
        if verdict in verdicts:
            return verdict
    return "SKIP"


# ---------------------------------------------------------------- collection ------------------------------------

def dmidecode_output(root: Path, which: Which | None, run: Runner | None) -> tuple[str | None, str]:
    """The text of `dmidecode -t 16 -t 17`, or None and why not."""
    if which is None or run is None:
        text = _read(root / "dmidecode.txt")
        return (text, "") if text is not None else (None, f"{root / 'dmidecode.txt'} does not exist")
    binary = which("dmidecode")
    if not binary:
        return None, "dmidecode is not installed"
    rc, out, err = run([binary, "-t", "16", "-t", "17"])
    if rc != 0:
        return None, f"dmidecode failed (rc={rc}): {(err or out).strip().splitlines()[-1:] or ['no output']}"
    return out, ""


def virt_output(root: Path, which: Which | None, run: Runner | None) -> str | None:
    if which is None or run is None:
        return _read(root / "virt.txt")
    binary = which("systemd-detect-virt")
    if not binary:
        return None
    rc, out, _ = run([binary])
    # Exit 1 with "none" is bare metal; any other failure leaves the decision to the hints.
    return out if out.strip() and (rc == 0 or out.strip() == "none") else None


def kernel_log_output(root: Path, which: Which | None, run: Runner | None) -> tuple[str | None, str]:
    if which is None or run is None:
        path = root / "kernel.log"
        return _read(path), str(path) if path.exists() else f"{path} does not exist"
    failures = []
    for argv, source in ((["journalctl", "-k", "-b", "--no-pager", "-o", "short-monotonic"], "journalctl -k -b"),
                         (["dmesg"], "dmesg")):
        binary = which(argv[0])
        if not binary:
            failures.append(f"{argv[0]} not installed")
            continue
        rc, out, err = run([binary, *argv[1:]])
        if rc == 0 and out.strip() and "-- No entries --" not in out:
            return out, source
        failures.append(f"{source}: rc={rc} {(err or out).strip()[:120]}")
    return None, "; ".join(failures)


def gather(root: Path, which: Which | None = None, run: Runner | None = None) -> dict[str, Any]:
    """Collect every fact; with which/run None (a fixture root) no command runs."""
    text, reason = dmidecode_output(root, which, run)
    dmi = parse_dmidecode(text) if text is not None else {"arrays": [], "devices": []}
    if text is not None and not dmi["devices"]:
        reason = "dmidecode lists no memory device (no SMBIOS type 17 table)"
    dmi = {"available": bool(dmi["devices"]), "reason": reason, **dmi}
    marker = next((str(m) for m in (root / "run/.containerenv", root / ".dockerenv") if m.exists()), None)
    virt = classify_virt(virt_output(root, which, run), _read(root / "sys/class/dmi/id/sys_vendor"),
                         _read(root / "sys/class/dmi/id/product_name"), marker)
    log_text, log_source = kernel_log_output(root, which, run)
    return {
        "edac": read_edac(root),
        "dmidecode": dmi,
        "meminfo": parse_meminfo(_read(root / "proc/meminfo") or ""),
        "virtualization": virt,
        "kernel_log": scan_kernel_log(log_text, log_source),
    }


EXPECTED_INTS = ("memory_gb", "dimm_count", "dimm_size_gb", "speed_mts", "edac_controllers")


def normalize_expected(raw: dict[str, Any]) -> dict[str, Any]:
    """Coerce the expectations (templated values arrive as strings); raise ValueError naming a bad key."""
    unknown = set(raw) - {*EXPECTED_INTS, "require_registered_ecc"}
    if unknown:
        raise ValueError(f"unknown keys in expected: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key in EXPECTED_INTS:
        if raw.get(key) not in (None, ""):
            try:
                out[key] = int(raw[key])
            except (TypeError, ValueError):
                raise ValueError(f"expected.{key} must be an integer, got {raw[key]!r}") from None
    flag = raw.get("require_registered_ecc", True)
    out["require_registered_ecc"] = flag if isinstance(flag, bool) else str(flag).lower() in ("1", "true", "yes", "on")
    return out


def load_baseline(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == BASELINE_VERSION else None


def render_baseline(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def write_atomic(module: AnsibleModule, path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=".memory_baseline.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, str(path))


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "default": "/"},
            "expected": {"type": "dict", "default": {}},
            "ce_threshold": {"type": "int", "default": 10},
            "baseline_path": {"type": "path", "default": "/var/lib/gpu-rig/memory_baseline.json"},
            "update_baseline": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    root = Path(params["root"])
    live = str(root) == "/"

    def run(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv, check_rc=False, environ_update={"LC_ALL": "C"})

    def which(name: str) -> str | None:
        return module.get_bin_path(name, opt_dirs=["/usr/sbin", "/sbin"])

    try:
        expected = normalize_expected(params["expected"] or {})
    except ValueError as error:
        module.fail_json(msg=str(error))
    facts = gather(root, which if live else None, run if live else None)
    baseline_file = root / params["baseline_path"].lstrip("/")
    previous = load_baseline(baseline_file)
    checks = evaluate(facts, expected, params["ce_threshold"], previous)
    current = baseline_of(facts["edac"])
    differs = facts["edac"]["present"] and (previous is None or render_baseline(previous) != render_baseline(current))
    changed = bool(differs and params["update_baseline"])
    if changed and not module.check_mode:
        write_atomic(module, baseline_file, render_baseline(current))
    verdict = overall(checks)
    facts.update({
        "checks": checks,
        "verdict": verdict,
        "baseline": {"path": str(baseline_file), "found": previous is not None, "differs": bool(differs),
                     "written": changed and not module.check_mode},
    })
    module.exit_json(changed=changed, checks=checks, verdict=verdict, ansible_facts={"memory_health": facts})


if __name__ == "__main__":
    main()
