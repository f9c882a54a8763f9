"""gpu_facts and its module_utils: nvidia-smi facts parse from real and built captures; checks judge them truthfully."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import FIXTURES, plugin, run_module

mod = plugin("modules", "gpu_facts")
gpu_checks = plugin("module_utils", "gpu_checks")
smi = plugin("module_utils", "nvidia_smi")
sysfs = plugin("module_utils", "nvidia_sysfs")
verdicts = plugin("module_utils", "verdict")
xid = plugin("module_utils", "xid")
smi_xml = plugin("module_utils", "nvidia_smi_xml")
SMI = FIXTURES / "nvidia_smi"
H200 = SMI / "h200_driver580_smi_qx.xml"
RTX_ON = SMI / "built_rtx3090x4_persistence_on.xml"
RTX_OFF = SMI / "built_rtx3090x4_persistence_off.xml"
RTX_EXPECTED = {
    "gpus_expected": True, "gpu_count": 4, "gpu_model": "RTX 3090", "driver_branch": "580",
    "pcie_gen_max": 3, "power_limit_w": 280,
    "pcie_widths": {"0000:01:00.0": 16, "0000:21:00.0": 16, "0000:41:00.0": 8, "0000:61:00.0": 16},
}
XID_79 = ("Nov 26 15:10:02 node3 kernel: NVRM: Xid (PCI:0000:41:00): 79, pid=1234, name=python, "
          "GPU has fallen off the bus.")
XID_13 = ("[ 5123.456789] NVRM: Xid (PCI:0000:21:00): 13, Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0): "
          "Out Of Range Address")


def capture_body(path: Path) -> str:
    """A .txt capture without its '$ command' first line and '[rc=N]' last line."""
    lines = path.read_text().splitlines()
    assert lines[0].startswith("$ ") and lines[-1].startswith("[rc=")
    return "\n".join(lines[1:-1]) + "\n"


def facts_of(path: Path, kernel_log: str | None = "") -> dict:
    facts = {"available": True, **smi_xml.parse_smi_xml(path.read_text())}
    facts["xid_events"] = None if kernel_log is None else xid.parse_xids(kernel_log, facts["gpus"])
    facts["gpu_lost_events"] = None if kernel_log is None else xid.parse_gpu_lost(kernel_log, facts["gpus"])
    facts["kernel_log"] = "test log" if kernel_log is not None else "kernel log unavailable (test)"
    return facts


def by(checks: list[dict], name: str, gpu: int | None = None) -> dict:
    return next(c for c in checks if c["name"] == name and c["gpu"] == gpu)


# --- the real H200 capture -------------------------------------------------------------------------------------

def test_h200_capture_parses():
    facts = smi_xml.parse_smi_xml(H200.read_text())
    assert facts["driver_version"] == "580.159.04"
    assert facts["cuda_version"] == "13.0"
    [gpu] = facts["gpus"]
    assert gpu["name"] == "NVIDIA H200"
    assert gpu["uuid"] == "GPU-119214e2-98e0-3cf9-d9f2-258b1d24f98f"
    assert gpu["serial"] == "1654024085077"
    assert gpu["bus_id"] == "00000000:00:06.0"
    assert gpu["pci_address"] == "0000:00:06.0"
    assert gpu["architecture"] == "Hopper"
    assert gpu["vbios"] == "96.00.A5.00.1A"
    assert gpu["minor_number"] == 0
    assert gpu["persistence"] is True
    # A Firecracker VM: the host end of the link is not reported, so the reported max stands.
    assert gpu["pcie"] == {"gen_current": 5, "gen_max_gpu": 5, "gen_max_host": None, "gen_max_link": 5,
                           "gen_max": 5, "width_current": 16, "width_max": 16}
    assert gpu["power"]["enforced_w"] == 700.0
    assert gpu["power"]["limit_w"] == 700.0
    assert gpu["power"]["default_w"] == 700.0
    assert (gpu["power"]["min_w"], gpu["power"]["max_w"]) == (200.0, 700.0)
    assert gpu["power"]["draw_w"] == 81.47


def test_h200_ecc_supported_with_zero_errors_and_rows_not_pages():
    [gpu] = smi_xml.parse_smi_xml(H200.read_text())["gpus"]
    ecc = gpu["ecc"]
    assert ecc["supported"] is True and ecc["mode_current"] == "Enabled"
    assert (ecc["volatile_sbe"], ecc["volatile_dbe"], ecc["aggregate_sbe"], ecc["aggregate_dbe"]) == (0, 0, 0, 0)
    assert gpu["retired_pages"]["supported"] is False  # all N/A on Hopper, which remaps rows instead
    assert gpu["remapped_rows"] == {"supported": True, "correctable": 0, "uncorrectable": 0,
                                    "pending": False, "failure": False}


def test_h200_tlimit_temperatures_become_absolute():
    temp = smi_xml.parse_smi_xml(H200.read_text())["gpus"][0]["temperature"]
    # gpu_temp 40 C, 47 C below T.Limit; slowdown at T.Limit -2 (2 C past it), shutdown at -8.
    assert temp["thresholds"] == "tlimit"
    assert (temp["gpu_c"], temp["slowdown_c"], temp["shutdown_c"], temp["max_operating_c"]) == (40, 89, 95, 87)


def test_h200_clock_event_reasons():
    gpu = smi_xml.parse_smi_xml(H200.read_text())["gpus"][0]
    assert gpu["clock_event_reasons"]["gpu_idle"] is True
    assert gpu["clock_event_reasons"]["hw_thermal_slowdown"] is False
    assert gpu["clock_events_active"] == ["gpu_idle"]


def test_h200_truthful_expectations_never_fail():
    expected = {"gpus_expected": True, "gpu_count": 1, "gpu_model": "NVIDIA H200", "driver_branch": "580",
                "driver_version": "580.159.04", "pcie_gen_max": 5, "pcie_widths": ["16"], "power_limit_w": 700,
                "persistence": True}
    checks = gpu_checks.evaluate(facts_of(H200), expected)
    assert [c for c in checks if c["verdict"] == "FAIL"] == []
    assert verdicts.overall(checks) == "PASS"
    assert by(checks, "ecc", 0)["verdict"] == "PASS"
    assert by(checks, "retired_pages", 0)["verdict"] == "SKIP"
    assert by(checks, "remapped_rows", 0)["verdict"] == "PASS"
    assert by(checks, "temperature", 0)["found"]["headroom_c"] == 49


def test_driver_branch_and_kernel_module_mismatch():
    facts = facts_of(H200)
    assert by(gpu_checks.evaluate(facts, {"driver_branch": "570"}), "driver_version")["verdict"] == "FAIL"
    assert by(gpu_checks.evaluate(facts, {"driver_branch": "58"}), "driver_version")["verdict"] == "FAIL"
    facts["kernel_module_version"] = "580.95.05"
    check = by(gpu_checks.evaluate(facts, {"driver_branch": "580"}), "driver_version")
    assert check["verdict"] == "FAIL" and "580.95.05" in check["reason"]


def test_kernel_module_version_from_proc_capture(tmp_path):
    (tmp_path / "proc/driver/nvidia").mkdir(parents=True)
    (tmp_path / "proc/driver/nvidia/version").write_text(capture_body(SMI / "h200_driver580_proc_version.txt"))
    assert sysfs.kernel_module_version(tmp_path) == "580.159.04"
    (tmp_path / "sys/module/nvidia").mkdir(parents=True)
    (tmp_path / "sys/module/nvidia/version").write_text("580.159.04\n")
    assert sysfs.kernel_module_version(tmp_path) == "580.159.04"


# --- built RTX 3090 x4 (Naples, gen 3 host, one x8 slot) ------------------------------------------------------

def test_rtx3090_built_fixture_parses():
    facts = smi_xml.parse_smi_xml(RTX_ON.read_text())
    assert len(facts["gpus"]) == 4
    gpu = facts["gpus"][2]
    assert gpu["name"] == "NVIDIA GeForce RTX 3090" and gpu["architecture"] == "Ampere"
    assert gpu["serial"] is None
    assert gpu["pcie"]["gen_max"] == 3 and gpu["pcie"]["gen_max_gpu"] == 4 and gpu["pcie"]["gen_max_host"] == 3
    assert (gpu["pcie"]["width_current"], gpu["pcie"]["width_max"]) == (8, 16)
    assert gpu["power"] == {"draw_w": 22.1, "average_w": 21.53, "limit_w": 280.0, "enforced_w": 280.0,
                            "default_w": 350.0, "min_w": 100.0, "max_w": 350.0}
    assert gpu["ecc"]["supported"] is False and gpu["ecc"]["aggregate_dbe"] is None
    assert gpu["retired_pages"]["supported"] is False and gpu["remapped_rows"]["supported"] is False
    assert gpu["temperature"]["thresholds"] == "absolute" and gpu["temperature"]["slowdown_c"] == 95


def test_rtx3090_truthful_expectations_pass_and_ecc_is_skip_not_pass():
    checks = gpu_checks.evaluate(facts_of(RTX_ON), RTX_EXPECTED)
    assert [c for c in checks if c["verdict"] == "FAIL"] == []
    assert verdicts.overall(checks) == "PASS"
    for index in range(4):
        for name in ("ecc", "retired_pages", "remapped_rows"):
            assert by(checks, name, index)["verdict"] == "SKIP", name
        assert by(checks, "ecc", index)["reason"] == "ECC not supported on NVIDIA GeForce RTX 3090"
        assert by(checks, "pcie_gen", index)["verdict"] == "PASS"
        assert by(checks, "power_limit", index)["verdict"] == "PASS"


def test_x8_slot_matches_8_and_fails_against_16():
    facts = facts_of(RTX_ON)
    assert by(gpu_checks.evaluate(facts, RTX_EXPECTED), "pcie_width", 2)["verdict"] == "PASS"
    wrong = {**RTX_EXPECTED, "pcie_widths": [16, 16, 16, 16]}
    check = by(gpu_checks.evaluate(facts, wrong), "pcie_width", 2)
    assert check["verdict"] == "FAIL" and (check["expected"], check["found"]) == (16, 8)
    assert "x8" in check["reason"] and "x16" in check["reason"]
    # Without an expectation a link below the GPU's width is a warning, a full link is no news.
    checks = gpu_checks.evaluate(facts, {})
    assert by(checks, "pcie_width", 2)["verdict"] == "WARN"
    assert by(checks, "pcie_width", 0)["verdict"] == "SKIP"


def test_pcie_gen_compares_max_not_idle_current():
    facts = facts_of(RTX_ON)
    assert facts["gpus"][1]["pcie"]["gen_current"] == 1  # idle
    assert by(gpu_checks.evaluate(facts, {"pcie_gen_max": 3}), "pcie_gen", 1)["verdict"] == "PASS"
    assert by(gpu_checks.evaluate(facts, {"pcie_gen_max": 4}), "pcie_gen", 1)["verdict"] == "FAIL"


@pytest.mark.parametrize(("limit", "verdict"), [(280, "PASS"), (280.6, "PASS"), (250, "FAIL"), (None, "SKIP")])
def test_power_limit(limit, verdict):
    check = by(gpu_checks.evaluate(facts_of(RTX_ON), {"power_limit_w": limit}), "power_limit", 0)
    assert check["verdict"] == verdict
    if verdict == "FAIL":
        assert "250.0 W" in check["reason"] and "280.0 W" in check["reason"]


def test_persistence_disabled_fails():
    checks = gpu_checks.evaluate(facts_of(RTX_OFF), RTX_EXPECTED)
    assert {by(checks, "persistence", i)["verdict"] for i in range(4)} == {"FAIL"}
    assert verdicts.overall(checks) == "FAIL"
    assert by(gpu_checks.evaluate(facts_of(RTX_OFF), {"persistence": False}), "persistence", 0)["verdict"] == "PASS"


def test_gpu_model_does_not_match_a_longer_name():
    assert gpu_checks.model_matches("NVIDIA GeForce RTX 3090", "RTX 3090")
    assert gpu_checks.model_matches("NVIDIA GeForce RTX 3090", "nvidia geforce rtx 3090")
    assert not gpu_checks.model_matches("NVIDIA GeForce RTX 3090 Ti", "RTX 3090")
    checks = gpu_checks.evaluate(facts_of(H200), {"gpu_model": "RTX 3090"})
    assert by(checks, "gpu_model", 0)["verdict"] == "FAIL"


def test_gpu_count_mismatch_fails_and_names_gpus_seen_on_pci(tmp_path):
    facts = facts_of(H200)
    for address in ("0000:00:06.0", "0000:00:07.0"):
        dev = tmp_path / "sys/bus/pci/devices" / address
        dev.mkdir(parents=True)
        (dev / "vendor").write_text("0x10de\n")
        (dev / "class").write_text("0x030200\n")
    facts["pci_nvidia_gpus"] = sysfs.nvidia_pci_gpus(tmp_path)
    check = by(gpu_checks.evaluate(facts, {"gpu_count": 2}), "gpu_count")
    assert check["verdict"] == "FAIL" and (check["expected"], check["found"]) == (2, 1)
    assert "2 NVIDIA GPU PCI functions in sysfs" in check["reason"]


@pytest.mark.parametrize(("text", "value"), [
    ("700.00 W", 700.0), ("40 C", 40), ("-2 C", -2), ("16x", 16), ("[N/A]", None), ("N/A", None),
    ("Not Supported", None), (" ", None), (None, None),
])
def test_number(text, value):
    assert smi.number(text) == value and type(smi.number(text)) is type(value)


@pytest.mark.parametrize(("gpu_c", "verdict"), [(60, "PASS"), (90, "WARN"), (95, "FAIL"), (97, "FAIL")])
def test_temperature_margin(gpu_c, verdict):
    facts = facts_of(RTX_ON)
    facts["gpus"][0]["temperature"]["gpu_c"] = gpu_c
    assert by(gpu_checks.evaluate(facts, {}, temperature_margin_c=5), "temperature", 0)["verdict"] == verdict


def test_ecc_uncorrectable_and_pending_remap():
    text = H200.read_text()
    broken = text.replace("<dram_uncorrectable>0</dram_uncorrectable>", "<dram_uncorrectable>2</dram_uncorrectable>")
    pending = text.replace("<remapped_row_pending>No<", "<remapped_row_pending>Yes<")
    failed = text.replace("<remapped_row_failure>No<", "<remapped_row_failure>Yes<")
    assert by(gpu_checks.evaluate(facts_of_text(broken), {}), "ecc", 0)["verdict"] == "FAIL"
    assert by(gpu_checks.evaluate(facts_of_text(pending), {}), "remapped_rows", 0)["verdict"] == "WARN"
    assert by(gpu_checks.evaluate(facts_of_text(failed), {}), "remapped_rows", 0)["verdict"] == "FAIL"


def facts_of_text(text: str) -> dict:
    return {"available": True, **smi_xml.parse_smi_xml(text), "xid_events": [], "gpu_lost_events": [],
            "kernel_log": "test"}


def test_older_driver_names_parse():
    """Drivers before the 5xx renames: power_readings/enforced_power_limit, clocks_throttle_reasons, bit ECC."""
    text = """<?xml version="1.0" ?>
<nvidia_smi_log><driver_version>470.256.02</driver_version><cuda_version>11.4</cuda_version>
<gpu id="00000000:41:00.0"><product_name>NVIDIA GeForce RTX 3090</product_name>
<persistence_mode>Disabled</persistence_mode><pci><pci_bus_id>00000000:41:00.0</pci_bus_id>
<pci_gpu_link_info><pcie_gen><max_link_gen>3</max_link_gen><current_link_gen>1</current_link_gen></pcie_gen>
<link_widths><max_link_width>16x</max_link_width><current_link_width>8x</current_link_width></link_widths>
</pci_gpu_link_info></pci>
<clocks_throttle_reasons><clocks_throttle_reason_gpu_idle>Active</clocks_throttle_reason_gpu_idle>
<clocks_throttle_reason_hw_thermal_slowdown>Active</clocks_throttle_reason_hw_thermal_slowdown>
</clocks_throttle_reasons>
<ecc_mode><current_ecc>Enabled</current_ecc><pending_ecc>Enabled</pending_ecc></ecc_mode>
<ecc_errors><volatile><single_bit><total>3</total></single_bit><double_bit><total>0</total></double_bit></volatile>
<aggregate><single_bit><total>7</total></single_bit><double_bit><total>1</total></double_bit></aggregate></ecc_errors>
<retired_pages><multiple_single_bit_retirement><retired_count>0</retired_count></multiple_single_bit_retirement>
<double_bit_retirement><retired_count>1</retired_count></double_bit_retirement>
<pending_blacklist>Yes</pending_blacklist></retired_pages>
<temperature><gpu_temp>50 C</gpu_temp><gpu_temp_slow_threshold>[N/A]</gpu_temp_slow_threshold></temperature>
<power_readings><power_draw>120.5 W</power_draw><power_limit>280.00 W</power_limit>
<enforced_power_limit>280.00 W</enforced_power_limit><min_power_limit>Not Supported</min_power_limit>
</power_readings></gpu></nvidia_smi_log>"""
    [gpu] = smi_xml.parse_smi_xml(text)["gpus"]
    assert gpu["power"]["enforced_w"] == 280.0 and gpu["power"]["draw_w"] == 120.5 and gpu["power"]["min_w"] is None
    assert gpu["pcie"]["gen_max"] == 3 and gpu["pcie"]["gen_max_gpu"] is None
    assert gpu["clock_events_active"] == ["gpu_idle", "hw_thermal_slowdown"]
    assert (gpu["ecc"]["aggregate_sbe"], gpu["ecc"]["aggregate_dbe"]) == (7, 1)
    assert gpu["retired_pages"] == {"supported": True, "sbe": 0, "dbe": 1, "pending": True}
    assert gpu["temperature"]["slowdown_c"] is None and gpu["temperature"]["thresholds"] is None
    checks = gpu_checks.evaluate(facts_of_text(text), {"power_limit_w": 280, "persistence": False})
    assert by(checks, "ecc", 0)["verdict"] == "FAIL"
    assert by(checks, "retired_pages", 0)["verdict"] == "WARN"
    assert by(checks, "clock_events", 0)["verdict"] == "WARN"
    assert by(checks, "temperature", 0)["verdict"] == "SKIP"
    assert by(checks, "power_limit", 0)["verdict"] == "PASS"


# --- Xid ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("log", "verdict"), [
    (f"some line\n{XID_79}\n", "FAIL"),
    (f"{XID_13}\n", "WARN"),
    ("Nov 26 15:00:00 node3 kernel: nvidia-nvlink: Nvlink Core is being initialized\n", "PASS"),
])
def test_xid_verdicts(log, verdict):
    check = by(gpu_checks.evaluate(facts_of(RTX_ON, log), RTX_EXPECTED), "xid")
    assert check["verdict"] == verdict


def test_xid_lines_parse_and_map_to_gpus():
    gpus = smi_xml.parse_smi_xml(RTX_ON.read_text())["gpus"]
    events = xid.parse_xids(f"{XID_79}\n{XID_13}\n", gpus)
    assert events == [
        {"bus_id": "0000:41:00", "gpu": 2, "xid": 79, "text": "pid=1234, name=python, GPU has fallen off the bus.",
         "action": "reboot"},
        {"bus_id": "0000:21:00", "gpu": 1, "xid": 13,
         "text": "Graphics SM Warp Exception on (GPC 0, TPC 0, SM 0): Out Of Range Address", "action": "restart_app"},
    ]


def test_xid_unknown_when_log_unavailable_on_the_gpus_host_and_skip_in_a_container():
    assert by(gpu_checks.evaluate(facts_of(RTX_ON, None), RTX_EXPECTED), "xid")["verdict"] == "UNKNOWN"
    env = {"container": "podman", "vm": None}
    assert by(gpu_checks.evaluate(facts_of(RTX_ON, None), RTX_EXPECTED, env=env), "xid")["verdict"] == "SKIP"


# --- no driver ------------------------------------------------------------------------------------------------

NO_DRIVER = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
             "Make sure that the latest NVIDIA driver is installed and running.")


def unavailable(reason: str = NO_DRIVER) -> dict:
    return {"available": False, "reason": f"nvidia-smi failed (rc=9): {reason}", "gpus": [], "xid_events": None}


@pytest.mark.parametrize("expected", [{}, {"gpus_expected": False, "gpu_count": 4}])
def test_no_driver_and_no_gpus_expected_is_all_skip(expected):
    checks = gpu_checks.evaluate(unavailable(), expected, env={"container": None, "vm": None, "nvidia_pci_gpus": None})
    assert {c["verdict"] for c in checks} == {"SKIP"}
    assert {c["name"] for c in checks} == set(gpu_checks.CHECK_NAMES)
    assert all("couldn't communicate with the NVIDIA driver" in c["reason"] for c in checks)
    assert verdicts.overall(checks) == "SKIP"


def test_no_driver_with_gpus_expected_fails():
    env = {"container": None, "vm": None, "nvidia_pci_gpus": ["0000:01:00.0", "0000:21:00.0"]}
    checks = gpu_checks.evaluate(unavailable(), {"gpus_expected": True, "gpu_count": 4}, env=env)
    check = by(checks, "gpu_count")
    assert check["verdict"] == "FAIL"
    assert check["reason"].startswith("inventory says this node has 4, nvidia-smi failed")
    assert "2 NVIDIA GPU PCI functions" in check["reason"]
    assert verdicts.overall(checks) == "FAIL"
    assert by(checks, "xid")["verdict"] == "UNKNOWN"
    facts = {**unavailable(), "xid_events": xid.parse_xids(XID_79), "kernel_log": "test log"}
    checks = gpu_checks.evaluate(facts, {"gpus_expected": True}, env=env)
    assert by(checks, "xid")["verdict"] == "FAIL"
    assert by(checks, "gpu_count")["reason"].startswith("inventory says this node has GPUs, nvidia-smi failed")


@pytest.mark.parametrize("env", [
    {"container": "run/.containerenv", "vm": None, "nvidia_pci_gpus": None},
    {"container": None, "vm": "kvm", "nvidia_pci_gpus": []},
])
def test_no_driver_in_container_or_gpu_less_vm_is_skip_even_when_expected(env):
    checks = gpu_checks.evaluate(unavailable(), {"gpus_expected": True, "gpu_count": 4}, env=env)
    assert verdicts.overall(checks) == "SKIP"


def test_container_markers_under_root(tmp_path):
    assert mod.environment(tmp_path)["container"] is None
    (tmp_path / ".dockerenv").touch()
    env = mod.environment(tmp_path)
    assert env["container"] == "docker"
    assert env["virtualization"]["source"] == "/.dockerenv"


def test_a_vm_without_systemd_is_seen_by_its_cpu_flag(tmp_path):
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nflags\t\t: fpu vme de pse hypervisor lahf_lm\n")
    env = mod.environment(tmp_path)
    assert env["vm"] == "vm-other" and env["container"] is None, env


# --- nvidia-smi --query-gpu -----------------------------------------------------------------------------------

def test_known_query_fields_from_real_help():
    fields = smi.known_query_fields(capture_body(SMI / "h200_driver580_smi_help_query.txt"))
    assert {"power.limit", "pcie.link.gen.max", "pcie.link.gen.hostmax", "enforced.power.limit",
            "clocks_throttle_reasons.active", "gpu_name", "retired_pages.pending"} <= fields
    assert "pcie.link.gen.warp_speed" not in fields
    assert "Enabled" not in fields  # quoted words inside descriptions are not fields


@pytest.mark.parametrize("name", ["h200_driver580_smi_query_all_nounits.txt", "h200_driver580_smi_query_all.txt"])
def test_parse_query_csv_on_real_capture(name):
    path = SMI / name
    command = path.read_text().splitlines()[0]
    fields = command.split("--query-gpu=")[1].split()[0].split(",")
    [row] = smi.parse_query_csv(capture_body(path), fields)
    assert row["name"] == "NVIDIA H200"
    assert row["pci.bus_id"] == "00000000:00:06.0"
    assert row["pcie.link.gen.hostmax"] is None  # [N/A]
    assert row["pcie.link.width.max"] == 16
    assert row["driver_version"] == "580.159.04"
    if "nounits" in name:
        assert row["power.limit"] == 700.0 and row["pcie.link.gen.max"] == 5
    else:
        assert row["power.limit"] == "700.00 W"


def test_parse_query_csv_rejects_short_rows():
    with pytest.raises(ValueError, match="expected 2 values"):
        smi.parse_query_csv("NVIDIA H200\n", ["name", "uuid"])


# --- main() through AnsibleModule -----------------------------------------------------------------------------

def run_main(monkeypatch, capsys, args: dict) -> dict:
    return run_module(mod, monkeypatch, capsys, args)[1]


def test_main_with_xml_file(monkeypatch, capsys, tmp_path):
    pci = tmp_path / "sys/bus/pci/devices/0000:41:00.0"
    pci.mkdir(parents=True)
    (pci / "numa_node").write_text("2\n")
    log = tmp_path / "kern.log"
    log.write_text(XID_13 + "\n")
    result = run_main(monkeypatch, capsys, {
        "xml_file": str(RTX_ON), "root": str(tmp_path), "kernel_log_file": str(log), "expected": RTX_EXPECTED,
        "_ansible_check_mode": True,
    })
    health = result["ansible_facts"]["gpu_health"]
    assert result["changed"] is False and not result.get("failed")
    assert health["available"] is True and health["driver_version"] == "580.159.04"
    assert [g["numa_node"] for g in health["gpus"]] == [None, None, 2, None]
    assert health["xid_events"][0]["xid"] == 13
    assert result["verdict"] == health["verdict"] == "WARN"
    assert by(result["checks"], "xid")["verdict"] == "WARN"


def test_main_without_nvidia_smi(monkeypatch, capsys, tmp_path):
    args = {"nvidia_smi": str(tmp_path / "no-such-nvidia-smi"), "root": str(tmp_path),
            "kernel_log_file": str(tmp_path / "missing.log")}
    result = run_main(monkeypatch, capsys, {**args, "expected": {"gpus_expected": False}})
    health = result["ansible_facts"]["gpu_health"]
    assert health["available"] is False and "not installed" in health["reason"]
    assert result["verdict"] == "SKIP"
    result = run_main(monkeypatch, capsys, {**args, "expected": {"gpus_expected": True, "gpu_count": 4}})
    assert result["verdict"] == "FAIL"
    assert by(result["checks"], "gpu_count")["reason"].startswith("inventory says this node has 4, nvidia-smi")
