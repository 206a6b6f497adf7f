"""Helpers shared by the lock-file and report sources (pylock.toml, uv.lock, pip reports)."""

from __future__ import annotations

import re
from typing import Iterable, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..model import Finding, IndexRef, Location, PackageRef
from ..names import canonicalize_name
from .interface import Source, SourceError
from .textpos import load_toml

PYPI_SIMPLE = "https://pypi.org/simple"
#: hosts that serve PyPI's files: a download from them came from PyPI
PYPI_FILE_HOSTS = ("files.pythonhosted.org", "pypi.org", "pypi.python.org")


def hash_strings(hashes: Optional[Mapping]) -> Tuple[str, ...]:
    """``{"sha256": "ab..."}`` -> ``("sha256:ab...",)``; other shapes give ``()``."""
    if not isinstance(hashes, Mapping):
        return ()
    return tuple(f"{algo.lower()}:{str(digest).lower()}" for algo, digest in hashes.items() if isinstance(digest, str))


def uv_hash(value) -> Tuple[str, ...]:
    """uv's ``hash = "sha256:ab..."`` -> ``("sha256:ab...",)``."""
    if isinstance(value, str) and ":" in value:
        algo, digest = value.split(":", 1)
        return (f"{algo.lower()}:{digest.lower()}",)
    return ()


def unique(items: Iterable[str]) -> Tuple[str, ...]:
    """Order-preserving de-duplication."""
    return tuple(dict.fromkeys(items))


def vcs_url(kind: str, url: str, commit: Optional[str], subdirectory: Optional[str] = None) -> str:
    """A pip-style VCS URL pinned to ``commit``: ``git+https://host/repo@<commit>``."""
    base = url if url.startswith(f"{kind}+") else f"{kind}+{url}"
    if commit:
        base = f"{base}@{commit}"
    if subdirectory:
        base = f"{base}#subdirectory={subdirectory}"
    return base


def download_origin(url: str) -> str:
    """The registry a download URL came from: PyPI for its file hosts, else ``scheme://host``.

    A local ``file:`` download maps to its directory (find-links style).
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme in ("http", "https") and host in PYPI_FILE_HOSTS:
        return PYPI_SIMPLE
    if parts.scheme == "file":
        return url.rsplit("/", 1)[0] + "/"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


class RegistryRefs:
    """One ``IndexRef(kind="registry")`` per distinct registry, located where first seen."""

    def __init__(self):
        """No registry seen yet."""
        self.refs: dict = {}

    def get(self, url: str, location: Optional[Location]) -> Tuple[IndexRef, bool]:
        """The ref for ``url`` and whether it is new (to be yielded once)."""
        if url in self.refs:
            return self.refs[url], False
        ref = IndexRef(url, "registry", location)
        self.refs[url] = ref
        return ref, True

    def for_package(self, url: Optional[str], location: Optional[Location]) -> Tuple[tuple, tuple]:
        """``(new, indexes)`` for a package from registry ``url`` (``None`` or ``""``: no registry).

        ``indexes`` is the package's ``(ref,)``; ``new`` holds the ref too when this registry is
        seen for the first time, so the source yields it once for the ``source`` rule to judge.
        """
        if not url:
            return (), ()
        ref, new = self.get(url, location)
        return ((ref,) if new else ()), (ref,)


_NAME_AT_START = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def requirement_name(text) -> Optional[str]:
    """The canonical project name a PEP 508 string starts with (``None`` when there is none)."""
    m = _NAME_AT_START.match(text) if isinstance(text, str) else None
    return canonicalize_name(m.group(1)) if m else None


def dependency_names(entry: Mapping) -> Tuple[str, ...]:
    """Canonical names a lock entry says it depends on (evidence for rule ``typosquat``).

    Reads ``dependencies`` (uv.lock and pylock.toml: tables with ``name``), uv's
    ``optional-dependencies`` / ``dev-dependencies`` (tables of such lists) and pip's
    ``requires_dist`` (PEP 508 strings). Anything else is ignored: this is evidence, not a parse.
    """
    names = []

    def add(items) -> None:
        for item in items if isinstance(items, list) else ():
            name = item.get("name") if isinstance(item, dict) else requirement_name(item)
            if isinstance(name, str) and name:
                names.append(canonicalize_name(name))

    add(entry.get("dependencies"))
    add(entry.get("requires_dist"))
    for key in ("optional-dependencies", "dev-dependencies"):
        groups = entry.get(key)
        for items in groups.values() if isinstance(groups, dict) else ():
            add(items)
    return tuple(dict.fromkeys(names))


def resolved_package(name: str, version, **fields) -> PackageRef:
    """A ``PackageRef`` resolved to exactly ``version`` (``==version``); unversioned when it is empty."""
    return PackageRef(name=name, specifier=f"=={version}" if version else "", version=str(version) if version else None,
                      **fields)


class TomlLockSource(Source):
    """A TOML lock file with one array of package tables (``pylock.toml``, ``uv.lock``).

    ``collect`` reads the file, lets ``check_document`` vet it, locates each entry of the
    ``table`` array, reports nameless entries as ``invalid``, and hands every named one to
    ``read_package``.
    """

    #: the array of package tables: ``[[packages]]`` in pylock.toml, ``[[package]]`` in uv.lock
    table = "packages"

    def __init__(self, path):
        """The lock file at ``path``."""
        self.path = str(path)
        self.name = self.path

    def check_document(self, data: dict) -> Iterator[Finding]:
        """Raise ``SourceError`` when ``data`` is not this kind of lock file; yield findings about it as a whole."""
        return iter(())

    def read_package(self, entry: dict, name: str, location: Location, registries: RegistryRefs) -> Iterator:
        """Yield what one named package entry declares (its registry first, when new)."""
        raise NotImplementedError

    def collect(self) -> Iterator:
        """Yield registries (once each), resolved packages and ``invalid`` findings."""
        data, text = load_toml(self.path)
        yield from self.check_document(data)
        packages = data.get(self.table, [])
        if not isinstance(packages, list):
            raise SourceError(f"{self.table} must be an array of tables", file=self.path)
        lines = table_header_lines(text, self.table)
        registries = RegistryRefs()
        for i, entry in iter_tables(packages):
            loc = Location(self.path, located(lines, i))
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                yield Finding(rule="invalid", subject=self.path, location=loc, message="package entry without a name",
                              suggestion=f"re-create the lock file; every [[{self.table}]] entry needs a name")
                continue
            yield from self.read_package(entry, name, loc, registries)


def table_header_lines(text: str, header: str) -> List[int]:
    """Lines of every ``[[header]]`` array-of-tables entry, in order."""
    target = f"[[{header}]]"
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().replace(" ", "") == target]


def located(lines: List[int], index: int) -> Optional[int]:
    """``lines[index]`` or ``None`` when the scanner found fewer headers than entries."""
    return lines[index] if index < len(lines) else None


def iter_tables(value) -> Iterator[tuple]:
    """``(index, table)`` for each table in an array (non-tables are skipped)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item
