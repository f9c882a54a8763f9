"""GPU events in real kernel logs (tests/fixtures/kernel_logs/README.md names each origin): Xids judged by
NVIDIA's catalog, Xid 154's recovery action, and GPUs lost without any Xid line."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

xid = plugin("module_utils", "xid")
catalog = plugin("module_utils", "xid_catalog")
events = plugin("module_utils", "gpu_event_checks")
LOGS = FIXTURES / "kernel_logs" / "nvidia"
BARE_METAL = {"container": None, "vm": None}


def log(name: str) -> str:
    return (LOGS / name).read_text()


def judge(text: str, gpus: list | None = None) -> dict[str, dict]:
    facts = {"xid_events": xid.parse_xids(text, gpus), "gpu_lost_events": xid.parse_gpu_lost(text, gpus),
             "kernel_log": "test log"}
    return {"xid": events.check_xids(facts, BARE_METAL), "gpu_lost": events.check_gpu_lost(facts, BARE_METAL)}


@pytest.mark.parametrize(("name", "bus"), [
    ("fallen_off_bus_no_xid_h100_nolebase.log", "0000:5d:00.0"),
    ("fallen_off_bus_no_xid_h100_nvsentinel155.log", "0000:b3:00.0"),
])
def test_a_gpu_fallen_off_the_bus_without_an_xid_fails(name, bus):
    checks = judge(log(name))
    assert checks["xid"]["verdict"] == "PASS"  # there is no Xid line: the old check stopped here with PASS
    lost = checks["gpu_lost"]
    assert lost["verdict"] == "FAIL", lost
    assert f"fallen off the bus on {bus}" in lost["reason"], lost["reason"]


@pytest.mark.parametrize(("name", "kind"), [
    ("gpu_lost_NV_ERR_GPU_IS_LOST_dgx_station_a100_issue688.log", "GPU lost"),
    ("rminitadapter_failed_cmp40hx_issue4.log", "RmInitAdapter failed"),
    ("not_supported_by_driver_release_bam38.log", "not supported by this driver"),
])
def test_gpus_lost_or_never_initialised_fail(name, kind):
    lost = judge(log(name))["gpu_lost"]
    assert lost["verdict"] == "FAIL" and kind in lost["reason"], lost


def test_the_three_line_probe_message_is_one_message_with_its_bus_id():
    found = xid.parse_gpu_lost(log("fallen_off_bus_no_xid_h100_nolebase.log"))
    assert found[0]["bus_id"] == "0000:5d:00.0"
    assert found[0]["text"].startswith("NVRM: The NVIDIA GPU 0000:5d:00.0 (PCI ID: 10de:2330) installed in this "
                                       "system has fallen off the bus")


@pytest.mark.parametrize("name", ["xid154_gsp_heartbeat_rtx5080_issue1200.log", "xid154_after_xid62_rtx5080_forum.log",
                                  "xid154_gsp_rpc_timeout_issue446.log"])
def test_xid_154_to_gpu_reset_required_fails(name):
    found = [e for e in xid.parse_xids(log(name)) if e["xid"] == 154]
    assert found and found[0]["action"] == "reset_gpu", found
    assert judge(log(name))["xid"]["verdict"] == "FAIL"


@pytest.mark.parametrize(("line", "action"), [
    ("NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x1 (GPU Reset Required) to 0x0 (None)",
     "none"),
    ("NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x0 (None) to 0x2 (Node Reboot Required)",
     "reboot"),
    ("NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x0 (None) to 0x4 (Drain and Reset)",
     "drain_and_reset"),
    ("NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed", "reset_gpu"),
])
def test_xid_154_takes_the_action_its_line_names(line, action):
    # Built from the real line's format (above) with the other NVML recovery actions; the last has no action.
    assert xid.parse_xids(line)[0]["action"] == action


def test_xid_154_back_to_none_alone_is_a_warning():
    line = "NVRM: Xid (PCI:0000:01:00): 154, GPU recovery action changed from 0x1 (GPU Reset Required) to 0x0 (None)"
    assert judge(line)["xid"]["verdict"] == "WARN"


def test_application_xids_warn_and_name_nvidias_action():
    # Xid 43, 31, 94: the catalog says restart the application (or ignore), not reset the GPU.
    check = judge(log("xid43_31_94_gpu_at_pci_akash244.log"))["xid"]
    assert check["verdict"] == "WARN", check
    assert "Xid 94" in check["reason"] and "restart app" in check["reason"], check["reason"]


@pytest.mark.parametrize(("name", "code"), [("xid79_rtx5090_issue1151.log", 79),
                                            ("xid119_gsp_rpc_timeout_h100_gpud_testdata.log", 119)])
def test_xids_that_need_a_reset_or_reboot_fail(name, code):
    check = judge(log(name))["xid"]
    assert check["verdict"] == "FAIL" and f"Xid {code}" in check["reason"], check


def test_xid_79_also_reports_the_gpu_fallen_off_the_bus():
    assert judge(log("xid79_rtx5090_issue1151.log"))["gpu_lost"]["verdict"] == "FAIL"


@pytest.mark.parametrize(("code", "action"), [(13, "restart_app"), (48, "reset_gpu"), (63, "ignore"), (64, "reset_gpu"),
                                              (79, "reboot"), (92, "ignore"), (94, "restart_app"), (95, "reset_gpu"),
                                              (119, "reset_gpu"), (154, "recovery_action"), (999, "unknown")])
def test_catalog_actions(code, action):
    assert catalog.action_of(code) == action


def test_an_unknown_xid_warns():
    assert judge("NVRM: Xid (PCI:0000:01:00): 999, something new")["xid"]["verdict"] == "WARN"


def test_without_a_kernel_log_it_is_unknown_on_the_host_and_skip_in_a_container():
    facts = {"xid_events": None, "gpu_lost_events": None, "kernel_log": "kernel log unavailable (dmesg: denied)"}
    assert events.check_gpu_lost(facts, BARE_METAL)["verdict"] == "UNKNOWN"
    assert events.check_gpu_lost(facts, {"container": "podman", "vm": None})["verdict"] == "SKIP"
