"""Helpers shared by the lock-file and report sources (pylock.toml, uv.lock, pip reports)."""

from __future__ import annotations

from typing import Iterable, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from ..model import IndexRef, Location

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
        self.refs: dict = {}

    def get(self, url: str, location: Optional[Location]) -> Tuple[IndexRef, bool]:
        """The ref for ``url`` and whether it is new (to be yielded once)."""
        if url in self.refs:
            return self.refs[url], False
        ref = IndexRef(url, "registry", location)
        self.refs[url] = ref
        return ref, True


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
