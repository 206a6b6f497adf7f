"""``pyproject.toml``: PEP 621 ``[project]`` dependencies and optional dependencies, PEP 735
``[dependency-groups]`` (with ``include-group``), and PEP 518 ``[build-system] requires``.

Every dependency string is a PEP 508 requirement and becomes a ``PackageRef`` located at the
line of its string. ``extra`` records where it came from: ``{"group": "dev"}``,
``{"optional": "docs"}`` or ``{"build_requirement": True}``.
"""

from __future__ import annotations

import re
from typing import Iterator, List, Mapping, Optional

from ..model import Finding, Location, PackageRef
from ..names import canonicalize_name
from .interface import Source, SourceError
from .textpos import LineFinder, first_line_matching, load_toml


def requirement_ref(text: str, location: Location, extra: Optional[Mapping] = None):
    """A PEP 508 string as a ``PackageRef``, or an ``invalid`` ``Finding`` naming the location."""
    from packaging.requirements import InvalidRequirement

    from ..pep508 import parse_requirement
    from .requirements import pinned_version, url_hashes

    if not isinstance(text, str):
        return Finding(rule="invalid", subject=repr(text), location=location,
                       message=f"a dependency must be a string, not {type(text).__name__}: {text!r}",
                       suggestion="write a PEP 508 requirement string, e.g. \"requests==2.32.3\"")
    try:
        req = parse_requirement(text)
    except InvalidRequirement as exc:
        return Finding(rule="invalid", subject=text, location=location,
                       message=f"not a valid PEP 508 requirement: {text!r}: {str(exc).splitlines()[0]}",
                       suggestion="write a PEP 508 requirement string, e.g. \"requests==2.32.3\"")
    return PackageRef(name=req.name, specifier=str(req.specifier), version=pinned_version(req.specifier),
                      extras=tuple(sorted(e.lower() for e in req.extras)),
                      marker=str(req.marker) if req.marker else None, url=req.url,
                      hashes=url_hashes(req.url or ""), location=location, extra=dict(extra or {}))


def _header_line(text: str, table: str) -> int:
    """Line of ``[table]`` (or 1): the cursor from which a table's strings are looked up."""
    return first_line_matching(text, r"^\s*\[\s*" + re.escape(table).replace(r"\-", "-") + r"\s*\]") or 1


def _key_line(text: str, key: str, start: int) -> int:
    """Line of ``key =`` (bare or quoted) at or after ``start`` (or ``start``)."""
    pattern = r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*="
    return first_line_matching(text, pattern, start) or start


def resolve_groups(groups: Mapping[str, list]) -> List[str]:
    """Problems in PEP 735 ``include-group`` references: unknown groups and cycles (messages)."""
    canon = {canonicalize_name(k): (v if isinstance(v, list) else []) for k, v in groups.items()}
    problems: List[str] = []

    def visit(name: str, trail: tuple) -> None:
        for item in canon.get(name, ()):
            if not isinstance(item, dict):
                continue
            target = item.get("include-group")
            if not isinstance(target, str):
                problems.append(f"dependency group {name!r}: an entry table must be {{include-group = \"name\"}}")
                continue
            target = canonicalize_name(target)
            if target in trail:
                problems.append(f"dependency group cycle: {' -> '.join(trail + (target,))}")
            elif target not in canon:
                problems.append(f"dependency group {name!r} includes unknown group {target!r}")
            else:
                visit(target, trail + (target,))

    for name in canon:
        visit(name, (name,))
    return list(dict.fromkeys(problems))


class PyprojectSource(Source):
    """The dependencies a ``pyproject.toml`` declares."""

    def __init__(self, path):
        """The ``pyproject.toml`` at ``path``."""
        self.path = str(path)
        self.name = self.path

    def _strings(self, finder: LineFinder, values, start: int, extra: Mapping) -> Iterator:
        """Refs (or findings) for one array of requirement strings whose key is at line ``start``."""
        if not isinstance(values, list):
            yield Finding(rule="invalid", subject=self.path, location=Location(self.path, start),
                          message=f"expected an array of requirement strings, got {type(values).__name__}",
                          suggestion='write an array: ["requests==2.32.3", ...]')
            return
        for value in values:
            if isinstance(value, dict):
                continue  # {include-group = ...}: checked by resolve_groups
            line = finder.find(value, start) if isinstance(value, str) else None
            yield requirement_ref(value, Location(self.path, line or start), extra)

    def collect(self) -> Iterator:
        """Yield a ``PackageRef`` per dependency string and ``invalid`` findings for bad ones."""
        data, text = load_toml(self.path)
        finder = LineFinder(text)
        project = data.get("project", {})
        build = data.get("build-system", {})
        groups = data.get("dependency-groups", {})
        if not isinstance(project, dict) or not isinstance(groups, dict) or not isinstance(build, dict):
            raise SourceError("[project], [build-system] and [dependency-groups] must be tables", file=self.path)
        if "requires" in build:
            start = _key_line(text, "requires", _header_line(text, "build-system"))
            yield from self._strings(finder, build["requires"], start, {"build_requirement": True})
        if "dependencies" in project:
            start = _key_line(text, "dependencies", _header_line(text, "project"))
            yield from self._strings(finder, project["dependencies"], start, {})
        optional = project.get("optional-dependencies", {})
        if isinstance(optional, dict):
            head = first_line_matching(text, r"^\s*\[\s*project\.optional-dependencies\s*\]") or _header_line(text, "project")
            for extra_name, values in optional.items():
                yield from self._strings(finder, values, _key_line(text, extra_name, head), {"optional": extra_name})
        head = _header_line(text, "dependency-groups")
        for group, values in groups.items():
            yield from self._strings(finder, values, _key_line(text, group, head), {"group": group})
        for problem in resolve_groups(groups):
            yield Finding(rule="invalid", subject=self.path, message=problem, location=Location(self.path, head),
                          suggestion="include only groups defined in [dependency-groups], without cycles (PEP 735)")
