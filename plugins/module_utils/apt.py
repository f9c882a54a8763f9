"""What apt and dpkg print: dpkg-query listings, apt-cache madison and policy, Debian versions."""

from __future__ import annotations

import fnmatch
import re
import time
from collections.abc import Callable
from typing import Any


def upstream_version(debian_version: str | None) -> str:
    """The software's own version in a Debian package version: '1:580.95.05-1~deb12u1' -> '580.95.05'."""
    if not debian_version:
        return ""
    version = debian_version.split(":", 1)[-1]
    match = re.match(r"^(\d+(?:\.\d+)+)", version)
    return match.group(1) if match else version


def version_key(version: str) -> tuple[int, ...]:
    """A sort key for dotted versions: '535.261.03' -> (535, 261, 3)."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def version_matches(version: str, pattern: str) -> bool:
    """Whether a Debian version, or its upstream part, matches a glob ('580.*', '580.95.05-1')."""
    return fnmatch.fnmatchcase(upstream_version(version), pattern) or fnmatch.fnmatchcase(version, pattern)


def parse_dpkg_query(stdout: str) -> list[dict[str, str]]:
    """`dpkg-query -W -f='${Package} ${Version} ${db:Status-Abbrev}\\n'` (or without ${Version}) as rows.

    Each row has name, version ('' without ${Version}) and status, dpkg's abbreviation: 'ii' installed,
    'hi' installed and held, 'rc' removed with its configuration left, 'un' unknown. A package that
    was never installed prints an empty version.
    """
    rows = []
    for line in stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and re.fullmatch(r"[a-z][a-zA-Z]?[a-zA-Z ]?", fields[1]):
            rows.append({"name": fields[0], "version": "", "status": fields[1]})
        elif len(fields) >= 3:
            rows.append({"name": fields[0], "version": fields[1], "status": fields[2]})
    return rows


def installed_packages(stdout: str) -> list[str]:
    """Names of the installed (or installed and held) packages in a dpkg-query listing."""
    return [r["name"] for r in parse_dpkg_query(stdout) if is_installed(r)]


def is_installed(row: dict[str, str]) -> bool:
    return row["status"][1:2] == "i"


def is_held(row: dict[str, str]) -> bool:
    return row["status"][:2] == "hi"


def installed_version(stdout: str, package: str) -> str:
    """The installed version of one package in a dpkg-query listing ('' when not installed)."""
    return next((r["version"] for r in parse_dpkg_query(stdout) if r["name"] == package and is_installed(r)), "")


def parse_madison(stdout: str) -> list[str]:
    """The versions `apt-cache madison` lists, in its order (newest first), each once."""
    versions: list[str] = []
    for line in stdout.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) >= 3 and fields[1] and fields[1] not in versions:
            versions.append(fields[1])
    return versions


def parse_policy(stdout: str) -> dict[str, dict[str, str | None]]:
    """`apt-cache policy PKG...` as {package: {installed, candidate}}; '(none)' becomes None.

    A package apt knows nothing of is left out (apt prints nothing for it), so a missing key means
    "unknown to apt", and a candidate of None means "known, but no source offers it".
    """
    found: dict[str, dict[str, str | None]] = {}
    current: dict[str, str | None] | None = None
    for line in stdout.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            current = found.setdefault(line.rstrip()[:-1], {"installed": None, "candidate": None})
            continue
        key, _sep, value = line.strip().partition(":")
        if current is not None and key.lower() in ("installed", "candidate") and value.strip():
            current[key.lower()] = None if value.strip() == "(none)" else value.strip()
    return found


# What apt-get and dpkg print when another process holds their locks (tests/fixtures/apt/*lock_held*).
def parse_print_uris(stdout: str) -> list[dict[str, Any]]:
    """`apt-get install --print-uris -qq PKG...`: one line per .deb apt would fetch (none already cached).

    Each line is ``'URI' FILENAME SIZE HASH``; lines of any other shape are ignored.
    """
    fetched = []
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].startswith("'") and parts[0].endswith("'") and parts[2].isdigit():
            fetched.append({"uri": parts[0].strip("'"), "file": parts[1], "size": int(parts[2])})
    return fetched


def human_size(size: float) -> str:
    """Bytes as apt says them: 1621.7 MB, 53.2 kB (powers of 1000)."""
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("kB", "MB"):
        size /= 1000
        if size < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} GB"


LOCK_HELD = ("Could not get lock", "Unable to lock directory", "Unable to acquire the dpkg frontend lock",
             "dpkg frontend lock was locked by another process", "dpkg status database is locked")


def lock_held(output: str) -> bool:
    """Whether apt or dpkg stopped because another process holds a lock it needs."""
    return any(text in output for text in LOCK_HELD)


def update_argv(sources: str | None = None) -> list[str]:
    """apt-get update for every source, or for one sources file only (others untouched, lists kept)."""
    argv = ["apt-get", "update", "-q", "--error-on=any"]
    if sources:
        argv += ["-o", f"Dir::Etc::sourcelist={sources}", "-o", "Dir::Etc::sourceparts=-",
                 "-o", "APT::Get::List-Cleanup=0"]
    return argv


def run_waiting_for_locks(run: Callable[[], tuple[int, str]], timeout: float, *,
                          sleep: Callable[[float], None] = time.sleep,
                          clock: Callable[[], float] = time.monotonic) -> tuple[int, str, float]:
    """Run until it does not fail on a held lock or timeout seconds have passed: (rc, output, seconds waited)."""
    start = clock()
    while True:
        rc, output = run()
        waited = clock() - start
        if rc == 0 or not lock_held(output) or waited >= timeout:
            return rc, output, waited
        sleep(min(2.0, max(0.0, timeout - waited)))


def run_update(module: Any, sources: str | None, timeout: float) -> tuple[int, str, float]:
    """`apt-get update` (of one sources file, or all) through an AnsibleModule, waiting for a held lists lock."""
    def once() -> tuple[int, str]:
        rc, out, err = module.run_command(update_argv(sources), environ_update={"LC_ALL": "C"})
        return rc, out + err

    return run_waiting_for_locks(once, timeout)
