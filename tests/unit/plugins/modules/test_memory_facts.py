"""memory_facts (memory_health): EDAC proves ECC, DMI never does; VMs skip; UE fails; rising CE warns."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, plugin, run_module

mod = plugin("modules", "memory_facts")
dmi = plugin("module_utils", "dmidecode")
edac_tree = plugin("module_utils", "edac")
mchecks = plugin("module_utils", "memory_checks")
verdict_model = plugin("module_utils", "verdict")
MEMORY = FIXTURES / "memory"
DMI = MEMORY / "dmidecode"
BASELINE = "var/lib/gpu-rig/memory_baseline.json"
# The real dmidecode output in the bare-metal trees is a Supermicro EPYC 7532 board with 8 x 32 GB RDIMM at
# 3200 MT/s (see fixtures/memory/README.md); expectations follow that board, not the H11SSL-i's 8 x 16 GB.
EPYC_8X32 = {"memory_gb": 256, "dimm_count": 8, "dimm_size_gb": 32, "speed_mts": 3200, "edac_controllers": 4}
HARDWARE = ["ecc_active", "edac_controllers", "memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed",
            "registered_ecc"]
ALL_CHECKS = [*HARDWARE, "uncorrectable_errors", "correctable_errors", "kernel_log"]


def judge(tree: str | Path, expected: dict | None = None, threshold: int = 10, baseline: dict | None = None,
          use_tree_baseline: bool = True) -> dict[str, dict]:
    root = tree if isinstance(tree, Path) else MEMORY / tree
    if baseline is None and use_tree_baseline:
        baseline = edac_tree.load_baseline(root / BASELINE)
    facts = mod.gather(root)
    checks = mchecks.evaluate(facts, EPYC_8X32 if expected is None else expected, threshold, baseline)
    assert [c["name"] for c in checks] == ALL_CHECKS, f"check names/order changed: {[c['name'] for c in checks]}"
    return {c["name"]: c for c in checks}


def verdicts(checks: dict[str, dict]) -> dict[str, str]:
    return {name: check["verdict"] for name, check in checks.items()}


def copy_tree(tmp_path: Path, tree: str) -> Path:
    root = tmp_path / tree
    shutil.copytree(MEMORY / tree, root)
    return root


# ------------------------------------------------------------------------------------------- dmidecode ----------

@pytest.mark.parametrize(("fixture", "want"), [
    ("supermicro_epyc7532_rdimm.txt", {"count": 8, "size_mb": 32768, "ecc_type": "Multi-bit ECC", "widths": (72, 64),
                                       "speed": 3200, "detail": "Synchronous Registered (Buffered)"}),
    ("asrock_z370m_udimm.txt", {"count": 2, "size_mb": 8192, "ecc_type": "None", "widths": (64, 64), "speed": 2667,
                                "detail": "Synchronous Unbuffered (Unregistered)"}),
    ("hetzner_kvm_guest.txt", {"count": 1, "size_mb": 4000, "ecc_type": "Multi-bit ECC", "widths": (None, None),
                               "speed": None, "detail": "Other"}),
])
def test_parse_dmidecode_real_outputs(fixture, want):
    parsed = dmi.parse_dmidecode((DMI / fixture).read_text())
    devices = parsed["devices"]
    assert len(devices) == want["count"], f"expected {want['count']} memory devices, parsed {len(devices)}"
    assert [a["ecc_type"] for a in parsed["arrays"]] == [want["ecc_type"]], f"array ECC type: {parsed['arrays']}"
    assert {d["size_mb"] for d in devices} == {want["size_mb"]}, f"sizes: {[d['size_mb'] for d in devices]}"
    assert {(d["total_width"], d["data_width"]) for d in devices} == {want["widths"]}, f"widths of {devices}"
    assert {d["configured_speed_mts"] for d in devices} == {want["speed"]}, f"configured speeds of {devices}"
    assert {d["type_detail"] for d in devices} == {want["detail"]}, f"type details of {devices}"


def test_parse_dmidecode_keeps_locators_and_old_configured_clock_speed_key():
    devices = dmi.parse_dmidecode((DMI / "supermicro_epyc7532_rdimm.txt").read_text())["devices"]
    assert [d["locator"] for d in devices] == [f"DIMM{c}1" for c in "ABCDEFGH"]
    assert devices[7]["bank_locator"] == "P0_Node0_Channel7_Dimm0"
    assert devices[0]["part_number"] == "HMA84GR7CJR4N-XN" and devices[0]["manufacturer"] == "SK Hynix"
    # dmidecode 3.1 prints "Configured Clock Speed", newer versions "Configured Memory Speed".
    assert all(d["configured_speed_mts"] == 3200 for d in devices)


def test_parse_dmidecode_ignores_other_types_and_the_guest_array_still_claims_ecc():
    parsed = dmi.parse_dmidecode((DMI / "hetzner_kvm_guest.txt").read_text())
    assert parsed["arrays"] == [{"ecc_type": "Multi-bit ECC", "max_capacity": "4000 MB", "use": "System Memory",
                                 "devices": 1}]
    assert parsed["devices"][0]["manufacturer"] == "QEMU"


@pytest.mark.parametrize(("text", "mb"), [
    ("32 GB", 32768), ("8192 MB", 8192), ("4000 MB", 4000), ("No Module Installed", 0), ("Unknown", 0),
])
def test_size_strings_as_dmidecode_prints_them(text, mb):
    assert dmi._size_mb(text) == mb, f"{text!r}: expected {mb} MB"


# ------------------------------------------------------------------------------------------- EDAC, meminfo ------

def test_read_edac_naples_has_four_f17h_controllers_of_two_secded_ranks():
    edac = edac_tree.read_edac(MEMORY / "edac_naples")
    assert edac["present"] is True
    assert [(mc["name"], mc["mc_name"], len(mc["dimms"])) for mc in edac["controllers"]] == [
        (f"mc{n}", "F17h", 2) for n in range(4)]
    rank = edac["controllers"][0]["dimms"][0]
    assert rank == {"name": "rank0", "label": "mc#0csrow#0channel#0", "location": "csrow 0 channel 0",
                    "mem_type": "Registered-DDR4", "edac_mode": "SECDED", "size_mb": 32768, "ce_count": 0,
                    "ue_count": 0}


def test_read_edac_rome_reads_dimm_named_entries_in_numeric_order():
    edac = edac_tree.read_edac(MEMORY / "edac_rome")
    names = [d["name"] for d in edac["controllers"][0]["dimms"]]
    assert names == [f"dimm{n}" for n in range(8)], names
    assert edac["controllers"][0]["mc_name"] == "F17h_M30h"


@pytest.mark.parametrize(("tree", "why"), [
    ("edac_disabled", "has no memory controller"),
    ("vm_kvm", "does not exist"),
])
def test_read_edac_absent(tree, why):
    edac = edac_tree.read_edac(MEMORY / tree)
    assert edac["present"] is False and edac["controllers"] == []
    assert why in edac["reason"], edac["reason"]


def test_parse_meminfo_real_file_without_hardware_corrupted_line():
    text = (MEMORY / "meminfo_build_host.txt").read_text()
    info = edac_tree.parse_meminfo(text)
    assert info["mem_total_kb"] == int(text.split()[1])
    # This kernel has no CONFIG_MEMORY_FAILURE line: unknown, not zero.
    assert info["hardware_corrupted_kb"] is None


def test_parse_meminfo_hardware_corrupted():
    # The line as the kernel prints it after a soft-offlined page (linux-mm, Misono 2024).
    text = (MEMORY / "meminfo_build_host.txt").read_text() + "HardwareCorrupted:     4 kB\n"
    assert edac_tree.parse_meminfo(text)["hardware_corrupted_kb"] == 4


# ------------------------------------------------------------------------------------------- virt, kernel log ---

def test_scan_kernel_log_corrected_error():
    log = edac_tree.scan_kernel_log((MEMORY / "ce_rising/kernel.log").read_text(), "kernel.log")
    assert log["edac_errors"] == [
        "[  333.273479] EDAC MC0: 1 CE on mc#0csrow#0channel#0 (csrow:0 channel:0 page:0x10b544 offset:0xfc0 "
        "grain:64 syndrome:0x4020)"]
    assert log["mce_errors"][0].endswith("Machine check events logged")
    assert log["ue_lines"] == [], f"a corrected error is not uncorrected: {log['ue_lines']}"


def test_scan_kernel_log_uncorrected_error():
    log = edac_tree.scan_kernel_log((MEMORY / "ue_nonzero/kernel.log").read_text(), "kernel.log")
    assert any("EDAC MC0: 1 UE on mc#0csrow#0channel#0" in line for line in log["ue_lines"]), log["ue_lines"]
    assert any("mce: Uncorrected hardware memory error" in line for line in log["ue_lines"]), log["ue_lines"]


def test_scan_kernel_log_driver_banner_is_not_an_error():
    log = edac_tree.scan_kernel_log((MEMORY / "edac_naples/kernel.log").read_text(), "kernel.log")
    assert (log["edac_errors"], log["mce_errors"], log["ue_lines"]) == ([], [], []), log


def test_scan_kernel_log_unavailable():
    assert edac_tree.scan_kernel_log(None, "dmesg: rc=1")["available"] is False


# ------------------------------------------------------------------------------------------- checks per tree ----

def test_naples_all_pass():
    checks = judge("edac_naples")
    assert verdicts(checks) == dict.fromkeys(ALL_CHECKS, "PASS"), {n: c["reason"] for n, c in checks.items()}
    assert verdict_model.overall(list(checks.values())) == "PASS"


def test_rome_single_controller_passes_when_one_is_expected():
    checks = judge("edac_rome", {**EPYC_8X32, "edac_controllers": 1})
    # The fixture tree has no kernel log: on bare metal that is UNKNOWN, not a pass.
    assert verdicts(checks) == {**dict.fromkeys(ALL_CHECKS, "PASS"), "kernel_log": "UNKNOWN"}, verdicts(checks)


def test_rome_tree_against_naples_expectation_warns_and_says_every_dimm_is_covered():
    check = judge("edac_rome")["edac_controllers"]
    assert check["verdict"] == "WARN"
    assert check["reason"].startswith("expected 4 EDAC controllers, found 1: mc0(F17h_M30h); EDAC covers all 256 GB"), \
        check["reason"]


def test_fewer_controllers_covering_fewer_dimms_fail(tmp_path):
    root = copy_tree(tmp_path, "edac_naples")
    # mc3 gone: its die's two DIMMs (64 GB) are not under EDAC.
    shutil.rmtree(root / "sys/devices/system/edac/mc/mc3")
    check = judge(root)["edac_controllers"]
    assert check["verdict"] == "FAIL", check
    assert "EDAC covers 192 GB of 256 GB" in check["reason"], check["reason"]


def test_ecc_disabled_in_firmware_fails_although_dmi_says_multi_bit_ecc():
    root = MEMORY / "edac_disabled"
    assert dmi.parse_dmidecode((root / "dmidecode.txt").read_text())["arrays"][0]["ecc_type"] == "Multi-bit ECC"
    checks = judge(root)
    assert checks["ecc_active"]["verdict"] == "FAIL", checks["ecc_active"]
    assert "found none" in checks["ecc_active"]["reason"]
    # Without EDAC nothing counts errors: that is not a pass.
    assert checks["uncorrectable_errors"]["verdict"] == "UNKNOWN"
    assert checks["correctable_errors"]["verdict"] == "UNKNOWN"


def test_ecc_mode_none_on_every_rank_fails(tmp_path):
    root = copy_tree(tmp_path, "edac_naples")
    for mode in root.glob("sys/devices/system/edac/mc/mc*/rank*/dimm_edac_mode"):
        mode.write_text("None\n")
    check = judge(root)["ecc_active"]
    assert check["verdict"] == "FAIL" and "found None" in check["reason"], check


def test_vm_skips_every_hardware_check_and_passes_nothing():
    root = MEMORY / "vm_kvm"
    checks = judge(root)
    assert "PASS" not in verdicts(checks).values(), verdicts(checks)
    for name in HARDWARE:
        assert checks[name]["verdict"] == "SKIP", f"{name}: {checks[name]}"
        assert checks[name]["reason"] == "running in kvm (vm): EDAC and DMI are the hypervisor's", checks[name]
    assert verdict_model.overall(list(checks.values())) == "SKIP"


@pytest.mark.parametrize(("log_from", "kernel_log", "uncorrectable"), [
    ("edac_naples", "SKIP", "SKIP"),  # a clean log in a guest proves nothing about the host's DIMMs
    ("ce_rising", "WARN", "SKIP"),  # but machine-check lines are evidence wherever they are seen
    ("ue_nonzero", "WARN", "FAIL"),
])
def test_vm_kernel_log_only_counts_as_evidence_of_trouble(tmp_path, log_from, kernel_log, uncorrectable):
    root = copy_tree(tmp_path, "vm_kvm")
    shutil.copy(MEMORY / log_from / "kernel.log", root / "kernel.log")
    checks = judge(root)
    assert (checks["kernel_log"]["verdict"], checks["uncorrectable_errors"]["verdict"]) == (
        kernel_log, uncorrectable), {n: c["reason"] for n, c in checks.items()}


def test_uncorrectable_error_fails_and_names_the_rank():
    checks = judge("ue_nonzero")
    check = checks["uncorrectable_errors"]
    assert check["verdict"] == "FAIL"
    for part in ("mc0 ue_count=1", "mc0/rank0 mc#0csrow#0channel#0 ue=1", "EDAC MC0: 1 UE"):
        assert part in check["reason"], f"{part!r} not in {check['reason']!r}"
    assert verdict_model.overall(list(checks.values())) == "FAIL"


def test_hardware_corrupted_pages_fail_uncorrectable_errors():
    facts = mod.gather(MEMORY / "edac_naples")
    facts["meminfo"]["hardware_corrupted_kb"] = 4
    check = {c["name"]: c for c in mchecks.evaluate(facts, EPYC_8X32, 10, None)}["uncorrectable_errors"]
    assert check["verdict"] == "FAIL" and "HardwareCorrupted=4 kB" in check["reason"], check


def test_correctable_errors_rising_since_baseline_warn():
    checks = judge("ce_rising")
    check = checks["correctable_errors"]
    assert check["verdict"] == "WARN", check
    assert "mc0 +2 (rank0 mc#0csrow#0channel#0 +2)" in check["reason"], check["reason"]
    assert checks["kernel_log"]["verdict"] == "WARN"
    assert verdict_model.overall(list(checks.values())) == "WARN"


def test_correctable_errors_without_baseline_pass_with_the_count():
    check = judge("ce_rising", use_tree_baseline=False)["correctable_errors"]
    assert check["verdict"] == "PASS" and check["reason"].startswith("3 correctable errors"), check


def test_correctable_errors_at_threshold_fail():
    check = judge("ce_rising", threshold=3)["correctable_errors"]
    assert check["verdict"] == "FAIL", check
    assert check["reason"] == "expected fewer than 3 correctable errors, found 3: mc0/rank0=3", check["reason"]


def test_counts_below_baseline_after_reboot_are_not_a_rise():
    baseline = json.loads((MEMORY / "ce_rising" / BASELINE).read_text())
    check = judge("edac_naples", baseline=baseline)["correctable_errors"]
    assert check["verdict"] == "PASS", check


@pytest.mark.parametrize(("override", "name", "reason"), [
    ({"dimm_count": 10}, "dimm_count",
     "expected 10 DIMMs, found 8: DIMMA1 DIMMB1 DIMMC1 DIMMD1 DIMME1 DIMMF1 DIMMG1 DIMMH1; empty slots: none"),
    ({"memory_gb": 128}, "memory_total", "expected 128 GB of DIMMs, found 256 GB"),
    ({"dimm_size_gb": 16}, "dimm_sizes_equal", "expected every DIMM 16 GB, found DIMMA1=32 GB"),
    ({"speed_mts": 2133}, "dimm_speed", "expected 2133 MT/s on every DIMM, found DIMMA1=3200"),
])
def test_fail_reasons_say_expected_and_found(override, name, reason):
    check = judge("edac_naples", {**EPYC_8X32, **override})[name]
    assert check["verdict"] == "FAIL", check
    assert check["reason"].startswith(reason), f"expected reason to start with {reason!r}, got {check['reason']!r}"


def test_unbuffered_desktop_dimms_fail_registered_ecc(tmp_path):
    root = copy_tree(tmp_path, "edac_naples")
    shutil.copy(DMI / "asrock_z370m_udimm.txt", root / "dmidecode.txt")
    checks = judge(root, {"require_registered_ecc": True})
    check = checks["registered_ecc"]
    assert check["verdict"] == "FAIL", check
    assert "ChannelA-DIMM0=64/64 bits 'Synchronous Unbuffered (Unregistered)'" in check["reason"], check["reason"]
    assert judge(root, {"require_registered_ecc": False})["registered_ecc"]["verdict"] == "SKIP"


def test_no_expectation_skips_with_what_was_found():
    checks = judge("edac_naples", {})
    assert checks["dimm_count"]["verdict"] == "SKIP" and "found 8 DIMMs" in checks["dimm_count"]["reason"]
    assert checks["memory_total"]["verdict"] == "SKIP" and "256 GB" in checks["memory_total"]["reason"]
    assert checks["dimm_sizes_equal"]["verdict"] == "PASS", "equal sizes need no expectation"


def test_missing_dmidecode_is_unknown_for_dmi_checks_and_reports_memtotal(tmp_path):
    root = copy_tree(tmp_path, "edac_naples")
    (root / "dmidecode.txt").unlink()
    checks = judge(root)
    for name in ("memory_total", "dimm_count", "dimm_sizes_equal", "dimm_speed", "registered_ecc"):
        assert checks[name]["verdict"] == "UNKNOWN", f"{name}: {checks[name]}"
    assert "MemTotal is" in checks["memory_total"]["reason"], checks["memory_total"]["reason"]
    assert checks["ecc_active"]["verdict"] == "PASS", "EDAC alone still proves ECC"


@pytest.mark.parametrize(("seen", "verdict"), [
    (["PASS", "SKIP", "WARN"], "WARN"), (["PASS", "FAIL", "WARN"], "FAIL"), (["SKIP", "PASS"], "PASS"),
    (["SKIP", "SKIP"], "SKIP"),
])
def test_overall_verdict_is_the_worst(seen, verdict):
    assert verdict_model.overall([{"verdict": v} for v in seen]) == verdict


# ------------------------------------------------------------------------------------------- live collection ----

class FakeHost:
    """Stands in for module.get_bin_path / module.run_command on the live (root == /) path."""

    def __init__(self, binaries: set[str], results: dict[str, tuple[int, str, str]]):
        self.binaries, self.results, self.calls = binaries, results, []

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.binaries else None

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        return self.results[Path(argv[0]).name]


def test_live_dmidecode_not_installed():
    host = FakeHost(set(), {})
    assert mod.dmidecode_output(Path("/"), host.which, host.run) == (None, "dmidecode is not installed")


def test_live_dmidecode_without_root_gives_the_reason():
    host = FakeHost({"dmidecode"}, {"dmidecode": (1, "", "/sys/firmware/dmi/tables/smbios_entry_point: Permission "
                                                           "denied\n/dev/mem: Permission denied\n")})
    text, reason = mod.dmidecode_output(Path("/"), host.which, host.run)
    assert text is None and "rc=1" in reason and "Permission denied" in reason, reason
    assert host.calls == [["/usr/bin/dmidecode", "-t", "16", "-t", "17"]]


def test_live_detect_virt_exit_1_none_is_bare_metal():
    host = FakeHost({"systemd-detect-virt"}, {"systemd-detect-virt": (1, "none\n", "")})
    assert mod.virtualization(Path("/"), host.which, host.run)["kind"] == "bare_metal"
    assert host.calls == [["/usr/bin/systemd-detect-virt", "--container"], ["/usr/bin/systemd-detect-virt", "--vm"]]


def test_live_kernel_log_falls_back_to_dmesg():
    log = (MEMORY / "ce_rising/kernel.log").read_text()
    host = FakeHost({"journalctl", "dmesg"}, {"journalctl": (1, "", "No journal files were found."),
                                             "dmesg": (0, log, "")})
    text, source = mod.kernel_log_output(Path("/"), host.which, host.run)
    assert (text, source) == (log, "dmesg")


# ------------------------------------------------------------------------------------------- main() -------------

def run_main(monkeypatch, capsys, args: dict, check_mode: bool = False) -> dict:
    code, result = run_module(mod, monkeypatch, capsys, args, check_mode)
    assert code == 0, result
    return result


def test_main_check_mode_does_not_write_the_baseline(tmp_path, monkeypatch, capsys):
    root = copy_tree(tmp_path, "edac_naples")
    result = run_main(monkeypatch, capsys, {"root": str(root), "expected": EPYC_8X32}, check_mode=True)
    assert not (root / BASELINE).exists(), "check mode wrote the baseline"
    assert result["changed"] is True, "check mode reports the baseline it would write"
    assert result["verdict"] == "PASS" and result["ansible_facts"]["memory_health"]["verdict"] == "PASS"
    assert [c["name"] for c in result["checks"]] == ALL_CHECKS


def test_main_writes_the_baseline_once(tmp_path, monkeypatch, capsys):
    root = copy_tree(tmp_path, "edac_naples")
    args = {"root": str(root), "expected": EPYC_8X32}
    first = run_main(monkeypatch, capsys, args)
    stored = json.loads((root / BASELINE).read_text())
    assert first["changed"] is True and first["ansible_facts"]["memory_health"]["baseline"]["written"] is True
    assert stored["controllers"]["mc3"]["dimms"]["rank1"] == {"ce_count": 0, "ue_count": 0}, stored
    assert "time" not in (root / BASELINE).read_text().lower(), "the baseline must carry no timestamp"
    second = run_main(monkeypatch, capsys, args)
    assert second["changed"] is False, second["ansible_facts"]["memory_health"]["baseline"]


def test_main_check_mode_leaves_a_stale_baseline_alone(tmp_path, monkeypatch, capsys):
    root = copy_tree(tmp_path, "ce_rising")
    before = (root / BASELINE).read_bytes()
    result = run_main(monkeypatch, capsys, {"root": str(root), "expected": EPYC_8X32}, check_mode=True)
    assert (root / BASELINE).read_bytes() == before
    assert result["verdict"] == "WARN", result["checks"]


def test_main_update_baseline_false_changes_nothing(tmp_path, monkeypatch, capsys):
    root = copy_tree(tmp_path, "ce_rising")
    before = (root / BASELINE).read_bytes()
    result = run_main(monkeypatch, capsys, {"root": str(root), "update_baseline": False})
    assert result["changed"] is False and (root / BASELINE).read_bytes() == before


def test_main_in_a_vm_writes_no_baseline(tmp_path, monkeypatch, capsys):
    root = copy_tree(tmp_path, "vm_kvm")
    result = run_main(monkeypatch, capsys, {"root": str(root)})
    assert result["changed"] is False and not (root / BASELINE).exists()
    assert result["verdict"] == "SKIP"


def test_expectations_from_templates_are_coerced():
    assert mchecks.normalize_expected({"memory_gb": "128", "require_registered_ecc": "false"}) == {
        "memory_gb": 128, "require_registered_ecc": False}


@pytest.mark.parametrize(("raw", "message"), [
    ({"memory_gb": "lots"}, "expected.memory_gb must be an integer"),
    ({"dimms": 8}, "unknown keys in expected: dimms"),
])
def test_bad_expectations_fail_the_module(tmp_path, monkeypatch, capsys, raw, message):
    code, result = run_module(mod, monkeypatch, capsys, {"root": str(tmp_path), "expected": raw})
    assert code == 1 and message in result["msg"], result
