"""The offline vulnerability database: a folder or zip of OSV JSON records.

OSV publishes every PyPI advisory as ``https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip``
(one ``<id>.json`` per advisory); copy it (or its unpacked folder) into the air-gapped
network and point ``[rules.vulnerability] database`` at it. Records are indexed by PEP 503
name once per process (and re-read when the file changes). The zip is read member by member
with a size cap, so a hostile archive cannot exhaust memory.
"""

from __future__ import annotations

import json
import os
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping

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
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise VulnerabilitySourceError(f"{path}: not a readable zip of OSV records ({exc})") from None


def _records_from_dir(path: Path) -> Iterator[tuple[str, bytes]]:
    for file in sorted(path.rglob("*.json")):
        try:
            if file.stat().st_size > MAX_RECORD_BYTES:
                continue
            yield str(file), file.read_bytes()
        except OSError:
            continue


def load_index(path: Path) -> tuple[dict[str, list[Mapping[str, Any]]], int]:
    """``({canonical name: [records]}, skipped)``: PyPI records of a folder or zip; unreadable members are skipped and counted."""
    if path.is_dir():
        members = _records_from_dir(path)
    elif path.is_file():
        members = _records_from_zip(path)
    else:
        raise VulnerabilitySourceError(f"{path}: vulnerability database not found (a folder or zip of OSV JSON records)")
    index: dict[str, list] = {}
    skipped = 0
    for _name, data in members:
        try:
            record = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            skipped += 1
            continue
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            skipped += 1
            continue
        names = set()
        for entry in record.get("affected") or ():
            pkg = (entry.get("package") or {}) if isinstance(entry, dict) else {}
            if isinstance(pkg, dict) and pkg.get("ecosystem") == "PyPI" and pkg.get("name"):
                names.add(canonical(str(pkg["name"])))
        for n in names:
            index.setdefault(n, []).append(record)
    return index, skipped


class OsvDatabase(VulnerabilitySource):
    """Advisories from a local OSV folder or zip."""

    def __init__(self, path: os.PathLike | str):
        self.path = Path(path)
        self.name = f"osv-database:{self.path}"

    def index(self) -> dict:
        """The name index, loaded once per (path, size, mtime)."""
        try:
            st = self.path.stat()
            key = (str(self.path.resolve()), st.st_size, st.st_mtime_ns)
        except OSError:
            raise VulnerabilitySourceError(f"{self.path}: vulnerability database not found (a folder or zip of OSV JSON records)") from None
        with _lock:
            if key not in _cache:
                _cache.clear()  # one database per process is the norm; do not hoard old ones
                _cache[key] = load_index(self.path)[0]
            return _cache[key]

    def query(self, name: str, version: str) -> list[Advisory]:
        """Every record in the database affecting ``name==version``."""
        out = []
        for record in self.index().get(canonical(name), ()):
            if affects(record, name, version):
                out.append(advisory_from_record(record, name, version, source="osv-database"))
        return sorted(out, key=lambda a: a.id)
