"""Offline vulnerability database: time to index an OSV zip the size of OSV's PyPI all.zip, and per-query cost.

Prints figures; asserts nothing. Run: python benchmarks/bench_vuln_db.py [records]
(needs ./plugins/guardpolicy-pip-audit installed). The records are synthetic but OSV-shaped
(GHSA-style, CVSS v3 vector, one ECOSYSTEM range), spread over 1/4 as many package names.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from guardpolicy_pip_audit import database
from guardpolicy_pip_audit.database import OsvDatabase


def make_zip(path: Path, n: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            rec = {"schema_version": "1.6.0", "id": f"GHSA-bench-{i:06d}", "aliases": [f"CVE-2099-{i}"],
                   "summary": "synthetic advisory " * 4, "details": "x" * 600,
                   "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N"}],
                   "affected": [{"package": {"ecosystem": "PyPI", "name": f"pkg{i % (n // 4 or 1)}"},
                                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": f"{i % 9 + 1}.0"}]}]}],
                   "database_specific": {"severity": "MODERATE"}}
            zf.writestr(f"GHSA-bench-{i:06d}.json", json.dumps(rec))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    with tempfile.TemporaryDirectory() as tmp:
        import os

        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # do not leave the index in the real cache
        path = Path(tmp) / "all.zip"
        t = time.perf_counter()
        make_zip(path, n)
        print(f"records: {n}, zip: {path.stat().st_size / 1e6:.1f} MB (built in {time.perf_counter() - t:.1f}s)")
        db = OsvDatabase(path)
        t = time.perf_counter()
        db.name_index()
        first = time.perf_counter() - t
        t = time.perf_counter()
        q = 1000
        for i in range(q):
            db.query(f"pkg{i}", "0.5")
        per = (time.perf_counter() - t) / q
        database._cache.clear()
        t = time.perf_counter()
        db.name_index()  # a new process: the persisted index
        warm = time.perf_counter() - t
        print(f"first index build: {first:.2f}s   later runs (persisted index): {warm * 1e3:.0f} ms   "
              f"query: {per * 1e6:.0f} us   ratio build/persisted: {first / warm:.0f}x")


if __name__ == "__main__":
    main()
