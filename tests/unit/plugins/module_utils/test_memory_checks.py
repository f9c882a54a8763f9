"""memory_checks and edac on the cases that once passed what was not seen (fixture trees are built, see
tests/fixtures/memory/README.md; each test says what it changes in a tree)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, plugin

mod = plugin("modules", "memory_facts")
edac = plugin("module_utils", "edac")
mchecks = plugin("module_utils", "memory_checks")
verdict = plugin("module_utils", "verdict")
MEMORY = FIXTURES / "memory"
MC = "sys/devices/system/edac/mc"
EPYC_8X32 = {"memory_gb": 256, "dimm_count": 8, "dimm_size_gb": 32, "speed_mts": 3200, "edac_controllers": 4}
GUEST_CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu vme de pse tsc msr pae hypervisor lahf_lm\n"


def tree(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(MEMORY / name, root)
    return root


def judge(root: Path, expected: dict | None = None) -> dict[str, dict]:
    facts = mod.gather(root)
    return {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32 if expected is None else expected, 10, None)}


def test_a_vm_without_systemd_or_container_marker_is_skip_not_fail(tmp_path):
    # vm_kvm without its virt.txt (no systemd-detect-virt answer), with a guest's CPU flags: the old code
    # called this bare metal and failed ecc_active.
    root = tree(tmp_path, "vm_kvm")
    (root / "virt.txt").unlink()
    (root / "proc/cpuinfo").write_text(GUEST_CPUINFO)
    checks = judge(root)
    assert {c["verdict"] for c in checks.values()} == {"SKIP"}, {n: c["verdict"] for n, c in checks.items()}
    assert "vm" in checks["ecc_active"]["reason"]


def test_no_signal_at_all_and_no_edac_is_unknown_not_fail(tmp_path):
    root = tree(tmp_path, "edac_disabled")
    (root / "virt.txt").unlink()
    checks = judge(root)
    assert checks["ecc_active"]["verdict"] == "UNKNOWN", checks["ecc_active"]
    assert verdict.overall(list(checks.values())) != "PASS"


def test_ecc_off_in_the_kernel_log_fails_even_without_a_host_signal(tmp_path):
    root = tree(tmp_path, "edac_disabled")
    (root / "virt.txt").unlink()
    # amd64_edac's messages when ECC is off in firmware (drivers/edac/amd64_edac.c).
    (root / "kernel.log").write_text(
        "EDAC amd64: Node 0: DRAM ECC disabled.\n"
        "EDAC amd64: ECC disabled in the BIOS or no ECC capability, module will not load.\n")
    check = judge(root)["ecc_active"]
    assert check["verdict"] == "FAIL" and "DRAM ECC disabled" in check["reason"], check


def test_a_controller_without_ue_count_is_unknown_not_no_ue(tmp_path):
    root = tree(tmp_path, "edac_naples")
    (root / MC / "mc2/ue_count").unlink()
    for rank in ("rank0", "rank1"):
        (root / MC / "mc2" / rank / "dimm_ue_count").unlink()
    check = judge(root)["uncorrectable_errors"]
    assert check["verdict"] == "UNKNOWN" and "mc2" in check["reason"], check


def test_errors_only_in_per_rank_counters_are_counted(tmp_path):
    root = tree(tmp_path, "edac_naples")
    (root / MC / "mc1/ce_count").unlink()
    (root / MC / "mc1/ue_count").unlink()
    (root / MC / "mc1/rank1/dimm_ue_count").write_text("2\n")
    (root / MC / "mc1/rank0/dimm_ce_count").write_text("4\n")
    facts = mod.gather(root)
    mc1 = facts["edac"]["controllers"][1]
    assert (mc1["ce_count"], mc1["ue_count"]) == (4, 2), mc1
    checks = {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32, 10, None)}
    assert checks["uncorrectable_errors"]["verdict"] == "FAIL"
    assert "mc1/rank1" in checks["uncorrectable_errors"]["reason"]


def test_finer_counters_above_the_controller_total_win_and_are_noted(tmp_path):
    root = tree(tmp_path, "edac_naples")
    (root / MC / "mc0/rank0/dimm_ce_count").write_text("12\n")   # controller's ce_count stays 0
    facts = mod.gather(root)
    mc0 = facts["edac"]["controllers"][0]
    assert mc0["ce_count"] == 12 and mc0["notes"], mc0
    assert {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32, 10, None)}["correctable_errors"][
        "verdict"] == "FAIL"


def test_the_legacy_csrow_layout_is_read(tmp_path):
    # A built csrow tree in the kernel's legacy layout (csrowN/chM_ce_count, ue_count, size_mb, edac_mode).
    root = tree(tmp_path, "edac_naples")
    shutil.rmtree(root / MC)
    row = root / MC / "mc0/csrow0"
    row.mkdir(parents=True)
    for name, value in {"ch0_ce_count": "1", "ch1_ce_count": "2", "ue_count": "0", "size_mb": "16384",
                        "edac_mode": "S4ECD4ED", "mem_type": "Registered-DDR4", "ch0_dimm_label": "DIMMA1",
                        "ch1_dimm_label": "DIMMB1"}.items():
        (row / name).write_text(value + "\n")
    (root / MC / "mc0/mc_name").write_text("F17h\n")
    controller = edac.read_edac(root)["controllers"][0]
    assert controller["layout"] == "csrow"
    assert (controller["ce_count"], controller["ue_count"], controller["size_mb"]) == (3, 0, 16384), controller
    assert controller["dimms"][0]["label"] == "DIMMA1 DIMMB1"


def test_absent_counters_are_none_never_zero(tmp_path):
    root = tree(tmp_path, "edac_naples")
    for name in ("ce_count", "ue_count"):
        (root / MC / "mc3" / name).unlink()
    for rank in ("rank0", "rank1"):
        for name in ("dimm_ce_count", "dimm_ue_count"):
            (root / MC / "mc3" / rank / name).unlink()
    mc3 = edac.read_edac(root)["controllers"][3]
    assert (mc3["ce_count"], mc3["ue_count"]) == (None, None)


@pytest.mark.parametrize("name", ["uncorrectable_errors", "correctable_errors", "kernel_log"])
def test_bare_metal_without_the_input_is_unknown(tmp_path, name):
    root = tree(tmp_path, "edac_disabled")
    checks = judge(root)
    assert checks[name]["verdict"] == "UNKNOWN", checks[name]


# --- rasdaemon's records ------------------------------------------------------------------------------------------
# The table as rasdaemon's ras-record.c creates it (mc_event_fields); the rows are built for these tests, in
# the shape ras_store_mc_event() writes them.
MC_EVENT = ("CREATE TABLE mc_event (id INTEGER PRIMARY KEY, timestamp TEXT, err_count INTEGER, err_type TEXT, "
            "err_msg TEXT, label TEXT, mc INTEGER, top_layer INTEGER, middle_layer INTEGER, lower_layer INTEGER, "
            "address INTEGER, grain INTEGER, syndrome INTEGER, driver_detail TEXT)")


def ras_db(root: Path, rows: list[tuple]) -> Path:
    import sqlite3

    path = root / "var/lib/rasdaemon/ras-mc_event.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(MC_EVENT)
        db.executemany("INSERT INTO mc_event (timestamp, err_count, err_type, err_msg, label, mc, top_layer, "
                       "middle_layer, lower_layer, address, grain, syndrome, driver_detail) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return path


def ce_row(when: str, address: int, label: str = "DIMMA1") -> tuple:
    return (when, 1, "Corrected", "memory read error", label, 0, 0, 0, -1, address, 64, 0x40, "")


def test_corrected_errors_repeated_at_one_address_before_a_reboot_warn(tmp_path):
    # EDAC's counters are 0 after the reboot; rasdaemon kept two corrected errors at one address.
    root = tree(tmp_path, "edac_naples")
    ras_db(root, [ce_row("2026-11-20 03:12:44 +0000", 0x12f4c5000), ce_row("2026-11-28 17:40:02 +0000", 0x12f4c5000),
                  ce_row("2026-11-29 09:01:13 +0000", 0x8812000, "DIMMC1")])
    checks = judge(root)
    assert checks["correctable_errors"]["verdict"] == "WARN", checks["correctable_errors"]
    assert "DIMMA1 address 0x12f4c5000" in checks["correctable_errors"]["reason"]


def test_an_uncorrected_event_in_rasdaemon_fails(tmp_path):
    root = tree(tmp_path, "edac_naples")
    ras_db(root, [("2026-11-21 11:00:00 +0000", 1, "Uncorrected", "memory read error", "DIMMB1", 0, 1, 0, -1,
                   0x4000, 64, 0, "")])
    check = judge(root)["uncorrectable_errors"]
    assert check["verdict"] == "FAIL" and "rasdaemon" in check["reason"], check


def test_single_corrected_events_pass_and_are_counted(tmp_path):
    root = tree(tmp_path, "edac_naples")
    ras_db(root, [ce_row("2026-11-20 03:12:44 +0000", 0x1000), ce_row("2026-11-21 03:12:44 +0000", 0x2000)])
    facts = mod.gather(root)
    assert facts["rasdaemon"]["available"] and facts["rasdaemon"]["repeated"] == []
    assert {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32, 10, None)}["correctable_errors"][
        "verdict"] == "PASS"


def test_a_database_that_is_not_rasdaemons_is_unavailable_with_the_reason(tmp_path):
    path = tmp_path / "ras-mc_event.db"
    path.write_bytes(b"not a database")
    found = plugin("module_utils", "rasdaemon").read_events(path)
    assert found["available"] is False and "unreadable" in found["reason"]


# --- DIMMs named once per channel -----------------------------------------------------------------------------------
dimm_checks = plugin("module_utils", "dimm_checks")
dmidecode = plugin("module_utils", "dmidecode")
TRX40 = (MEMORY / "dmidecode" / "trx40_dimm0_dimm1_per_channel.txt").read_text()


def test_unique_locators_name_the_slots_alone():
    devices = dimm_checks.name_slots(dmidecode.parse_dmidecode(TRX40)["devices"])
    assert [d["slot"] for d in devices][:2] == ["DIMM 0", "DIMM 1"]


def mixed_set() -> str:
    """Built from the real TRX40 record of P0 CHANNEL A DIMM 1 (16 GB): the same DIMM on three more
    channels, as 8 GB. A 16+8+8+8 GB set whose slots are all called DIMM 1."""
    record = TRX40[TRX40.index("Handle 0x001B"):TRX40.index("Handle 0x001E")]
    copies = [record.replace("Handle 0x001B", f"Handle 0x00{n}B").replace("P0 CHANNEL A", f"P0 CHANNEL {ch}")
              .replace("Size: 16 GB", "Size: 8 GB") for n, ch in ((3, "B"), (4, "C"), (5, "D"))]
    return TRX40[:TRX40.index("Handle 0x0019")] + record + "".join(copies)


def test_a_mixed_set_in_slots_of_one_name_is_not_all_the_same_size():
    dmi = {"available": True, "reason": "", **dmidecode.parse_dmidecode(mixed_set())}
    checks = {c["name"]: c for c in dimm_checks.dimm_checks(dmi, {"dimm_count": 4, "memory_gb": 40}, None)}
    assert checks["dimm_count"]["verdict"] == "PASS", checks["dimm_count"]
    assert checks["dimm_sizes_equal"]["verdict"] == "FAIL", checks["dimm_sizes_equal"]
    assert "P0 CHANNEL A DIMM 1=16 GB" in checks["dimm_sizes_equal"]["reason"]
    assert checks["memory_total"]["verdict"] == "PASS"


MCE_RECORD = ("CREATE TABLE mce_record (id INTEGER PRIMARY KEY, timestamp TEXT, mcgcap INTEGER, mcgstatus INTEGER, "
              "status INTEGER, addr INTEGER, misc INTEGER, ip INTEGER, tsc INTEGER, walltime INTEGER, ppin INTEGER, "
              "cpu INTEGER, cpuid INTEGER, apicid INTEGER, socketid INTEGER, cs INTEGER, bank INTEGER, "
              "cpuvendor INTEGER, microcode INTEGER, bank_name TEXT, error_msg TEXT, mcgstatus_msg TEXT, "
              "mcistatus_msg TEXT, mcastatus_msg TEXT, user_action TEXT, mc_location TEXT)")


def zen_umc_rows() -> list[tuple]:
    """The MCE events of the real `ras-mc-ctl --errors` output, as the mce_record rows it printed them from."""
    import re

    rows = []
    text = (MEMORY / "rasdaemon/ras-mc-ctl_errors_zen_umc_ce.txt").read_text()
    for line in text.splitlines():
        match = re.match(r"^\d+ (\S+ \S+ \S+) error: (.*?), CPU (\d+), bank (.*?\)), mcg (.*?), mci (\S+), "
                         r"(memory_channel=\d+,csrow=\d+),.*?addr=(0x[0-9a-f]+)", line)
        if match:
            when, msg, vendor, bank, mcg, mci, location, addr = match.groups()
            rows.append((when, msg, int(vendor), bank, mcg, mci, location, int(addr, 16)))
    return rows


def test_repeated_umc_corrected_errors_in_rasdaemons_mce_records_warn(tmp_path):
    import sqlite3

    rows = zen_umc_rows()
    assert len(rows) >= 3 and len({r[7] for r in rows}) == 1, rows  # the real output: one address, again and again
    root = tree(tmp_path, "edac_naples")
    path = root / "var/lib/rasdaemon/ras-mc_event.db"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute(MC_EVENT)  # "No Memory errors.": the table exists and is empty
        db.execute(MCE_RECORD)
        db.executemany("INSERT INTO mce_record (timestamp, error_msg, cpuvendor, bank_name, mcgstatus_msg, "
                       "mcistatus_msg, mc_location, addr) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    facts = mod.gather(root)
    assert facts["rasdaemon"]["repeated"][0]["where"] == (
        "Unified Memory Controller (bank=17) memory_channel=0,csrow=1 address 0x319deb440")
    check = {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32, 10, None)}["correctable_errors"]
    assert check["verdict"] == "WARN", check


@pytest.mark.parametrize(("raw", "normal"), [
    ({"memory_gb": "0", "dimm_count": "8"}, {"dimm_count": 8, "require_registered_ecc": True}),
    ({"memory_gb": 0, "speed_mts": 2133}, {"speed_mts": 2133, "require_registered_ecc": True}),
])
def test_zero_is_no_expectation_even_as_a_string(raw, normal):
    # ansible-core before 2.19 hands templated integers over as strings.
    assert mchecks.normalize_expected(raw) == normal


def test_a_negative_expectation_is_refused_naming_the_key():
    with pytest.raises(ValueError, match=r"expected\.dimm_count"):
        mchecks.normalize_expected({"dimm_count": -1})
