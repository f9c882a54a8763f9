"""nvidia_driver from Debian's packages: branch, pin, holds, nouveau, persistenced, DKMS."""

from __future__ import annotations

import pytest

PACKAGES = ["nvidia-driver", "nvidia-open-kernel-dkms", "firmware-nvidia-gsp", "nvidia-persistenced", "nvidia-smi"]
BRANCH = {"12": "535", "13": "550"}


@pytest.fixture
def branch(host) -> str:
    return BRANCH[host.system_info.release.split(".")[0]]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_is_installed_in_the_branch_and_held(host, branch, package):
    pkg = host.package(package)
    assert pkg.is_installed, f"{package} is not installed"
    assert pkg.version.startswith(f"{branch}."), f"{package} is {pkg.version}, expected {branch}.*"
    selection = host.run(f"dpkg --get-selections {package}").stdout.split()
    assert selection[-1:] == ["hold"], f"{package}: selection {selection}, expected hold"


def test_apt_is_pinned_to_the_branch(host, branch):
    pin = host.file("/etc/apt/preferences.d/nvidia-driver-pin.pref")
    assert pin.mode == 0o644
    pinned = [line for line in pin.content_string.splitlines() if line.startswith("Pin: version ")]
    assert pinned and pinned[0].startswith(f"Pin: version {branch}."), pinned
    installed = host.package("nvidia-driver").version
    policy = host.run("apt-cache policy nvidia-driver").stdout
    assert f"*** {installed} 1001" in policy, f"the installed {installed} is not the pinned one:\n{policy}"


def test_nouveau_is_blacklisted_for_the_initramfs(host):
    assert "blacklist nouveau\n" in host.file("/etc/modprobe.d/blacklist-nouveau.conf").content_string
    assert host.package("initramfs-tools").is_installed
    assert host.run("update-initramfs -h").rc in (0, 1)  # present and runnable


def test_persistenced_is_enabled_not_masked(host):
    service = host.service("nvidia-persistenced")
    assert service.is_enabled
    assert host.run("systemctl is-enabled nvidia-persistenced").stdout.strip() == "enabled"


def test_dkms_registered_the_open_module(host, branch):
    status = host.run("dkms status").stdout
    assert f"nvidia-current-open/{branch}." in status, status
    sources = host.run(f"ls -d /usr/src/nvidia-current-open-{branch}.*").stdout.split()
    assert sources, f"no /usr/src/nvidia-current-open-{branch}.* module source for DKMS"
