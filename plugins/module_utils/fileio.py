"""Safe file writes for the collection's modules: atomic, fsynced, through symlinks, mode and owner kept."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def resolve(path: str | os.PathLike[str]) -> Path:
    """The file a write to path lands in: a symlink's final target (which may not exist yet), else path."""
    return Path(os.path.realpath(path))


def write_atomic(path: str | os.PathLike[str], content: str | bytes, mode: int | None = None,
                 validate: Callable[[str], None] | None = None) -> Path:
    """Replace the file at path (or at the end of its symlink chain) with content, atomically.

    The new content is written to a temporary file beside the target, flushed and fsynced, given the
    target's mode, owner and group (or mode, default 0644, for a new file), then renamed over the
    target; the directory is fsynced so the rename survives a crash. A symlink stays a symlink and
    its target gets the content. validate, when given, is called with the temporary file's path before
    the rename; when it raises, the temporary file is removed and the target is left as it was.
    Returns the path written.
    """
    target = resolve(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = target.stat()
    except FileNotFoundError:
        old = None
    data = content.encode("utf-8") if isinstance(content, str) else content
    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None:
            os.chmod(tmp, old.st_mode & 0o7777 if mode is None else mode)
            if os.geteuid() == 0:
                os.chown(tmp, old.st_uid, old.st_gid)
        else:
            os.chmod(tmp, 0o644 if mode is None else mode)
        if validate is not None:
            validate(tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(str(target.parent), os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def read_value(path: str | os.PathLike[str]) -> str | None:
    """A small file's text, stripped (sysfs, procfs, fixture files); None when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def read_text(path: str | os.PathLike[str]) -> str | None:
    """The file's text exactly as stored (line endings kept), or None when it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
