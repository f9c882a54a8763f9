"""nvidia_reboot_refusal: the reboot guard decides from nvidia-smi's real failure texts and from /proc."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

nd = plugin("filter", "nvidia_driver")
FAILURES = FIXTURES / "nvidia_smi" / "failures"
MISMATCH = (FAILURES / "version_mismatch_rc18.txt").read_text()
NO_DRIVER = (FAILURES / "no_driver_rc9.txt").read_text()
IDLE = {"verdict": "idle", "reasons": []}
BUSY = {"verdict": "busy", "reasons": ["python3 (pid 4242) holds /dev/nvidia0, /dev/nvidiactl, /dev/nvidia-uvm"]}
BLIND = {"verdict": "unknown", "reasons": ["the open files of 3 processes could not be read (run as root)"]}
NO_APPS = {"rc": 0, "stdout": "", "stderr": ""}
MISSING = {"rc": 2, "msg": "[Errno 2] No such file or directory: b'nvidia-smi'", "stdout": "", "stderr": ""}


def refusal(work, apps, **kw):
    return nd.reboot_refusal(work, apps, **{"reboot": True, "force": False, **kw})


def test_an_idle_node_may_reboot():
    assert refusal(IDLE, NO_APPS) == ""


def test_a_version_mismatch_is_not_read_as_a_running_process():
    # After an upgrade the new libraries meet the old module: nvidia-smi prints these two lines, rc 18.
    apps = {"rc": 18, "stdout": MISMATCH, "stderr": ""}
    assert refusal(IDLE, apps) == ""  # /proc shows nobody holding the devices
    refused = refusal(BUSY, apps)
    assert refused.startswith("GPU work is running: python3 (pid 4242) holds /dev/nvidia0")
    assert "Driver/library version mismatch" in refused and "535.161" not in refused.split("(")[0]


@pytest.mark.parametrize("apps", [{"rc": 9, "stdout": NO_DRIVER, "stderr": ""}, MISSING,
                                  {"rc": 255, "stdout": "", "stderr": "Unknown Error"}])
def test_when_nvidia_smi_cannot_answer_proc_decides(apps):
    assert refusal(IDLE, apps) == ""
    assert refusal(BUSY, apps).startswith("GPU work is running")
    blind = refusal(BLIND, apps)
    assert blind.startswith("GPU jobs cannot be ruled out: the open files of 3 processes could not be read")


def test_compute_processes_nvidia_smi_lists_refuse_even_when_proc_missed_them():
    apps = {"rc": 0, "stdout": "4242, python3, 20480 MiB\n", "stderr": ""}
    assert refusal(IDLE, apps).startswith("GPU work is running: nvidia-smi lists compute process 4242, python3")


def test_a_guard_that_did_not_run_refuses():
    assert refusal({}, NO_APPS).startswith("GPU jobs cannot be ruled out")


def test_force_local_connections_and_reboot_off():
    assert refusal(BUSY, NO_APPS, force=True) == ""
    assert refusal(IDLE, NO_APPS, reboot=False) == "nvidia_driver_reboot is false"
    assert "local connection" in refusal(IDLE, NO_APPS, connection="local", force=True)


# ------------------------------------------------------------------------------------ reboot_reason -------------

# What modprobe prints on a fresh node whose GPUs nouveau holds (the module is refused by the device).
MODPROBE_FAILED = {"rc": 1, "stderr": "modprobe: ERROR: could not insert 'nvidia': No such device\n"}


def test_a_fresh_install_with_no_module_loaded_needs_a_reboot():
    reason = nd.reboot_reason("580.95.05", "", in_container=False, modprobe=MODPROBE_FAILED)
    assert reason == ("no NVIDIA module could be loaded (modprobe: modprobe: ERROR: could not insert 'nvidia': "
                      "No such device); nouveau may hold the GPUs until a reboot")


def test_an_upgrade_under_the_old_module_needs_a_reboot_and_a_match_does_not():
    assert nd.reboot_reason("580.95.05", "570.172.08", in_container=False) == (
        "NVIDIA module 570.172.08 is loaded, 580.95.05 is installed")
    assert nd.reboot_reason("580.95.05", "580.95.05", in_container=False) == ""


def test_containers_never_need_one_and_a_queued_key_does():
    assert nd.reboot_reason("580.95.05", "", in_container=True, modprobe=MODPROBE_FAILED) == ""
    assert "queued for enrolment" in nd.reboot_reason("580.95.05", "580.95.05", in_container=False, key_queued=True)
