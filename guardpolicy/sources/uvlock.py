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

from ..model import Finding, Location, PackageRef
from .interface import Source, SourceError
from .locks import RegistryRefs, iter_tables, located, table_header_lines, unique, uv_hash, vcs_url
from .textpos import load_toml

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


class UvLockSource(Source):
    """A ``uv.lock`` file."""

    def __init__(self, path):
        self.path = str(path)
        self.name = self.path

    def collect(self) -> Iterator:
        """Yield registries (once each), resolved packages and ``invalid`` findings."""
        data, text = load_toml(self.path)
        if "version" not in data and "package" not in data:
            raise SourceError("not a uv lock file: no version and no [[package]]", file=self.path)
        packages = data.get("package", [])
        if not isinstance(packages, list):
            raise SourceError("package must be an array of tables", file=self.path)
        lines = table_header_lines(text, "package")
        registries = RegistryRefs()
        for i, entry in iter_tables(packages):
            loc = Location(self.path, located(lines, i))
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                yield Finding(rule="invalid", subject=self.path, location=loc, message="package entry without a name",
                              suggestion="re-create the lock file with uv lock; every [[package]] entry needs a name")
                continue
            registry, url, own = source_of(entry.get("source"))
            if own:
                continue
            ver = entry.get("version")
            artifacts = ([entry["sdist"]] if isinstance(entry.get("sdist"), dict) else []) + \
                [w for _, w in iter_tables(entry.get("wheels"))]
            hashes = unique(h for a in artifacts for h in uv_hash(a.get("hash")))
            indexes = ()
            if registry:
                ref, new = registries.get(registry, loc)
                if new:
                    yield ref
                indexes = (ref,)
            yield PackageRef(name=name, specifier=f"=={ver}" if ver else "", version=str(ver) if ver else None,
                             url=url, hashes=hashes, indexes=indexes, location=loc)
