"""Filters that read apt's and dpkg's output in playbooks (the parsing lives in module_utils/apt.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.gpu_rig.cluster.plugins.module_utils.apt import (
    human_size,
    installed_packages,
    parse_policy,
    parse_print_uris,
)


def apt_candidate(policy_stdout: str, package: str | None = None) -> str:
    """The candidate version in `apt-cache policy` output ('' when no source offers it or apt does not know it).

    Without package, the output must be of one package (`apt-cache policy PKG`).
    """
    policies = parse_policy(policy_stdout)
    entry = policies.get(package) if package else next(iter(policies.values()), None)
    return (entry or {}).get("candidate") or ""


def apt_installed(policy_stdout: str, package: str | None = None) -> str:
    """The installed version in `apt-cache policy` output ('' when not installed)."""
    policies = parse_policy(policy_stdout)
    entry = policies.get(package) if package else next(iter(policies.values()), None)
    return (entry or {}).get("installed") or ""


def apt_downloads(print_uris_stdout: str) -> dict[str, Any]:
    """What `apt-get install --print-uris -qq` says apt would fetch: count, bytes and a line to print."""
    fetched = parse_print_uris(print_uris_stdout)
    size = sum(item["size"] for item in fetched)
    return {"packages": len(fetched), "bytes": size, "text": f"{len(fetched)} package(s), {human_size(size)}"}


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"apt_candidate": apt_candidate, "apt_installed": apt_installed,
                "dpkg_installed": installed_packages, "apt_downloads": apt_downloads}
