"""The DIMM checks: what dmidecode says is installed, against the inventory's hardware contract.

A DIMM is named by its locator where the locators are unique (Supermicro's DIMMA1..DIMMH1), else by
bank locator and locator together ("P0 CHANNEL A DIMM 0"): boards that name their slots "DIMM 0" and
"DIMM 1" once per channel would otherwise collapse four DIMMs into two.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import check

DIMM_CHECKS = ("memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed", "registered_ecc")


def _check(name: str, verdict: str, reason: str, expected: Any = None, found: Any = None) -> dict[str, Any]:
    return check(name, None, verdict, reason, expected=expected, found=found)


def gb(mb: float) -> str:
    return f"{mb / 1024:g} GB"


def listing(items: list[str]) -> str:
    return " ".join(items) if items else "none"


def slot(device: dict[str, Any]) -> str:
    return device.get("slot") or device.get("locator") or "unnamed"


def name_slots(devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The devices with a "slot" name each: the locator, or bank locator + locator where locators repeat."""
    locators = [(d.get("locator") or "").strip() for d in devices]
    unique = len(set(locators)) == len(locators)
    named = []
    for device, locator in zip(devices, locators, strict=True):
        bank = (device.get("bank_locator") or "").strip()
        if unique or not bank or bank.lower() in ("not specified", "unknown") or bank == locator:
            name = locator or "unnamed"
        else:
            name = f"{bank} {locator}".strip()
        named.append({**device, "slot": name})
    return named


def memory_total(populated: list[dict[str, Any]], expected: dict[str, Any], total_text: str) -> dict[str, Any]:
    total_mb = sum(d["size_mb"] for d in populated)
    want = expected.get("memory_gb")
    if want is None:
        return _check("memory_total", "SKIP", f"no expectation; DIMMs sum to {gb(total_mb)}, {total_text}",
                      None, total_mb // 1024)
    verdict = "PASS" if total_mb == want * 1024 else "FAIL"
    return _check("memory_total", verdict, f"expected {want} GB of DIMMs, found {gb(total_mb)} ({total_text})",
                  want, total_mb / 1024)


def dimm_count(populated: list[dict[str, Any]], empty: list[str], expected: dict[str, Any]) -> dict[str, Any]:
    slots = [slot(d) for d in populated]
    want = expected.get("dimm_count")
    if want is None:
        return _check("dimm_count", "SKIP", f"no expectation; found {len(populated)} DIMMs: {listing(slots)}",
                      None, len(populated))
    verdict = "PASS" if len(populated) == want else "FAIL"
    return _check("dimm_count", verdict, f"expected {want} DIMMs, found {len(populated)}: {listing(slots)}; "
                  f"empty slots: {listing(empty)}", want, len(populated))


def dimm_sizes_equal(populated: list[dict[str, Any]], expected: dict[str, Any]) -> dict[str, Any]:
    sizes = {slot(d): d["size_mb"] for d in populated}
    by_size = " ".join(f"{name}={gb(mb)}" for name, mb in sizes.items())
    want = expected.get("dimm_size_gb")
    if not populated:
        return _check("dimm_sizes_equal", "FAIL", "expected populated DIMMs, dmidecode lists none", want, [])
    if len(sizes) < len(populated):
        return _check("dimm_sizes_equal", "UNKNOWN", f"{len(populated)} DIMMs but only {len(sizes)} distinct slot "
                      f"names ({by_size}): the sizes cannot be told apart", want, sizes)
    if len(set(sizes.values())) > 1:
        return _check("dimm_sizes_equal", "FAIL", f"expected every DIMM the same size, found {by_size}", want, sizes)
    if want is not None and populated[0]["size_mb"] != want * 1024:
        return _check("dimm_sizes_equal", "FAIL", f"expected every DIMM {want} GB, found {by_size}", want, sizes)
    return _check("dimm_sizes_equal", "PASS", f"all {len(populated)} DIMMs are {gb(populated[0]['size_mb'])}",
                  want, sizes)


def _collide(populated: list[dict[str, Any]]) -> bool:
    """Whether two DIMMs still share a name (then their values cannot be told apart)."""
    return len({slot(d) for d in populated}) < len(populated)


def dimm_speed(populated: list[dict[str, Any]], expected: dict[str, Any]) -> dict[str, Any]:
    if expected.get("speed_mts") is not None and _collide(populated):
        return _check("dimm_speed", "UNKNOWN", "two DIMMs share a slot name: their speeds cannot be told apart",
                      expected.get("speed_mts"))
    speeds = {slot(d): d["configured_speed_mts"] for d in populated}
    by_speed = " ".join(f"{name}={mts or 'unknown'}" for name, mts in speeds.items())
    want = expected.get("speed_mts")
    known = {name: mts for name, mts in speeds.items() if mts}
    if want is None:
        return _check("dimm_speed", "SKIP", f"no expectation; found {by_speed or 'no DIMM'}", want, speeds)
    if not known:
        return _check("dimm_speed", "UNKNOWN", f"no DIMM reports a configured speed: {by_speed or 'no DIMM'}",
                      want, speeds)
    if any(mts != want for mts in known.values()):
        return _check("dimm_speed", "FAIL", f"expected {want} MT/s on every DIMM, found {by_speed}", want, speeds)
    if len(known) < len(speeds):
        return _check("dimm_speed", "WARN", f"expected {want} MT/s on every DIMM, some do not report it: {by_speed}",
                      want, speeds)
    return _check("dimm_speed", "PASS", f"all {len(known)} DIMMs run at {want} MT/s", want, speeds)


def registered_ecc(populated: list[dict[str, Any]], expected: dict[str, Any]) -> dict[str, Any]:
    if not expected.get("require_registered_ecc", True):
        return _check("registered_ecc", "SKIP", "registered ECC DIMMs are not required")
    want_text = "72/64-bit 'Registered' DIMMs"
    if not populated:
        return _check("registered_ecc", "FAIL", f"expected {want_text}, dmidecode lists none", want_text, [])
    if _collide(populated):
        return _check("registered_ecc", "UNKNOWN", "two DIMMs share a slot name: their widths cannot be told apart",
                      want_text)
    unknown = [slot(d) for d in populated if d["total_width"] is None or d["data_width"] is None]
    bad = [f"{slot(d)}={d['total_width']}/{d['data_width']} bits '{d['type_detail']}'" for d in populated
           if slot(d) not in unknown
           and (d["total_width"] != 72 or d["data_width"] != 64 or "Registered" not in d["type_detail"])]
    if bad:
        return _check("registered_ecc", "FAIL", f"expected {want_text}, found {' '.join(bad)}", want_text, bad)
    if unknown:
        return _check("registered_ecc", "UNKNOWN", f"dmidecode gives no bus width for {listing(unknown)}",
                      want_text, unknown)
    return _check("registered_ecc", "PASS", f"all {len(populated)} DIMMs are registered ECC (72/64 bits)",
                  want_text, [])


def dimm_checks(dmi: dict[str, Any], expected: dict[str, Any], mem_total_kb: int | None) -> list[dict[str, Any]]:
    """Every DIMM check; UNKNOWN for each when dmidecode gave nothing (on a host that is not virtual)."""
    total_text = f"MemTotal is {mem_total_kb / 1048576:.1f} GiB" if mem_total_kb else "MemTotal unknown"
    if not dmi["available"]:
        return [_check(name, "UNKNOWN", f"dmidecode unavailable: {dmi['reason']}"
                       + (f"; {total_text}" if name == "memory_total" else "")) for name in DIMM_CHECKS]
    devices = name_slots(dmi["devices"])
    populated = [d for d in devices if d["size_mb"] > 0]
    empty = [slot(d) for d in devices if d["size_mb"] == 0]
    return [memory_total(populated, expected, total_text), dimm_count(populated, empty, expected),
            dimm_sizes_equal(populated, expected), dimm_speed(populated, expected), registered_ecc(populated, expected)]
