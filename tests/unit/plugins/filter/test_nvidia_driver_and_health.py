"""The collection's filters: apt version listings, check lines, error totals, every name registered."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

driver = plugin("filter", "nvidia_driver")
health = plugin("filter", "health")

# Captured in a Debian 12 container with contrib/non-free and bookworm-backports (2026-11-26).
MADISON = (FIXTURES / "apt" / "debian12_madison_nvidia-driver.txt").read_text()


@pytest.mark.parametrize(("pattern", "expected"), [
    ("535.*", ["535.309.01-0+deb12u1", "535.261.03-1", "535.216.03-2~bpo12+1"]),
    ("550.*", []),
    ("535.261.03-1", ["535.261.03-1"]),
])
def test_madison_versions_in_a_branch(pattern, expected):
    assert driver.madison_in_branch(MADISON, pattern) == expected


@pytest.mark.parametrize(("version", "upstream"), [
    ("580.95.05-1", "580.95.05"), ("1:535.247.01-1~deb12u1", "535.247.01"), ("", ""), (None, ""),
])
def test_upstream_version(version, upstream):
    assert driver.upstream_version(version) == upstream


DPKG = (FIXTURES / "apt" / "debian12_dpkg-query_after_nvidia_driver_580.txt").read_text()
GLOBS = "nvidia-* libnvidia-* libcuda1 libcuda1:* cuda-drivers cuda-drivers-* firmware-nvidia-gsp"


def test_every_installed_package_of_the_branch_is_found_for_holding():
    assert driver.packages_in_branch(DPKG, GLOBS, "580.*") == [
        "nvidia-driver-cuda", "nvidia-driver-pinning-580", "nvidia-kernel-open-dkms", "nvidia-persistenced",
        "nvidia-smi"]


def test_packages_of_another_branch_or_name_are_not_held():
    assert driver.packages_in_branch(DPKG, GLOBS, "570.*") == []


def test_a_branch_change_names_every_installed_package_of_the_old_branch():
    assert driver.packages_of_other_branches(DPKG, GLOBS, "570") == [
        "nvidia-driver-cuda", "nvidia-kernel-open-dkms", "nvidia-persistenced", "nvidia-smi"]
    assert driver.packages_of_other_branches(DPKG, GLOBS, "580") == []
    # A dependency the role does not hold (not 'hi') is never moved with the branch.
    unheld = DPKG.replace("nvidia-smi 580.95.05-1 hi", "nvidia-smi 580.95.05-1 ii")
    assert "nvidia-smi" not in driver.packages_of_other_branches(unheld, GLOBS, "570")


def test_dpkg_version_of_one_package():
    assert driver.installed_version(DPKG, "nvidia-kernel-open-dkms") == "580.95.05-1"
    assert driver.installed_version(DPKG, "nvidia-kernel-dkms") == ""


def madison_sets() -> dict[str, str]:
    text = (FIXTURES / "apt" / "debian12_madison_nvidia_open_set.txt").read_text()
    blocks = {}
    for block in text.split("$ apt-cache madison ")[1:]:
        name, _, body = block.partition("\n")
        blocks[name.strip()] = body
    return blocks


def test_debian12_open_set_is_installed_at_the_version_every_package_has():
    offered = {name: driver.madison_in_branch(body, "535.*") for name, body in madison_sets().items()}
    version = driver.choose_version(offered, "", "535.*")
    assert version == "535.261.03", "the security update 535.309.01 has no open kernel module yet"
    specs = driver.install_specs(list(offered), offered, version, "535.*")
    assert specs == ["nvidia-driver=535.261.03*", "nvidia-open-kernel-dkms=535.261.03*",
                     "firmware-nvidia-gsp=535.261.03*", "nvidia-persistenced=535.*", "nvidia-smi=535.261.03*"]


def test_an_installed_version_in_the_branch_stays():
    offered = {name: driver.madison_in_branch(body, "535.*") for name, body in madison_sets().items()}
    assert driver.choose_version(offered, "535.309.01-0+deb12u1", "535.*") == "535.309.01"
    assert driver.choose_version(offered, "580.95.05-1", "535.*") == "535.261.03"


def test_check_lines_name_the_gpu():
    check = {"name": "pcie_width", "gpu": 2, "verdict": "FAIL", "reason": "x8, want x16"}
    line = health.check_line(check)
    assert line == "FAIL pcie_width[GPU 2]: x8, want x16"
    assert health.check_line({"name": "xid", "gpu": None, "verdict": "PASS", "reason": "none"}) == (
        "PASS xid: none")


def test_error_totals_sum_every_controller():
    facts = {"edac": {"controllers": [{"ce_count": 3, "ue_count": 0}, {"ce_count": 1, "ue_count": 1}]}}
    assert health.memory_error_total(facts) == {"ce": 4, "ue": 1}
    assert health.memory_error_total({"edac": {"controllers": []}}) == {"ce": 0, "ue": 0}


def test_every_filter_is_registered_under_its_name():
    names = {**driver.FilterModule().filters(), **health.FilterModule().filters(),
             **plugin("filter", "gpu_power").FilterModule().filters()}
    assert {"madison_in_branch", "nvidia_choose_version", "check_line", "overall_verdict", "host_kind",
            "memory_error_total", "gpu_power_budget", "gpu_power_targets"} <= set(names)
