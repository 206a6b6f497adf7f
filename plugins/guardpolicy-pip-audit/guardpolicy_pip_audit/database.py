"""The offline vulnerability database: a folder or zip of OSV JSON records.

OSV publishes every PyPI advisory as ``https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip``
(one ``<id>.json`` per advisory); copy it (or its unpacked folder) into the air-gapped
network and point ``[rules.vulnerability] database`` at it. Records are indexed by PEP 503
name once per database version (the index persists in the user cache folder); a check reads
only the records of its packages. The zip is read member by member with a size cap, so a
hostile archive cannot exhaust memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

from .interface import Advisory, VulnerabilitySource, VulnerabilitySourceError
from .osv import advisory_from_record, affects, canonical

#: one OSV record is a few KiB; anything past this is not a record
MAX_RECORD_BYTES = 4 * 1024 * 1024

_cache: dict = {}
_lock = threading.Lock()


def _records_from_zip(path: Path) -> Iterator[tuple[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    continue
                with zf.open(info) as fh:
                    data = fh.read(MAX_RECORD_BYTES + 1)  # the header's size may lie: cap what we read
                if len(data) <= MAX_RECORD_BYTES:
                    yield info.filename, data
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        raise VulnerabilitySourceError(f"{path}: not a readable zip of OSV records ({exc})") from None


def _records_from_dir(path: Path) -> Iterator[tuple[str, bytes]]:
    for file in sorted(path.rglob("*.json")):
        try:
            if file.stat().st_size > MAX_RECORD_BYTES:
                continue
            yield file.relative_to(path).as_posix(), file.read_bytes()
        except OSError:
            continue


def _parse(data: bytes) -> Optional[dict]:
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("id"), str) else None


def _pypi_names(record: Mapping[str, Any]) -> set[str]:
    names = set()
    for entry in record.get("affected") or ():
        pkg = (entry.get("package") or {}) if isinstance(entry, dict) else {}
        if isinstance(pkg, dict) and pkg.get("ecosystem") == "PyPI" and pkg.get("name"):
            names.add(canonical(str(pkg["name"])))
    return names


def _members(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        return _records_from_dir(path)
    if path.is_file():
        return _records_from_zip(path)
    raise VulnerabilitySourceError(f"{path}: vulnerability database not found (a folder or zip of OSV JSON records)")


def load_index(path: Path) -> tuple[dict[str, list[Mapping[str, Any]]], int]:
    """``({canonical name: [records]}, skipped)``: PyPI records of a folder or zip; unreadable members are skipped and counted."""
    index: dict[str, list] = {}
    skipped = 0
    for _name, data in _members(path):
        record = _parse(data)
        if record is None:
            skipped += 1
            continue
        for n in _pypi_names(record):
            index.setdefault(n, []).append(record)
    return index, skipped


def build_name_index(path: Path) -> dict[str, list[str]]:
    """``{canonical name: [member names]}``: which records to read for a package (the persisted index).

    A database without a single readable PyPI record is an error, not an empty database: an
    unmounted volume, the wrong folder or a zip of something else must not read as "no known
    vulnerabilities" (a silent allow). Single broken members are skipped (a hostile or
    truncated member must not hide the rest).
    """
    index: dict[str, list[str]] = {}
    members = readable = 0
    for member, data in _members(path):
        members += 1
        record = _parse(data)
        if record is not None:
            readable += 1
        for n in _pypi_names(record) if record is not None else ():
            index.setdefault(n, []).append(member)
    if not index:
        raise VulnerabilitySourceError(
            f"{path}: no PyPI OSV records ({members} .json file{'s' if members != 1 else ''}, {readable} readable "
            f"OSV record{'s' if readable != 1 else ''}); expected a folder or zip of OSV JSON such as OSV's PyPI/all.zip")
    return index


def database_key(path: Path) -> str:
    """Changes whenever the database may have changed: path, size and mtime (of every record, for a folder)."""
    try:
        st = path.stat()
        parts = [str(path.resolve()), str(st.st_size), str(st.st_mtime_ns)]
        if path.is_dir():
            for f in sorted(path.rglob("*.json")):
                fs = f.stat()
                parts.append(f"{f.relative_to(path).as_posix()}:{fs.st_size}:{fs.st_mtime_ns}")
    except OSError:
        raise VulnerabilitySourceError(f"{path}: vulnerability database not found (a folder or zip of OSV JSON records)") from None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def index_cache_dir() -> Path:
    """Where name indexes persist between runs: ``<user cache dir>/guardpolicy/osv-index``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("guardpolicy", appauthor=False)) / "osv-index"


def _load_cached_index(key: str) -> Optional[dict]:
    try:
        data = json.loads((index_cache_dir() / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        return data  # an empty index is never stored: rebuild (and report) instead of reading "no advisories"
    return None


def _store_cached_index(key: str, index: dict) -> None:
    folder = index_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(index, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, folder / f"{key}.json")  # atomic: concurrent runs never read half an index
    except OSError:
        pass  # a read-only cache only costs speed


class OsvDatabase(VulnerabilitySource):
    """Advisories from a local OSV folder or zip.

    The first run over a database builds a name index (package -> record files) and keeps it in
    the user cache folder, keyed by the database's path, size and mtime; later runs read only the
    records of the packages they check (a full PyPI ``all.zip`` costs seconds to index, a query
    milliseconds: benchmarks/bench_vuln_db.py).
    """

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        self.name = f"osv-database:{self.path}"
        self._zip: Optional[zipfile.ZipFile] = None

    def name_index(self) -> dict:
        """``{canonical name: [member names]}``: in-process cache, then the persisted index, then a scan."""
        key = database_key(self.path)
        with _lock:
            if key in _cache:
                return _cache[key]
        index = _load_cached_index(key)
        if index is None:
            index = build_name_index(self.path)
            _store_cached_index(key, index)
        with _lock:
            _cache.clear()  # one database per process is the norm; do not hoard old ones
            _cache[key] = index
        return index

    def _read(self, members: list[str]) -> list[dict]:
        out = []
        if self.path.is_dir():
            for m in members:
                try:
                    data = (self.path / m).read_bytes()
                except OSError:
                    continue
                record = _parse(data) if len(data) <= MAX_RECORD_BYTES else None
                if record is not None:
                    out.append(record)
            return out
        try:
            if self._zip is None:  # opened once per run: reading a 20k-entry central directory costs ~0.1 s
                self._zip = zipfile.ZipFile(self.path)
            for m in members:
                try:
                    with self._zip.open(m) as fh:
                        data = fh.read(MAX_RECORD_BYTES + 1)
                except KeyError:
                    continue
                record = _parse(data) if len(data) <= MAX_RECORD_BYTES else None
                if record is not None:
                    out.append(record)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
            raise VulnerabilitySourceError(f"{self.path}: not a readable zip of OSV records ({exc})") from None
        return out

    def close(self) -> None:
        """Close the zip, if one is open."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def query(self, name: str, version: str) -> list[Advisory]:
        """Every record in the database affecting ``name==version``."""
        out = []
        for record in self._read(self.name_index().get(canonical(name), [])):
            if affects(record, name, version):
                out.append(advisory_from_record(record, name, version, source="osv-database"))
        return sorted(out, key=lambda a: a.id)
