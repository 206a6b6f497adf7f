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


class NotARegularFile(OSError):
    """The path is a FIFO, device, socket or folder: nothing to hash (reading it might never end)."""


def open_regular(path: PathLike):
    """``path`` opened for reading as a binary file object, only if it is a regular file.

    Opened non-blocking first (a FIFO would block ``open`` until a writer appears), then checked
    with ``fstat`` on the open descriptor (no swap between a check and the open), then switched
    back to blocking reads.
    """
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(0, "not a regular file", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: PathLike, buffer_size: int = BUFFER_SIZE, max_bytes: Optional[int] = None) -> str:
    """The sha256 hex digest of ``path``'s content (``OSError`` when unreadable or not a regular file).

    ``max_bytes``: read at most this many bytes (a file that grows past its locked size
    cannot hold the check forever; the digest of a prefix never matches the lock).
    """
    h = hashlib.sha256()
    buf = bytearray(buffer_size)
    view = memoryview(buf)
    left = max_bytes
    with open_regular(path) as fh:
        # hint the kernel: one sequential pass (cheap, ignored where unsupported)
        if hasattr(os, "posix_fadvise"):
            try:
                os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        readinto = fh.readinto
        update = h.update
        while left is None or left > 0:
            n = readinto(buf if left is None or left >= buffer_size else view[:left])
            if not n:
                break
            update(view[:n])
            if left is not None:
                left -= n
    return h.hexdigest()


def sha256_files(paths: Iterable[PathLike], jobs: Optional[int] = None,
                 max_bytes: Optional[Dict[str, int]] = None) -> Dict[str, Union[str, OSError]]:
    """``{path: hex digest or the OSError}`` for many files, hashed ``jobs`` at a time (threads).

    ``max_bytes`` maps a path to the most bytes to read from it (``sha256_file``).
    """
    paths = [os.fspath(p) for p in paths]
    jobs = max(1, min(jobs or min(4, os.cpu_count() or 1), len(paths) or 1))
    limits = max_bytes or {}

    def one(p):
        try:
            return p, sha256_file(p, max_bytes=limits.get(p))
        except OSError as exc:
            return p, exc

    if jobs == 1:
        return dict(map(one, paths))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(pool.map(one, paths))
