"""A TOML reader on every Python a node may have: tomllib (3.11+), else tomli (python3-tomli on 3.10)."""

from __future__ import annotations

from typing import Any

try:
    import tomllib as _toml  # novermin: guarded, tomli below stands in on 3.10
except ImportError:  # Python 3.10 (Ubuntu 22.04): the nvidia_container_toolkit role installs python3-tomli
    try:
        import tomli as _toml  # type: ignore[no-redef]
    except ImportError:
        _toml = None  # type: ignore[assignment]

HAVE_TOML = _toml is not None
MISSING = ("no TOML reader on this node's Python: Python 3.11 has tomllib; on 3.10 install python3-tomli "
           "(the nvidia_container_toolkit role does)")


class TOMLError(ValueError):
    """The text is not valid TOML."""


def loads(text: str) -> dict[str, Any]:
    if _toml is None:
        raise RuntimeError(MISSING)
    try:
        return _toml.loads(text)
    except _toml.TOMLDecodeError as err:
        raise TOMLError(str(err)) from err
