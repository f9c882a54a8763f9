"""apt/dpkg output parsing, on real captures (tests/fixtures/apt/README.md names each origin)."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, plugin

apt = plugin("module_utils", "apt")
apt_filters = plugin("filter", "apt")
APT = FIXTURES / "apt"


def capture_body(name: str) -> dict[str, str]:
    """The outputs of a capture file, keyed by the '$ command' line before each."""
    outputs: dict[str, list[str]] = {}
    command = ""
    for line in (APT / name).read_text().splitlines():
        if line.startswith("$ "):
            command = line[2:]
            outputs[command] = []
        elif not line.startswith("[rc="):
            outputs[command].append(line)
    return {k: "\n".join(v) + "\n" for k, v in outputs.items()}


POLICY = capture_body("debian12_policy_dpkg_nvidia-smi.txt")


def test_policy_of_an_installed_and_an_unoffered_package():
    found = apt.parse_policy(POLICY["apt-cache policy dpkg nvidia-smi"])
    assert found == {"dpkg": {"installed": "1.21.23", "candidate": "1.21.23"},
                     "nvidia-smi": {"installed": None, "candidate": None}}


def test_policy_of_a_package_apt_does_not_know_is_empty():
    assert apt.parse_policy(POLICY["apt-cache policy no-such-package"]) == {}


@pytest.mark.parametrize(("package", "candidate", "installed"), [
    ("dpkg", "1.21.23", "1.21.23"), ("nvidia-smi", "", ""), ("no-such-package", "", "")])
def test_policy_filters(package, candidate, installed):
    text = POLICY["apt-cache policy dpkg nvidia-smi"]
    assert apt_filters.apt_candidate(text, package) == candidate
    assert apt_filters.apt_installed(text, package) == installed


def test_dpkg_query_with_versions_reads_status_and_holds():
    rows = apt.parse_dpkg_query((APT / "debian12_dpkg-query_after_nvidia_driver_580.txt").read_text())
    held = {r["name"] for r in rows if apt.is_held(r)}
    assert "nvidia-kernel-open-dkms" in held
    assert all(r["status"] for r in rows)


@pytest.mark.parametrize(("listing", "installed"), [
    ("docker.io ii \npodman un \n", ["docker.io"]),
    ("docker-ce hi \n", ["docker-ce"]),
    ("nvidia-smi 580.95.05-1 ii \nnvidia-driver-pinning-570  un \nold 1.0 rc \n", ["nvidia-smi"]),
    ("", []),
])
def test_installed_packages_in_either_listing_format(listing, installed):
    assert apt.installed_packages(listing) == installed


def test_madison_keeps_its_order_once_each():
    assert apt.parse_madison((APT / "debian12_madison_nvidia-driver.txt").read_text())[:2] == [
        "535.309.01-0+deb12u1", "535.261.03-1"]


@pytest.mark.parametrize(("version", "upstream"), [
    ("580.95.05-1", "580.95.05"), ("1:535.247.01-1~deb12u1", "535.247.01"), ("", ""), (None, "")])
def test_upstream_version(version, upstream):
    assert apt.upstream_version(version) == upstream
