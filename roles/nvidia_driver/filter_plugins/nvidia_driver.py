"""Filters of the nvidia_driver role: read apt's version listings, compare driver versions."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any


def madison_in_branch(madison_stdout: str, pattern: str) -> list[str]:
    """Versions in `apt-cache madison` output that match a version glob ("580.*", "580.95.05-1").

    >>> madison_in_branch(" nvidia-smi | 580.95.05-1 | http://x/ Packages\\n", "580.*")
    ['580.95.05-1']
    """
    versions = []
    for line in madison_stdout.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) >= 3 and fields[1] and fields[1] not in versions:
            version = fields[1]
            if fnmatch.fnmatchcase(upstream_version(version), pattern) or fnmatch.fnmatchcase(version, pattern):
                versions.append(version)
    return versions


def upstream_version(debian_version: str | None) -> str:
    """The driver's own version in a Debian package version: '1:580.95.05-1~deb12u1' -> '580.95.05'."""
    if not debian_version:
        return ""
    version = debian_version.split(":", 1)[-1]
    match = re.match(r"^(\d+(?:\.\d+)+)", version)
    return match.group(1) if match else version


def packages_in_branch(dpkg_query_stdout: str, globs: str, pattern: str) -> list[str]:
    """Installed packages matching the pin's globs whose version is in the branch.

    Input is `dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n'`; only installed ('ii', 'hi') count.
    Every such package is held, dependencies included, so no part of the driver moves alone.
    """
    names = []
    for line in dpkg_query_stdout.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[2][1:2] != "i":
            continue
        name, version = fields[0], fields[1]
        in_glob = any(fnmatch.fnmatchcase(name, g) for g in globs.split())
        in_branch = fnmatch.fnmatchcase(upstream_version(version), pattern) or fnmatch.fnmatchcase(version, pattern)
        if in_glob and in_branch and name not in names:
            names.append(name)
    return sorted(names)


def packages_of_other_branches(dpkg_query_stdout: str, globs: str, branch: str) -> list[str]:
    """Held driver packages (pin globs, a 3-digit driver version) of a branch other than `branch`.

    When the branch moves, these are installed at the new branch explicitly: apt does not
    downgrade (or cross-grade) a held dependency on its own. NVIDIA's pinning packages are left out.
    """
    names = []
    for line in dpkg_query_stdout.splitlines():
        fields = line.split()
        # Only held packages ('hi'): the role holds every package of its branch, while a
        # separately versioned dependency (Debian 13's nvidia-modprobe) is not its to move.
        if len(fields) < 3 or fields[2][:2] != "hi" or fields[0].startswith("nvidia-driver-pinning"):
            continue
        match = re.match(r"^(\d{3})\.", upstream_version(fields[1]))
        if match and match.group(1) != str(branch) and any(fnmatch.fnmatchcase(fields[0], g) for g in globs.split()):
            names.append(fields[0])
    return sorted(set(names))


def dpkg_version(dpkg_query_stdout: str, package: str) -> str:
    """The installed version of one package in dpkg-query output ('' when not installed)."""
    for line in dpkg_query_stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == package and fields[2][1:2] == "i":
            return fields[1]
    return ""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def choose_version(offered: dict[str, list[str]], installed: str, pattern: str) -> str:
    """The driver version (upstream, e.g. '535.261.03') to install every package at.

    A version already installed in the branch stays (re-runs never move the driver; changing
    nvidia_driver_branch or nvidia_driver_version does). Otherwise the version that the most
    packages offer, the newest on a tie: Debian can ship a security update of nvidia-driver
    before the open kernel module of the same version, and mixing them breaks dependencies.
    """
    current = upstream_version(installed)
    if current and fnmatch.fnmatchcase(current, pattern):
        return current
    counts: dict[str, int] = {}
    for versions in offered.values():
        for upstream in {upstream_version(v) for v in versions}:
            counts[upstream] = counts.get(upstream, 0) + 1
    if not counts:
        return ""
    return max(counts, key=lambda v: (counts[v], _version_key(v)))


def install_specs(packages: list[str], offered: dict[str, list[str]], version: str, pattern: str) -> list[str]:
    """apt names with versions: every package at `version` where it is offered at it, else the newest of the branch.

    Packages that are versioned on their own (Debian's nvidia-persistenced) fall back to the branch pattern.
    """
    specs = []
    for name in packages:
        upstreams = {upstream_version(v) for v in offered.get(name, [])}
        if version and (version in upstreams or name not in offered):
            specs.append(f"{name}={version}*")
        else:
            specs.append(f"{name}={pattern}")
    return specs


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"madison_in_branch": madison_in_branch, "nvidia_upstream_version": upstream_version,
                "nvidia_packages_in_branch": packages_in_branch,
                "nvidia_packages_of_other_branches": packages_of_other_branches,
                "nvidia_dpkg_version": dpkg_version,
                "nvidia_choose_version": choose_version,
                "nvidia_install_specs": install_specs}
