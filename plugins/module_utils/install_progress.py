# Copyright (c) 2026 GPU rig maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How far a long apt install has got: bytes fetched into apt's archive, then dpkg's step from its log.

apt fetches every .deb into /var/cache/apt/archives (the one being fetched in partial/) before dpkg starts;
dpkg and the maintainer scripts (DKMS builds the kernel module in one) write their lines to
/var/log/apt/term.log, one section per apt run from ``Log started:`` to ``Log ended:``.
"""

from __future__ import annotations

from pathlib import Path

from ansible_collections.gpu_rig.cluster.plugins.module_utils.apt import human_size

ARCHIVES = "var/cache/apt/archives"
TERM_LOG = "var/log/apt/term.log"


def fetched_bytes(root: Path, since: float) -> int:
    """Bytes apt has fetched since the install started: new .debs and the partial download."""
    archives = root / ARCHIVES
    total = 0
    for path in list(archives.glob("*.deb")) + list((archives / "partial").glob("*")):
        try:
            stat = path.stat()
        except OSError:  # fetched and moved between the listing and the stat
            continue
        # apt gives a fetched file the server's modification time; its inode change time is when it arrived.
        if path.parent.name == "partial" or stat.st_ctime >= since:
            total += stat.st_size
    return total


def dpkg_step(root: Path, since: float) -> str:
    """The last line of this install's section of apt's term.log ('' before dpkg has started)."""
    log = root / TERM_LOG
    try:
        if log.stat().st_mtime < since:
            return ""
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    section = text.rsplit("Log started:", 1)[-1].splitlines()[1:]
    lines = [line.strip() for line in section if line.strip() and not line.startswith("Log ended:")]
    return lines[-1] if lines else ""


def describe(root: Path, since: float, total: int) -> str:
    """One line: 'fetched 812.3 MB of 1.6 GB' and, once dpkg runs, its current step."""
    got = fetched_bytes(root, since)
    fetched = f"fetched {human_size(got)}" + (f" of {human_size(total)}" if total else "")
    step = dpkg_step(root, since)
    return f"{fetched}; dpkg: {step}" if step else f"{fetched}; dpkg has not started"
