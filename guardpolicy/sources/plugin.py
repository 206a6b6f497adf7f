"""Built-in plugin: turn ``guard check`` targets into sources.

Dispatch is by target shape and file name first (``pyproject.toml``, ``uv.lock``,
``pylock*.toml``), then by content for other names: a TOML file with ``lock-version`` is a
PEP 751 lock, one with ``[[package]]`` a uv lock, one with ``[project]`` or
``[dependency-groups]`` a pyproject; a JSON document is a pip report; any other readable file
is a requirements file (pip accepts any name after ``-r``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..hookspecs import hookimpl

_SNIFF_BYTES = 8192


def sniff_kind(name: str, head: str) -> str:
    """The input kind (``requirements``, ``pyproject``, ``pylock``, ``uvlock``, ``pip-report``)
    from a lower-cased file name and the first few KB of its text."""
    if name == "pyproject.toml":
        return "pyproject"
    if name == "uv.lock":
        return "uvlock"
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock"
    stripped = head.lstrip("\ufeff \t\r\n")
    if name.endswith(".json") or stripped.startswith("{"):
        return "pip-report"
    if name.endswith((".toml", ".lock")):
        if re.search(r"(?m)^\s*lock-version\s*=", head):
            return "pylock"
        if re.search(r"(?m)^\s*\[\[\s*package\s*\]\]", head):
            return "uvlock"
        if re.search(r"(?m)^\s*\[\s*(project|dependency-groups|build-system)\s*\]", head):
            return "pyproject"
    return "requirements"


def _head(path: Path) -> str:
    """The first few KB of a file as text, for sniffing (``""`` when unreadable)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


@hookimpl(trylast=True)
def guard_make_source(target, options):
    """A source for ``pypi:`` targets and Python dependency files; ``None`` for anything else."""
    if target.startswith("pypi:"):
        from .pypi import PypiTargetSource

        return PypiTargetSource(target)
    if target.startswith("env:"):
        from .environment import EnvironmentSource

        return EnvironmentSource(target[4:] or None)
    path = Path(target)
    name = path.name.lower()
    if not path.is_file() and not name.endswith((".txt", ".in", ".toml", ".lock", ".json")):
        return None
    kind = sniff_kind(name, _head(path) if path.is_file() else "")
    if kind == "pyproject":
        from .pyproject import PyprojectSource

        return PyprojectSource(path)
    if kind == "uvlock":
        from .uvlock import UvLockSource

        return UvLockSource(path)
    if kind == "pylock":
        from .pylock import PylockSource

        return PylockSource(path)
    if kind == "pip-report":
        from .pip_report import PipReportSource

        return PipReportSource(path)
    from .requirements import RequirementsSource

    return RequirementsSource(path)
