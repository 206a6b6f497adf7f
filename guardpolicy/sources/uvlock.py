"""``uv.lock``: uv's resolved lock file. uv cannot be hooked at install time, so its lock file
is where guard sees what uv installs.

Each ``[[package]]`` becomes a resolved ``PackageRef`` (``version``, sdist/wheel hashes,
``url`` for git/url/path sources, ``indexes=(IndexRef(registry, "registry"),)``). The project
itself and workspace members (``source = {editable = ...}`` or ``{virtual = ...}``) are the
user's own code, not dependencies, and are not judged by name.
"""

from __future__ import annotations

from typing import Iterator, Optional, Tuple
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..model import Finding, Location
from .interface import SourceError
from .locks import (
    RegistryRefs,
    TomlLockSource,
    dependency_names,
    iter_tables,
    resolved_package,
    unique,
    uv_hash,
    vcs_url,
)

#: sources that are the user's own project tree, not something fetched
OWN_SOURCES = ("editable", "virtual")


def uv_git_url(value: str) -> str:
    """``https://host/repo?rev=main#<commit>`` -> ``git+https://host/repo@<commit>`` (pip style)."""
    parts = urlsplit(value)
    commit = parts.fragment or None
    query = parse_qs(parts.query)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    subdirectory = (query.get("subdirectory") or [None])[0]
    return vcs_url("git", base, commit or (query.get("rev") or [None])[0], subdirectory)


def source_of(source) -> Tuple[Optional[str], Optional[str], bool]:
    """``(registry, direct_url, own)`` from a uv ``source`` table."""
    if not isinstance(source, dict):
        return None, None, False
    if any(k in source for k in OWN_SOURCES):
        return None, None, True
    if "registry" in source:
        return str(source["registry"]), None, False
    if "git" in source:
        return None, uv_git_url(str(source["git"])), False
    for key in ("url", "path", "directory"):
        if key in source:
            return None, str(source[key]), False
    return None, None, False


class UvLockSource(TomlLockSource):
    """A ``uv.lock`` file."""

    table = "package"

    def check_document(self, data: dict) -> Iterator[Finding]:
        """A uv lock has a ``version`` or at least one ``[[package]]``."""
        if "version" not in data and "package" not in data:
            raise SourceError("not a uv lock file: no version and no [[package]]", file=self.path)
        return iter(())

    def read_package(self, entry: dict, name: str, location: Location, registries: RegistryRefs) -> Iterator:
        """The package's registry (when new) and the resolved package; nothing for the project's own members."""
        registry, url, own = source_of(entry.get("source"))
        if own:
            return
        artifacts = ([entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []) + \
            [w for _, w in iter_tables(entry.get("wheels"))]
        hashes = unique(h for a in artifacts for h in uv_hash(a.get("hash")))
        new, indexes = registries.for_package(registry, location)
        yield from new
        requires = dependency_names(entry)
        yield resolved_package(name, entry.get("version"), url=url, hashes=hashes, indexes=indexes, location=location,
                               extra={"requires": requires} if requires else {})
