"""The memory checks: EDAC, meminfo, kernel log and rasdaemon facts judged against the inventory.

Verdicts: PASS only on what was seen; UNKNOWN where the input a check needs is absent on a host that
is not virtual; SKIP in a VM or container (EDAC and DMI are the hypervisor's) or without an expectation.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.dimm_checks import DIMM_CHECKS, dimm_checks, gb, listing
from ansible_collections.gpu_rig.cluster.plugins.module_utils.edac import ce_rises
from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check

NO_ECC_MODES = {"", "none", "unknown"}
EXPECTED_INTS = ("memory_gb", "dimm_count", "dimm_size_gb", "speed_mts", "edac_controllers")
HARDWARE_CHECKS = ("ecc_active", "edac_controllers", *DIMM_CHECKS)


def _check(name: str, verdict: str, reason: str, expected: Any = None, found: Any = None) -> dict[str, Any]:
    return check(name, None, verdict, reason, expected=expected, found=found)


def ecc_active(facts: dict[str, Any]) -> dict[str, Any]:
    edac, kind = facts["edac"], facts["virtualization"]["kind"]
    ranks = [(mc["name"], d) for mc in edac["controllers"] for d in mc["dimms"]]
    ecc_ranks = [f"{mc}/{d['name']}" for mc, d in ranks if d["edac_mode"].strip().lower() not in NO_ECC_MODES]
    modes = sorted({d["edac_mode"] or "unreported" for _mc, d in ranks})
    if not edac["present"]:
        said = facts["kernel_log"].get("ecc_off_lines", [])
        hint = f"; the kernel says: {said[0]}" if said else ""
        if kind == "unknown" and not said:
            return _check("ecc_active", "UNKNOWN", f"no EDAC controller ({edac['reason']}) and nothing says whether "
                          "this is bare metal or a VM", "ECC on", "no EDAC controller")
        return _check("ecc_active", "FAIL", f"expected EDAC memory controllers with an ECC mode, found none: "
                      f"{edac['reason']}{hint}; DMI 'Multi-bit ECC' only says what the board can do",
                      "ECC on", "no EDAC controller")
    if not ecc_ranks:
        return _check("ecc_active", "FAIL", f"expected an ECC edac_mode on some DIMM, found "
                      f"{', '.join(modes) or 'no DIMM entries'}", "ECC on", modes)
    return _check("ecc_active", "PASS", f"{len(ecc_ranks)} of {len(ranks)} EDAC DIMM entries run {', '.join(modes)} "
                  f"on {' '.join(mc['name'] for mc in edac['controllers'])}", "ECC on", modes)


def edac_controllers(facts: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The controller count, and why one is missing: a die without DIMMs, or DIMMs that EDAC does not cover."""
    controllers, dmi = facts["edac"]["controllers"], facts["dmidecode"]
    names = [f"{mc['name']}({mc['mc_name']})" for mc in controllers]
    found, want = len(controllers), expected.get("edac_controllers")
    if want is None:
        return _check("edac_controllers", "SKIP", f"no expectation; found {found}: {listing(names)}", None, found)
    if found == want:
        return _check("edac_controllers", "PASS", f"{found} EDAC controllers: {listing(names)}", want, found)
    text = f"expected {want} EDAC controllers, found {found}: {listing(names)}"
    if found > want or not dmi["available"]:
        why = "" if found > want else f"; dmidecode unavailable ({dmi['reason']}), so the cause is unknown"
        return _check("edac_controllers", "FAIL", text + why, want, found)
    edac_mb = sum(mc["size_mb"] for mc in controllers)
    dimm_mb = sum(d["size_mb"] for d in dmi["devices"])
    if edac_mb >= dimm_mb:
        return _check("edac_controllers", "WARN", f"{text}; EDAC covers all {gb(dimm_mb)} of the DIMMs, so the "
                      "missing controllers have none (a die without DIMMs, or a CPU or NUMA mode that registers "
                      "fewer controllers): check the DIMM population or correct the inventory", want, found)
    return _check("edac_controllers", "FAIL", f"{text}; EDAC covers {gb(edac_mb)} of {gb(dimm_mb)} of DIMMs: ECC is "
                  "off, or not reported, for the rest", want, found)


def _unknown_counts(controllers: list[dict[str, Any]], key: str) -> list[str]:
    return [mc["name"] for mc in controllers if mc[key] is None]


def uncorrectable_errors(facts: dict[str, Any], virt_why: str | None) -> dict[str, Any]:
    edac, log, ras = facts["edac"], facts["kernel_log"], facts.get("rasdaemon") or {}
    controllers = edac["controllers"]
    where = [f"{mc['name']} ue_count={mc['ue_count']}" for mc in controllers if mc["ue_count"]]
    where += [f"{mc['name']} ue_noinfo_count={mc['ue_noinfo_count']}" for mc in controllers if mc["ue_noinfo_count"]]
    where += [f"{mc['name']}/{d['name']} {d['label']} ue={d['ue_count']}" for mc in controllers
              for d in mc["dimms"] if d["ue_count"]]
    corrupted = facts["meminfo"]["hardware_corrupted_kb"]
    if corrupted:
        where.append(f"HardwareCorrupted={corrupted} kB")
    where += [f"kernel log: {line}" for line in log["ue_lines"][:3]]
    where += [f"rasdaemon: {e['count']} uncorrected at {e['where']}" for e in ras.get("uncorrected", [])[:3]]
    if where:
        return _check("uncorrectable_errors", "FAIL", f"expected no uncorrectable error, found {'; '.join(where)}",
                      0, where)
    if virt_why:
        return _check("uncorrectable_errors", "SKIP", virt_why)
    if not edac["present"]:
        return _check("uncorrectable_errors", "UNKNOWN", f"no EDAC controller, uncorrectable errors cannot be "
                      f"counted: {edac['reason']}")
    unknown = _unknown_counts(controllers, "ue_count")
    if unknown:
        return _check("uncorrectable_errors", "UNKNOWN", f"no UE counter (ue_count or per-DIMM) on "
                      f"{' '.join(unknown)}: their uncorrectable errors cannot be counted")
    return _check("uncorrectable_errors", "PASS", f"no UE on {len(controllers)} EDAC controllers"
                  + (", HardwareCorrupted 0 kB" if corrupted == 0 else "")
                  + (", none in the kernel log" if log["available"] else "")
                  + (", none in rasdaemon's records" if ras.get("available") else ""), 0, 0)


def correctable_errors(facts: dict[str, Any], virt_why: str | None, ce_threshold: int,
                       baseline: dict[str, Any] | None) -> dict[str, Any]:
    edac, ras = facts["edac"], facts.get("rasdaemon") or {}
    controllers = edac["controllers"]
    if virt_why:
        return _check("correctable_errors", "SKIP", virt_why)
    if not edac["present"]:
        return _check("correctable_errors", "UNKNOWN", f"no EDAC controller: {edac['reason']}")
    unknown = _unknown_counts(controllers, "ce_count")
    ce_total = sum(mc["ce_count"] or 0 for mc in controllers)
    where = " ".join(f"{mc['name']}/{d['name']}={d['ce_count']}" for mc in controllers for d in mc["dimms"]
                     if d["ce_count"])
    repeated = [f"{e['count']} at {e['where']}" for e in ras.get("repeated", [])]
    rises = ce_rises(edac, baseline)
    if ce_total >= ce_threshold:
        return _check("correctable_errors", "FAIL", f"expected fewer than {ce_threshold} correctable errors, found "
                      f"{ce_total}: {where or 'no DIMM named'}", ce_threshold, ce_total)
    if repeated:
        return _check("correctable_errors", "WARN", f"rasdaemon recorded repeated corrected errors at one place "
                      f"(before or since the last reboot): {'; '.join(repeated[:5])}", ce_threshold, ce_total)
    if rises:
        return _check("correctable_errors", "WARN", f"correctable errors rose since the baseline: {'; '.join(rises)}; "
                      f"{ce_total} in all (threshold {ce_threshold})", ce_threshold, ce_total)
    if unknown:
        return _check("correctable_errors", "UNKNOWN", f"no CE counter on {' '.join(unknown)}; {ce_total} counted "
                      "on the others", ce_threshold, ce_total)
    since = "no baseline yet" if baseline is None else "not higher than the baseline"
    return _check("correctable_errors", "PASS", f"{ce_total} correctable errors, below the threshold {ce_threshold}, "
                  f"{since}" + (f": {where}" if where else ""), ce_threshold, ce_total)


def kernel_log(facts: dict[str, Any], virt_why: str | None) -> dict[str, Any]:
    log = facts["kernel_log"]
    if not log["available"]:
        verdict = "SKIP" if virt_why else "UNKNOWN"
        return _check("kernel_log", verdict, f"kernel log unavailable: {log['source'] or 'no source'}")
    if log["mce_errors"] or log["ue_lines"]:
        lines = log["mce_errors"] or log["ue_lines"]
        return _check("kernel_log", "WARN", f"expected no machine-check lines, found {len(lines)}, first: {lines[0]}",
                      0, lines[:10])
    if virt_why:
        return _check("kernel_log", "SKIP", f"{virt_why}; no machine-check line in {log['source']}")
    return _check("kernel_log", "PASS", f"no machine-check or uncorrected lines in {log['source']}"
                  + (f" ({len(log['edac_errors'])} EDAC CE lines)" if log["edac_errors"] else ""),
                  0, log["edac_errors"][:10])


def evaluate(facts: dict[str, Any], expected: dict[str, Any], ce_threshold: int,
             baseline: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Judge the facts; one entry per check, names fixed so that roles and reports can read them."""
    virt = facts["virtualization"]
    virt_why = f"running in {virt['type']} ({virt['kind']}): EDAC and DMI are the hypervisor's" \
        if virt["is_virtual"] else None
    if virt_why:
        checks = [_check(name, "SKIP", virt_why) for name in HARDWARE_CHECKS]
    else:
        checks = [ecc_active(facts), edac_controllers(facts, expected),
                  *dimm_checks(facts["dmidecode"], expected, facts["meminfo"]["mem_total_kb"])]
    return [*checks, uncorrectable_errors(facts, virt_why), correctable_errors(facts, virt_why, ce_threshold, baseline),
            kernel_log(facts, virt_why)]


def normalize_expected(raw: dict[str, Any]) -> dict[str, Any]:
    """Coerce the expectations (templated values arrive as strings); raise ValueError naming a bad key."""
    unknown = set(raw) - {*EXPECTED_INTS, "require_registered_ecc"}
    if unknown:
        raise ValueError(f"unknown keys in expected: {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key in EXPECTED_INTS:
        if raw.get(key) not in (None, ""):
            try:
                value = int(raw[key])
            except (TypeError, ValueError):
                raise ValueError(f"expected.{key} must be an integer, got {raw[key]!r}") from None
            if value < 0:
                raise ValueError(f"expected.{key} must be 0 (no expectation) or more, got {value}")
            if value:  # 0 (or "0") is no expectation, never an expectation of zero
                out[key] = value
    flag = raw.get("require_registered_ecc", True)
    out["require_registered_ecc"] = flag if isinstance(flag, bool) else str(flag).lower() in ("1", "true", "yes", "on")
    return out
