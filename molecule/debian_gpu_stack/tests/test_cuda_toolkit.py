"""cuda_toolkit with Debian's real toolkit: nvcc on PATH, the check compiled for sm_86, SKIP without a GPU."""

from __future__ import annotations

import json

import pytest

RELEASE = {"12": "11.8", "13": "12.4"}


@pytest.fixture
def cuda_version(host) -> str:
    return RELEASE[host.system_info.release.split(".")[0]]


def test_nvcc_is_on_path_in_a_login_shell(host, cuda_version):
    out = host.run("bash -lc 'command -v nvcc && nvcc --version'")
    assert out.rc == 0, out.stderr
    assert f"release {cuda_version}" in out.stdout, out.stdout


def test_the_check_binary_holds_device_code_for_the_rigs_sm_86(host):
    binary = host.file("/usr/local/bin/gpu-check")
    assert binary.is_symlink
    elf = host.run("cuobjdump --list-elf /usr/local/bin/gpu-check")
    assert elf.rc == 0, elf.stderr
    assert "sm_86" in elf.stdout, elf.stdout


def test_without_a_gpu_the_check_says_skip_never_pass(host):
    run = host.run("/usr/local/bin/gpu-check")
    assert run.rc == 3, f"exit {run.rc}, expected 3 (SKIP): {run.stdout}{run.stderr}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["verdict"] == "SKIP" and summary["devices"] == 0 and summary["reason"], summary


def test_the_check_source_is_the_projects(host):
    source = host.file("/usr/local/share/gpu-rig/gpu_check.cu")
    assert source.exists and source.mode == 0o644
    assert "gpu_check" in source.content_string


def test_a_driver_device_without_a_usable_gpu_is_a_fail_not_a_skip(host):
    # TEST FIXTURE: a plain file stands in for the driver's control node (no GPU here). With it present,
    # CUDA not finding a GPU is a fault (a driver/library mismatch, a GPU off the bus), not a SKIP.
    host.run("touch /dev/nvidiactl")
    try:
        run = host.run("/usr/local/bin/gpu-check")
    finally:
        host.run("rm -f /dev/nvidiactl")
    assert run.rc == 1, f"exit {run.rc}, expected 1 (FAIL): {run.stdout}{run.stderr}"
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["verdict"] == "FAIL" and "/dev/nvidiactl exists" in summary["reason"], summary
