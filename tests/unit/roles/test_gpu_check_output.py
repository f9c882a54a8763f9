"""roles/cuda_toolkit/files/gpu_check.cu: builds for sm_86/sm_90 and speaks its JSON Lines contract.

Compiled with nvcc when one is installed (skipped otherwise). On a machine without an NVIDIA device node
it must print the SKIP summary and exit 3; where a GPU is present every device must PASS (exit 0).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from glob import glob
from pathlib import Path

import pytest
from conftest import ROOT

SOURCE = ROOT / "roles" / "cuda_toolkit" / "files" / "gpu_check.cu"
GENCODE = [
    "-gencode",
    "arch=compute_86,code=sm_86",
    "-gencode",
    "arch=compute_90,code=sm_90",
    "-gencode",
    "arch=compute_80,code=compute_80",
]


def find_tool(name):
    found = shutil.which(name)
    if found:
        return found
    candidate = Path("/usr/local/cuda/bin") / name
    return str(candidate) if candidate.exists() else None


def has_gpu():
    return bool(glob("/dev/nvidia[0-9]*"))


def run(binary, *args, timeout=120):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, check=False)


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    nvcc = find_tool("nvcc")
    if nvcc is None:
        pytest.skip("nvcc not found on PATH nor in /usr/local/cuda/bin: CUDA toolkit not installed")
    out = tmp_path_factory.mktemp("gpu_check") / "gpu_check"
    cmd = [nvcc, "-O2", "-std=c++14", *GENCODE, "-o", str(out), str(SOURCE)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr}"
    return str(out)


def test_binary_holds_sm86_and_sm90_code(binary):
    cuobjdump = find_tool("cuobjdump") or (str(Path(find_tool("nvcc")).with_name("cuobjdump")))
    if not os.path.exists(cuobjdump):
        pytest.skip("cuobjdump not found next to nvcc nor on PATH")
    listing = subprocess.run([cuobjdump, "--list-elf", binary], capture_output=True, text=True, check=True).stdout
    assert ".sm_86.cubin" in listing, listing
    assert ".sm_90.cubin" in listing, listing


def test_without_gpu_reports_skip_and_exits_3(binary):
    if has_gpu():
        pytest.skip("an NVIDIA device node exists here: see test_with_gpu_every_device_passes")
    for args in ([], ["--stress", "5"], ["--device", "0"]):
        proc = run(binary, *args)
        assert proc.returncode == 3, (args, proc.stdout, proc.stderr)
        lines = events(proc.stdout)
        assert len(lines) == 1, proc.stdout
        summary = lines[0]
        assert summary["event"] == "summary"
        assert summary["verdict"] == "SKIP"
        assert summary["devices"] == 0
        assert summary["reason"].endswith(")") and "(cudaError" in summary["reason"], summary


def test_with_gpu_every_device_passes(binary):
    if not has_gpu():
        pytest.skip("no /dev/nvidia[0-9]* device node: nothing to run on")
    proc = run(binary, "--stress", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = events(proc.stdout)
    kinds = [e["event"] for e in lines]
    n = lines[-1]["devices"]
    assert kinds.count("device") == kinds.count("result") == kinds.count("stress") == n >= 1
    assert all(e["verdict"] == "PASS" for e in lines if e["event"] in ("result", "stress", "summary"))
    assert lines[-1] == {"event": "summary", "mode": "stress", "devices": n, "passed": n, "verdict": "PASS"}


def test_help_exits_0(binary):
    proc = run(binary, "--help")
    assert proc.returncode == 0
    assert "usage: gpu_check" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["--stress"],
        ["--stress", "abc"],
        ["--stress", "0"],
        ["--stress", "-5"],
        ["--device", "x"],
        ["--device", "-1"],
        ["extra"],
    ],
)
def test_usage_errors_exit_2(binary, args):
    proc = run(binary, *args)
    assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "usage: gpu_check" in proc.stderr
