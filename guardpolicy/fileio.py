"""Reading input files with a size bound. Stdlib-only (the policy loader uses it).

A requirements file may ``-r /dev/zero``; a policy path may name a device or a runaway
generated file. Every input guard reads whole goes through ``read_bytes_limited`` so such a
file is one clear error instead of a hang that eats all memory.
"""

from __future__ import annotations

import errno

#: far above any real requirements, lock, report or policy file (a big uv.lock is a few MB)
MAX_INPUT_BYTES = 64 * 1024 * 1024


def read_bytes_limited(path, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of ``path``; ``OSError`` (with ``strerror``) when it is larger than ``limit``.

    Reads at most ``limit + 1`` bytes, so an endless file (``/dev/zero``) costs bounded time
    and memory.
    """
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit // (1024 * 1024)} MiB: not a file guard reads whole")
    return data


def decode_utf8(data: bytes) -> str:
    """UTF-8 text with an optional BOM removed (editors on Windows write one);
    ``UnicodeDecodeError`` as ``decode`` raises it."""
    return data.decode("utf-8-sig")


def error_line(data: bytes, exc: UnicodeDecodeError) -> int:
    """The 1-based line of the first undecodable byte."""
    return data[: exc.start].count(b"\n") + 1


def toml_error_line(message: str, text: str):
    """The line a ``tomllib.TOMLDecodeError`` message points at: ``(at line N, ...)``, or the
    last line of ``text`` for ``(at end of document)`` (an unclosed array or table); ``None``
    when the message says neither."""
    import re

    m = re.search(r"at line (\d+)", message)
    if m:
        return int(m.group(1))
    if "end of document" in message:
        return max(len(text.rstrip("\n").split("\n")), 1)
    return None


def walk_files(root, skip_dirs=frozenset()) -> list:
    """``(path inside root as POSIX, local path)`` for every file under ``root``, sorted by the
    inner path; folders named in ``skip_dirs`` are not entered, symlinked folders are not followed
    (``os.walk``'s default), symlinked files are listed."""
    import os

    out = []
    root = os.fspath(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
        for name in filenames:
            local = os.path.join(dirpath, name)
            out.append((os.path.relpath(local, root).replace(os.sep, "/"), local))
    out.sort()
    return out
