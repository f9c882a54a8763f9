"""nvidia_driver from the CUDA repository (the signed test mirror with stand-ins).

Verify runs after side_effect, which moved the branch from 580 to 570, refused a
wrong key and tried the reboot guard.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MIRROR = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / ".cache/aptmirror/nvidia"
DRIVER_PACKAGES = ["nvidia-driver-cuda", "nvidia-kernel-open-dkms", "nvidia-persistenced", "nvidia-smi"]


def distro(host) -> str:
    return "debian" + host.system_info.release.split(".")[0]


def test_the_source_is_deb822_with_signed_by(host):
    source = host.file("/etc/apt/sources.list.d/cuda.sources")
    assert source.exists and source.mode == 0o644
    text = source.content_string
    assert f"URIs: http://host.containers.internal:8765/compute/cuda/repos/{distro(host)}/x86_64/\n" in text
    assert "Suites: /\n" in text
    assert "Signed-By: /etc/apt/keyrings/cuda.gpg\n" in text


def test_the_keyring_holds_exactly_the_accepted_key(host):
    expected = (MIRROR / "keys/mirror.fingerprint").read_text().strip()
    listing = host.run("gpg --no-default-keyring --keyring /etc/apt/keyrings/cuda.gpg --with-colons --list-keys")
    assert listing.rc == 0, listing.stderr
    fingerprints = [line.split(":")[9] for line in listing.stdout.splitlines() if line.startswith("fpr:")]
    assert fingerprints[:1] == [expected], f"keyring holds {fingerprints}, expected {expected}"


def test_the_pin_follows_the_branch_change_to_570(host):
    pin = host.file("/etc/apt/preferences.d/nvidia-driver-pin.pref").content_string
    assert "Pin: version 570.172.08*\n" in pin and "Pin-Priority: 1001\n" in pin
    assert pin.startswith("#")  # ansible_managed header


@pytest.mark.parametrize("package", DRIVER_PACKAGES)
def test_every_driver_package_moved_to_570_and_is_held(host, package):
    pkg = host.package(package)
    assert pkg.is_installed, f"{package} is not installed"
    assert pkg.version.startswith("570."), f"{package} is at {pkg.version}, expected 570.*"
    selection = host.run(f"dpkg --get-selections {package}").stdout.split()
    assert selection[-1:] == ["hold"], f"{package} selection is {selection}"


def test_the_580_pinning_package_left_with_its_branch(host):
    assert not host.package("nvidia-driver-pinning-580").is_installed


def test_apt_upgrade_does_not_move_the_driver(host):
    sim = host.run("apt-get -s -o Debug::NoLocking=1 upgrade")
    assert sim.rc == 0, sim.stderr
    moved = [line for line in sim.stdout.splitlines() if line.startswith("Inst ") and "nvidia" in line]
    assert moved == [], f"apt upgrade would move: {moved}"


def test_the_wrong_key_left_nothing_behind(host):
    assert not host.file("/etc/apt/sources.list.d/cuda-wrongkey.sources").exists
    assert not host.file("/etc/apt/keyrings/cuda-wrongkey.gpg").exists


def test_nouveau_is_blacklisted_and_module_options_written(host):
    blacklist = host.file("/etc/modprobe.d/blacklist-nouveau.conf")
    assert "blacklist nouveau\n" in blacklist.content_string and blacklist.mode == 0o644
    options = host.file("/etc/modprobe.d/nvidia-options.conf").content_string
    assert "options nvidia NVreg_DeviceFileMode=0660\n" in options


def test_persistenced_is_enabled(host):
    assert host.service("nvidia-persistenced").is_enabled
