"""This boot's kernel log, from journalctl or dmesg, or a saved file; and the runner that reads it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

Runner = Callable[[list[str]], tuple[int, str, str]]
# Tried in order; journalctl -k -b is this boot only, dmesg the kernel's ring buffer.
SOURCES = (
    (["journalctl", "-k", "-b", "--no-pager", "-o", "short-monotonic"], "journalctl -k -b"),
    (["dmesg"], "dmesg"),
)


def run(argv: list[str], timeout: int = 60) -> tuple[int, str, str]:
    """Run argv with LC_ALL=C semantics left to the caller; 127 when the program is missing, 124 on timeout."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return 127, "", f"{argv[0]}: command not found"
    except (subprocess.TimeoutExpired, OSError) as exc:
        return 124, "", f"{argv[0]}: {exc}"
    return done.returncode, done.stdout, done.stderr


def has_entries(out: str) -> bool:
    """Whether the output holds log lines, not only journalctl's '-- No entries --' or hints."""
    return any(line.strip() and not line.startswith(("-- ", "Hint:")) for line in out.splitlines())


def read(path: str | Path | None = None, runner: Runner = run) -> tuple[str | None, str]:
    """(log text or None, where it came from or why there is none). With path, only that file is read."""
    if path is not None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace"), str(path)
        except FileNotFoundError:
            return None, f"{path} does not exist"
        except OSError as exc:
            return None, f"kernel log {path} unreadable: {exc}"
    why = []
    for argv, source in SOURCES:
        rc, out, err = runner(argv)
        if rc == 0 and has_entries(out):
            return out, source
        text = (err or out).strip()
        why.append(f"{argv[0]}: {text.splitlines()[0] if text else f'rc={rc}, no output'}")
    return None, "kernel log unavailable (" + "; ".join(why) + ")"
