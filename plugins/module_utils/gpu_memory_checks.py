"""The GPU memory checks, by NVIDIA's guidance (docs.nvidia.com/deploy, "GPU Memory Error Management" and
"Dynamic Page Retirement"):

- an uncorrectable (double-bit) error, unrepairable memory, or the SRAM threshold-exceeded flag (an RMA
  criterion) is FAIL;
- row remapping (Ampere and later): a remapping failure, or 512 remappings for uncorrectable errors (after
  which the failure flag is set), is FAIL; a pending remapping takes effect at the next GPU reset: WARN;
- page retirement (earlier GPUs): at most 64 pages can be retired, so 64 is FAIL; a pending retirement needs
  a driver reload or GPU reset: WARN; pages retired for double-bit errors are WARN;
- correctable errors: NVIDIA publishes no threshold for them; at or above ecc_correctable_warn volatile
  correctable errors (this collection's default: 100) is WARN.

GeForce cards such as the RTX 3090 report ECC, retired pages and remapped rows as N/A: SKIP, never PASS.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.verdict import checker

MAX_RETIRED_PAGES = 64
MAX_UNCORRECTABLE_REMAPS = 512


def check_ecc(gpu: dict[str, Any], correctable_warn: int = 100) -> dict[str, Any]:
    c, ecc = checker("ecc", gpu["index"]), gpu["ecc"]
    if not ecc["supported"]:
        return c("SKIP", f"ECC not supported on {gpu['name']}")
    keys = ("mode_current", "mode_pending", "volatile_sbe", "volatile_dbe", "aggregate_sbe", "aggregate_dbe")
    found = {k: ecc[k] for k in keys}
    dbe = max(ecc["aggregate_dbe"] or 0, ecc["volatile_dbe"] or 0)
    counted = ecc["aggregate_dbe"] is not None or ecc["volatile_dbe"] is not None
    if dbe > 0:
        return c("FAIL", f"expected 0 uncorrectable ECC errors, found {dbe}", expected={"uncorrectable": 0},
                 found=found)
    if ecc["unrepairable_memory"]:
        return c("FAIL", "nvidia-smi reports unrepairable memory", expected={"unrepairable_memory": False}, found=found)
    if ecc["threshold_exceeded"]:
        return c("FAIL", "the SRAM error threshold is exceeded (an RMA criterion in NVIDIA's policy)",
                 expected={"sram_threshold_exceeded": False}, found=found)
    if (ecc["mode_current"] or "").lower() != "enabled":
        return c("WARN", f"ECC is supported but {ecc['mode_current']}", expected={"mode_current": "Enabled"},
                 found=found)
    if ecc["mode_pending"] and ecc["mode_pending"] != ecc["mode_current"]:
        return c("WARN", f"ECC mode changes to {ecc['mode_pending']} at the next reset", found=found)
    if ecc["repair_pending"]:
        return c("WARN", "a memory repair is pending: reset the GPU", found=found)
    if not counted:
        return c("UNKNOWN", "ECC is on but nvidia-smi reports no uncorrectable error count", found=found)
    if ecc["volatile_sbe"] is not None and ecc["volatile_sbe"] >= correctable_warn:
        return c("WARN", f"{ecc['volatile_sbe']} correctable ECC errors since the last reset, at or above "
                 f"{correctable_warn}", expected={"volatile_correctable": f"< {correctable_warn}"}, found=found)
    return c("PASS", f"ECC enabled, 0 uncorrectable ({ecc['volatile_sbe']} correctable since reset, "
             f"{ecc['aggregate_sbe']} aggregate)", expected={"uncorrectable": 0}, found=found)


def check_retired(gpu: dict[str, Any]) -> dict[str, Any]:
    c, pages = checker("retired_pages", gpu["index"]), gpu["retired_pages"]
    if not pages["supported"]:
        return c("SKIP", f"retired pages not reported on {gpu['name']}")
    found = {k: pages[k] for k in ("sbe", "dbe", "pending")}
    total = (pages["sbe"] or 0) + (pages["dbe"] or 0)
    if total >= MAX_RETIRED_PAGES:
        return c("FAIL", f"{total} pages retired, the most a GPU can retire ({MAX_RETIRED_PAGES})",
                 expected={"retired": f"< {MAX_RETIRED_PAGES}"}, found=found)
    if pages["pending"]:
        return c("WARN", "page retirement pending: reset the GPU", expected={"pending": False}, found=found)
    if pages["dbe"]:
        return c("WARN", f"{pages['dbe']} pages retired for double-bit errors", found=found)
    if pages["sbe"] is None or pages["dbe"] is None:
        return c("UNKNOWN", "retired pages partly reported: their counts are missing", found=found)
    return c("PASS", f"no retirement pending ({total} pages retired)", expected={"pending": False}, found=found)


def check_remapped(gpu: dict[str, Any]) -> dict[str, Any]:
    c, rows = checker("remapped_rows", gpu["index"]), gpu["remapped_rows"]
    if not rows["supported"]:
        return c("SKIP", f"row remapping not reported on {gpu['name']}")
    found = {k: rows[k] for k in ("correctable", "uncorrectable", "pending", "failure")}
    if rows["failure"]:
        return c("FAIL", "a row remapping failed: the GPU meets NVIDIA's RMA criterion", expected={"failure": False},
                 found=found)
    if (rows["uncorrectable"] or 0) >= MAX_UNCORRECTABLE_REMAPS:
        return c("FAIL", f"{rows['uncorrectable']} rows remapped for uncorrectable errors, NVIDIA's limit "
                 f"({MAX_UNCORRECTABLE_REMAPS})", found=found)
    if rows["pending"]:
        return c("WARN", "row remapping pending: it takes effect at the next GPU reset", expected={"pending": False},
                 found=found)
    if rows["uncorrectable"] is None or rows["failure"] is None:
        return c("UNKNOWN", "row remapping partly reported: its counts or failure flag are missing", found=found)
    return c("PASS", f"no remap pending or failed ({rows['correctable']} correctable, {rows['uncorrectable']} "
             "uncorrectable remapped)", expected={"pending": False, "failure": False}, found=found)
