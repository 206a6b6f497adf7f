"""Streaming sha256 of files at disk speed, in constant memory.

``sha256_file`` reads into one reused buffer (``readinto`` + ``memoryview``: no per-chunk
allocation) and feeds OpenSSL's sha256 through ``hashlib``, which releases the GIL on large
updates, so ``sha256_files`` can hash several files in parallel threads. The buffer size was
checked with ``benchmarks/bench_verify.py``: from 64 KiB to 4 MiB every size reaches the in-memory
hashlib ceiling within noise on a page-cached file; 256 KiB stays in the L2 cache between
``readinto`` and the hash, and keeps memory per parallel job small.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Iterable, Optional, Union

BUFFER_SIZE = 1 << 18

PathLike = Union[str, "os.PathLike[str]"]


def sha256_file(path: PathLike, buffer_size: int = BUFFER_SIZE) -> str:
    """The sha256 hex digest of ``path``'s content (``OSError`` when unreadable)."""
    h = hashlib.sha256()
    buf = bytearray(buffer_size)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        # hint the kernel: one sequential pass (cheap, ignored where unsupported)
        if hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        readinto = fh.readinto
        update = h.update
        while True:
            n = readinto(buf)
            if not n:
                break
            update(view[:n])
    return h.hexdigest()


def sha256_files(paths: Iterable[PathLike], jobs: Optional[int] = None) -> Dict[str, Union[str, OSError]]:
    """``{path: hex digest or the OSError}`` for many files, hashed ``jobs`` at a time (threads)."""
    paths = [os.fspath(p) for p in paths]
    jobs = max(1, min(jobs or min(4, os.cpu_count() or 1), len(paths) or 1))

    def one(p):
        try:
            return p, sha256_file(p)
        except OSError as exc:
            return p, exc

    if jobs == 1:
        return dict(map(one, paths))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(one, paths))
