"""cuda_toolkit from the CUDA repository (stand-ins): side by side, default switched to 12.8."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("version", ["12.8", "12.9"])
def test_both_toolkits_are_installed_side_by_side(host, version):
    assert host.package(f"cuda-toolkit-{version.replace('.', '-')}").is_installed
    assert host.file(f"/usr/local/cuda-{version}/bin/nvcc").exists


def test_the_driver_pulling_meta_package_is_not_installed(host):
    assert not host.package("cuda").is_installed


def test_alternatives_point_usr_local_cuda_at_the_new_default(host):
    assert host.file("/usr/local/cuda").linked_to == "/usr/local/cuda-12.8"
    display = host.run("update-alternatives --display cuda").stdout
    assert "link currently points to /usr/local/cuda-12.8" in display, display
    assert "/usr/local/cuda-12.9" in display, "12.9 should stay registered as an alternative"


def test_a_login_shell_finds_the_default_nvcc(host):
    out = host.run("bash -lc 'command -v nvcc; nvcc --version'")
    assert out.rc == 0, out.stderr
    assert out.stdout.splitlines()[0] == "/usr/local/cuda/bin/nvcc"
    assert "release 12.8" in out.stdout


def test_the_library_path_reaches_the_default_toolkit(host):
    conf = host.file("/etc/ld.so.conf.d/gpu-rig-cuda.conf")
    assert conf.exists and "/usr/local/cuda/lib64\n" in conf.content_string
    assert host.file("/etc/profile.d/cuda.sh").mode == 0o644
