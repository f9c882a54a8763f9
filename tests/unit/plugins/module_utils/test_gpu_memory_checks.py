"""GPU memory errors by NVIDIA's guidance, on real nvidia-smi -q -x outputs of DTD v12 and v13
(tests/fixtures/nvidia_smi/README.md names each origin); the error counts of the built variants are set by
each test on top of a real file."""

from __future__ import annotations

import copy

import pytest
from conftest import FIXTURES, plugin

smi_xml = plugin("module_utils", "nvidia_smi_xml")
memory = plugin("module_utils", "gpu_memory_checks")
events = plugin("module_utils", "gpu_event_checks")
gpu_checks = plugin("module_utils", "gpu_checks")
SMI = FIXTURES / "nvidia_smi"


def gpus(name: str) -> list[dict]:
    return smi_xml.parse_smi_xml((SMI / name).read_text())["gpus"]


@pytest.mark.parametrize("name", ["telegraf_rtx3090_v12.xml", "telegraf_rtx3090_v13.xml"])
def test_rtx3090_of_both_schema_versions_has_no_gpu_memory_errors_to_judge(name):
    gpu = gpus(name)[0]
    assert gpu["name"] == "NVIDIA GeForce RTX 3090"
    for check in (memory.check_ecc(gpu), memory.check_retired(gpu), memory.check_remapped(gpu)):
        assert check["verdict"] == "SKIP", check


def test_the_a100_of_dtd_v12_passes_its_memory_checks():
    found = gpus("telegraf_a100_sxm4_v12.xml")
    assert found and found[0]["name"] == "NVIDIA A100-SXM4-80GB"
    for gpu in found:
        assert memory.check_ecc(gpu)["verdict"] == "PASS", memory.check_ecc(gpu)


def test_dtd_v13_reports_the_recovery_action():
    gpu = gpus("telegraf_pro6000_blackwell_v13.xml")[0]
    assert gpu["recovery_action"] == "None"
    assert events.check_recovery_action(gpu)["verdict"] == "PASS"
    assert events.check_recovery_action({**gpu, "recovery_action": "GPU Reset"})["verdict"] == "FAIL"
    assert events.check_recovery_action(gpus("telegraf_rtx3090_v12.xml")[0])["verdict"] == "SKIP"


def test_blackwell_remapped_rows_read_and_pass():
    gpu = gpus("telegraf_pro6000_blackwell_v13.xml")[0]
    assert gpu["remapped_rows"]["supported"] and gpu["remapped_rows"]["uncorrectable"] == 0
    assert memory.check_remapped(gpu)["verdict"] == "PASS"


def variant(name: str, section: str, **values: object) -> dict:
    gpu = copy.deepcopy(gpus(name)[0])
    gpu[section].update(values)
    return gpu


@pytest.mark.parametrize(("values", "verdict"), [
    ({"pending": True}, "WARN"), ({"failure": True}, "FAIL"), ({"uncorrectable": 512}, "FAIL"),
    ({"uncorrectable": 7, "correctable": 40}, "PASS"),
])
def test_row_remapping_by_nvidias_rules(values, verdict):
    gpu = variant("telegraf_pro6000_blackwell_v13.xml", "remapped_rows", **values)
    assert memory.check_remapped(gpu)["verdict"] == verdict


@pytest.mark.parametrize(("values", "verdict"), [
    ({"volatile_sbe": 350}, "WARN"), ({"volatile_sbe": 12}, "PASS"), ({"volatile_dbe": 1}, "FAIL"),
    ({"threshold_exceeded": True}, "FAIL"), ({"repair_pending": True}, "WARN"),
])
def test_ecc_errors_of_a_data_centre_gpu(values, verdict):
    # Hundreds of correctable errors since the last reset once passed.
    gpu = variant("telegraf_a100_sxm4_v12.xml", "ecc", **values)
    assert memory.check_ecc(gpu, correctable_warn=100)["verdict"] == verdict


@pytest.mark.parametrize(("values", "verdict"), [
    ({"supported": True, "sbe": 30, "dbe": 34, "pending": False}, "FAIL"),
    ({"supported": True, "sbe": 2, "dbe": 0, "pending": True}, "WARN"),
    ({"supported": True, "sbe": 1, "dbe": 0, "pending": False}, "PASS"),
])
def test_page_retirement_limits(values, verdict):
    gpu = variant("telegraf_a100_sxm4_v12.xml", "retired_pages", **values)
    assert memory.check_retired(gpu)["verdict"] == verdict


def test_every_gpu_check_name_is_reported_for_a_real_a100():
    facts = {"available": True, **smi_xml.parse_smi_xml((SMI / "telegraf_a100_sxm4_v12.xml").read_text()),
             "xid_events": [], "gpu_lost_events": [], "kernel_log": "test"}
    names = {c["name"] for c in gpu_checks.evaluate(facts, {"gpus_expected": True, "gpu_count": 1})}
    assert names == set(gpu_checks.CHECK_NAMES)


EMPTY_GPU = ('<?xml version="1.0" ?><nvidia_smi_log><driver_version>580.95.05</driver_version>'
             '<gpu id="00000000:01:00.0"></gpu></nvidia_smi_log>')
FULL_EXPECTATIONS = {"gpus_expected": True, "gpu_count": 1, "gpu_model": "NVIDIA GeForce RTX 3090",
                     "driver_branch": "580", "pcie_gen_max": 3, "pcie_widths": [16], "power_limit_w": 280}


@pytest.mark.parametrize("name", [n for n in gpu_checks.CHECK_NAMES if n not in ("gpu_count", "driver_version")])
def test_no_gpu_check_passes_on_a_gpu_that_reports_nothing(name):
    # A <gpu> element with no values at all (built): every per-GPU check must say it could not see.
    facts = {"available": True, **smi_xml.parse_smi_xml(EMPTY_GPU), "xid_events": None, "gpu_lost_events": None,
             "kernel_log": "kernel log unavailable (test)"}
    found = [c for c in gpu_checks.evaluate(facts, FULL_EXPECTATIONS, env={"container": None, "vm": None})
             if c["name"] == name]
    assert found and all(c["verdict"] != "PASS" for c in found), found


@pytest.mark.parametrize("name", gpu_checks.CHECK_NAMES)
def test_no_gpu_check_passes_when_nvidia_smi_fails_on_a_gpu_node(name):
    facts = {"available": False, "reason": "nvidia-smi failed (rc=9): NVIDIA-SMI has failed because it couldn't "
             "communicate with the NVIDIA driver.", "gpus": [], "xid_events": None, "gpu_lost_events": None,
             "kernel_log": "kernel log unavailable (test)"}
    env = {"container": None, "vm": None, "nvidia_pci_gpus": ["0000:01:00.0"]}
    found = [c for c in gpu_checks.evaluate(facts, FULL_EXPECTATIONS, env=env) if c["name"] == name]
    assert found and all(c["verdict"] in ("FAIL", "UNKNOWN") for c in found), found


def test_ecc_on_without_any_uncorrectable_count_is_unknown():
    gpu = variant("telegraf_a100_sxm4_v12.xml", "ecc", volatile_dbe=None, aggregate_dbe=None)
    assert memory.check_ecc(gpu)["verdict"] == "UNKNOWN"


def test_partly_reported_retirement_and_remapping_are_unknown():
    retired = variant("telegraf_a100_sxm4_v12.xml", "retired_pages", supported=True, sbe=None, dbe=None,
                      pending=False)
    remapped = variant("telegraf_pro6000_blackwell_v13.xml", "remapped_rows", uncorrectable=None)
    assert memory.check_retired(retired)["verdict"] == "UNKNOWN"
    assert memory.check_remapped(remapped)["verdict"] == "UNKNOWN"
