"""Built-in plugin: turn ``guard check`` targets into sources.

Dispatch is by target shape and file content, not extension alone.
"""

from __future__ import annotations

from pathlib import Path

from ..hookspecs import hookimpl


@hookimpl(trylast=True)
def guard_make_source(target, options):
    if target.startswith("pypi:"):
        from .pypi import PypiTargetSource

        return PypiTargetSource(target)
    path = Path(target)
    name = path.name.lower()
    if name == "pyproject.toml":
        from .pyproject import PyprojectSource

        return PyprojectSource(path)
    if name == "uv.lock":
        from .uvlock import UvLockSource

        return UvLockSource(path)
    if name.startswith("pylock.") and name.endswith(".toml"):
        from .pylock import PylockSource

        return PylockSource(path)
    if name.endswith(".json"):
        from .pip_report import PipReportSource

        return PipReportSource(path)
    if path.is_file() or name.endswith((".txt", ".in")):
        from .requirements import RequirementsSource

        return RequirementsSource(path)
    return None
