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
    """Installed driver packages (pin globs, a 3-digit driver version) of a branch other than `branch`.

    When the branch moves, these are installed at the new branch explicitly: apt does not
    downgrade (or cross-grade) a held dependency on its own. NVIDIA's pinning packages are left out.
    """
    names = []
    for line in dpkg_query_stdout.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[2][1:2] != "i" or fields[0].startswith("nvidia-driver-pinning"):
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


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"madison_in_branch": madison_in_branch, "nvidia_upstream_version": upstream_version,
                "nvidia_packages_in_branch": packages_in_branch,
                "nvidia_packages_of_other_branches": packages_of_other_branches,
                "nvidia_dpkg_version": dpkg_version}
