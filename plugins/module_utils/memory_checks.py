"""The memory checks: EDAC, DMI, meminfo and kernel log facts judged against the inventory."""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.edac import ce_rises
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check

NO_ECC_MODES = {"", "none", "unknown"}
EXPECTED_INTS = ("memory_gb", "dimm_count", "dimm_size_gb", "speed_mts", "edac_controllers")
HARDWARE_CHECKS = ("ecc_active", "edac_controllers", "memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed",
                   "registered_ecc")


def _check(name: str, verdict: str, reason: str, expected: Any = None, found: Any = None) -> dict[str, Any]:
    return check(name, None, verdict, reason, expected=expected, found=found)


def _gb(mb: float) -> str:
    return f"{mb / 1024:g} GB"


def _listing(items: list[str]) -> str:
    return " ".join(items) if items else "none"


def _hardware_checks(facts: dict[str, Any], expected: dict[str, Any]) -> list[dict[str, Any]]:
    edac, dmi = facts["edac"], facts["dmidecode"]
    controllers = edac["controllers"]
    ranks = [(mc["name"], d) for mc in controllers for d in mc["dimms"]]
    ecc_ranks = [f"{mc}/{d['name']}" for mc, d in ranks if d["edac_mode"].strip().lower() not in NO_ECC_MODES]
    modes = sorted({d["edac_mode"] or "unreported" for _mc, d in ranks})
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
