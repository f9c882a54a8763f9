"""node_base: components added in place, headers and tools installed, user sources untouched."""

from __future__ import annotations

import pytest

COMPONENTS = ["main", "contrib", "non-free", "non-free-firmware"]
USER_SOURCE = "/etc/apt/sources.list.d/user-local.sources"


def distribution_entries(host) -> list[str]:
    """Component lists of the live distribution entries, whatever the sources format."""
    comps = []
    sources_list = host.file("/etc/apt/sources.list")
    if sources_list.exists:
        for line in sources_list.content_string.splitlines():
            fields = line.split()
            if fields[:1] == ["deb"] and ("deb.debian.org" in line or "security.debian.org" in line):
                comps.append(" ".join(fields[3:]))
    deb822 = host.file("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists:
        comps += [line.split(":", 1)[1].strip() for line in deb822.content_string.splitlines()
                  if line.startswith("Components:")]
    return comps


def test_every_distribution_entry_carries_the_gpu_components(host):
    entries = distribution_entries(host)
    assert entries, "found no distribution entry in the apt sources"
    for comps in entries:
        assert set(COMPONENTS) <= set(comps.split()), f"entry carries {comps!r}, expected {COMPONENTS}"


def test_apt_knows_packages_that_only_the_added_components_carry(host):
    # firmware-misc-nonfree is in non-free-firmware, nvidia-smi in non-free: unknown
    # to apt unless the components were added and the lists refreshed.
    for package in ("firmware-misc-nonfree", "nvidia-smi"):
        policy = host.run(f"apt-cache policy {package}")
        assert "Candidate:" in policy.stdout and "Candidate: (none)" not in policy.stdout, policy.stdout


def test_the_users_own_source_file_is_untouched(host):
    source = host.file(USER_SOURCE)
    assert source.exists
    assert source.content_string.startswith("# The user's own repository")
    assert "Components: main\n" in source.content_string


@pytest.mark.parametrize("package", ["dkms", "build-essential", "pciutils", "dmidecode", "numactl", "ipmitool",
                                     "linux-headers-amd64"])
def test_package_is_installed(host, package):
    assert host.package(package).is_installed, f"{package} is not installed"


def test_the_headers_meta_package_brings_a_kernel_build_tree(host):
    build_dirs = host.run("ls -d /usr/src/linux-headers-*-amd64").stdout.split()
    assert build_dirs, "no /usr/src/linux-headers-*-amd64 tree"
    assert host.file(f"{build_dirs[0]}/Makefile").exists


def test_dkms_and_the_compiler_run(host):
    assert host.run("dkms --version").rc == 0
    assert host.run("gcc --version").rc == 0
    assert host.run("make --version").rc == 0
