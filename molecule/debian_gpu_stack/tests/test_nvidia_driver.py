"""nvidia_driver from Debian's packages: branch, pin, holds, nouveau, persistenced, a real DKMS build."""

from __future__ import annotations

import pytest

# flavour auto from the distribution: the proprietary module, the one that builds against Debian's kernels today.
PACKAGES = ["nvidia-driver", "nvidia-kernel-dkms", "nvidia-persistenced", "nvidia-smi"]
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


def test_dkms_built_the_module_for_the_installed_kernel_headers(host, branch):
    status = host.run("dkms status").stdout
    assert f"nvidia-current/{branch}." in status and ": installed" in status, status
    modules = host.run("find /lib/modules -name 'nvidia-current.ko*'").stdout.split()
    assert modules, "DKMS left no nvidia-current.ko under /lib/modules"
    installed = host.package("nvidia-kernel-dkms").version.split("-")[0]
    for module in modules:
        version = host.run(f"modinfo -F version {module}").stdout.strip()
        assert version == installed, f"{module} is {version}, nvidia-kernel-dkms is {installed}"


def test_dpkg_is_consistent_after_the_failed_open_build_of_prepare(host):
    assert host.run("dpkg --audit").stdout.strip() == "", host.run("dpkg --audit").stdout
    half = [line for line in host.run("dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n'").stdout.splitlines()
            if line[1:2] in "HUFWt" and "nvidia" in line]
    assert half == [], half
