"""Filters of the nvidia_driver role: which driver packages and version, from apt's and dpkg's listings."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.apt import (
    installed_version,
    is_held,
    is_installed,
    parse_dpkg_query,
    parse_madison,
    upstream_version,
    version_key,
    version_matches,
)
from ansible_collections.gpu_rig.cluster.plugins.module_utils.nvidia_smi import failure


def madison_in_branch(madison_stdout: str, pattern: str) -> list[str]:
    """Versions in `apt-cache madison` output that match a version glob ("580.*", "580.95.05-1").

    >>> madison_in_branch(" nvidia-smi | 580.95.05-1 | http://x/ Packages\\n", "580.*")
    ['580.95.05-1']
    """
    return [v for v in parse_madison(madison_stdout) if version_matches(v, pattern)]


def _in_globs(name: str, globs: str) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in globs.split())


def packages_in_branch(dpkg_query_stdout: str, globs: str, pattern: str) -> list[str]:
    """Installed packages matching the pin's globs whose version is in the branch.

    Input is `dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\n'`; only installed ('ii', 'hi') count.
    Every such package is held, dependencies included, so no part of the driver moves alone.
    """
    return sorted({r["name"] for r in parse_dpkg_query(dpkg_query_stdout)
                   if is_installed(r) and _in_globs(r["name"], globs) and version_matches(r["version"], pattern)})


def packages_of_other_branches(dpkg_query_stdout: str, globs: str, branch: str) -> list[str]:
    """Held driver packages (pin globs, a 3-digit driver version) of a branch other than `branch`.

    When the branch moves, these are installed at the new branch explicitly: apt does not
    downgrade (or cross-grade) a held dependency on its own. NVIDIA's pinning packages are left out.
    Only held packages count: the role holds every package of its branch, while a separately
    versioned dependency (Debian 13's nvidia-modprobe) is not its to move.
    """
    names = set()
    for row in parse_dpkg_query(dpkg_query_stdout):
        if not is_held(row) or row["name"].startswith("nvidia-driver-pinning"):
            continue
        match = re.match(r"^(\d{3})\.", upstream_version(row["version"]))
        if match and match.group(1) != str(branch) and _in_globs(row["name"], globs):
            names.add(row["name"])
    return sorted(names)


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
    return max(counts, key=lambda v: (counts[v], version_key(v)))


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


def reboot_reason(installed: str, loaded: str, *, in_container: bool, modprobe: dict[str, Any] | None = None,
                  key_queued: bool = False) -> str:
    """Why the node needs a reboot ("" when it does not), from the driver's state after trying to load it.

    A fresh node has the driver installed but no module loaded: nouveau holds the GPUs, so modprobe fails
    until a reboot with the blacklist in the initramfs. That is a reboot, not a success. A container can
    load no module at all, so it never needs one.
    """
    if in_container:
        return ""
    if loaded and installed and loaded != installed:
        return f"NVIDIA module {loaded} is loaded, {installed} is installed"
    if installed and not loaded:
        result = modprobe or {}
        said = str(result.get("stderr") or result.get("msg") or "").strip().splitlines()
        why = said[-1] if said else f"rc {result.get('rc', '?')}"
        return f"no NVIDIA module could be loaded (modprobe: {why}); nouveau may hold the GPUs until a reboot"
    if key_queued:
        return "the module signing key is queued for enrolment at the next boot"
    return ""


def reboot_refusal(work: dict[str, Any], apps: dict[str, Any], *, reboot: bool, force: bool,
                   connection: str = "ssh") -> str:
    """Why the node may not reboot now ("" when it may), from what can be seen for sure.

    work is gpu_work's result (processes holding /dev/nvidia*, Docker GPU containers, what could not be
    looked at); apps is the registered result of `nvidia-smi --query-compute-apps=pid,process_name,used_memory
    --format=csv,noheader`. When nvidia-smi cannot answer (a driver/library version mismatch after an upgrade,
    no module, no binary), /proc still shows every process holding the devices; when neither can rule GPU
    jobs out, the reboot is refused.
    """
    if not reboot:
        return "nvidia_driver_reboot is false"
    if connection in ("local", "ansible.builtin.local"):
        return "the play runs over a local connection, which a reboot would cut"
    if force:
        return ""
    seen: list[str] = []
    rc = apps.get("rc")
    listed: list[str] = []
    note = ""
    if rc == 0:
        listed = [line.strip() for line in str(apps.get("stdout", "")).splitlines() if line.strip()]
        seen += [f"nvidia-smi lists compute process {line}" for line in listed]
    else:
        note = failure(127 if rc is None or (rc == 2 and "No such file" in str(apps.get("msg", ""))) else rc,
                       str(apps.get("stdout", "")), str(apps.get("stderr", "")))
    verdict = work.get("verdict")
    seen += list(work.get("reasons") or []) if verdict in ("busy", "unknown") else []
    if verdict not in ("busy", "unknown", "idle"):
        seen.append("the processes holding /dev/nvidia* could not be listed")
    if not seen:
        return ""
    because = "; ".join(seen) + (f" ({note})" if note else "")
    kind = "GPU work is running" if verdict == "busy" or listed else "GPU jobs cannot be ruled out"
    return f"{kind}: {because}; set nvidia_driver_reboot_force: true to reboot anyway"


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"madison_in_branch": madison_in_branch, "nvidia_upstream_version": upstream_version,
                "nvidia_packages_in_branch": packages_in_branch,
                "nvidia_packages_of_other_branches": packages_of_other_branches,
                "nvidia_dpkg_version": installed_version,
                "nvidia_choose_version": choose_version,
                "nvidia_install_specs": install_specs,
                "nvidia_reboot_refusal": reboot_refusal,
                "nvidia_reboot_reason": reboot_reason}
