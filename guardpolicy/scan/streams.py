"""Decode one compressed stream, bounded, keeping what a broken stream decoded before it broke.

``decode(kind, raw, cap)`` handles every stream kind ``detect.sniff`` names: ``gzip``, ``zlib``,
``bz2``, ``xz``, ``lzma`` (LZMA "alone", joblib ``compress="lzma"``), ``zstd``, ``lz4`` and
``joblib-zfile`` (joblib < 0.10: ``ZF`` + hex length + zlib). Streams written back to back are
read as one, as the file readers (``gzip.open``, ``LZMAFile``, joblib's readers) do.

A loader unpickles while it decompresses, so a payload before a corrupt byte has already run
when the error comes: the output up to the bad byte is returned with the error, never dropped.
"""

from __future__ import annotations

import io
from typing import NamedTuple, Optional

from .detect import zfile_body

#: input fed per call; a chunk that fails is replayed a byte at a time to keep its good output
_STEP = 16 * 1024
#: the error of a stream that stops before its end (the input, or a prefix of it, is cut short)
TRUNCATED = "compressed data ends before the end of the stream"


class Unsupported(Exception):
    """No decoder for this kind can be imported (an optional dependency is missing)."""


class Decoded(NamedTuple):
    """At most ``cap + 1`` bytes of output (more than ``cap`` means the cap was hit) and the
    error that stopped decoding, if one did (``data`` then holds what came before it)."""

    data: bytes
    error: Optional[str]


def decode(kind: str, raw, cap: int) -> Decoded:
    """Decompress ``raw`` (a ``kind`` stream, or several back to back), producing at most ``cap + 1`` bytes."""
    opener = _opener(kind)  # raises Unsupported before any work
    # a joblib ZF file: its zlib data follows the header (sniff checked there is one)
    raw = memoryview(raw)[zfile_body(raw[:64]):] if kind == "joblib-zfile" else memoryview(raw)
    if hasattr(opener, "pull"):
        return opener.pull(raw, cap)
    out, error, failed_at = _push(opener, raw, cap, fine_from=None)
    if failed_at is not None:
        # the failing chunk's output was lost with the exception: replay it byte by byte
        out, error, _ = _push(opener, raw, cap, fine_from=failed_at)
    return Decoded(out, error)


def _push(opener, raw: memoryview, cap: int, fine_from: Optional[int]):
    """Feed ``raw`` to fresh decompressors stream after stream: ``(output, error, failing chunk start)``."""
    # BytesIO hands its buffer over in getvalue(): the output is not held twice at the end
    out = io.BytesIO()
    pos, end = 0, len(raw)
    d, first, produced = opener(), True, 0
    while pos < end:
        step = 1 if fine_from is not None and pos >= fine_from else _STEP
        chunk = raw[pos:pos + step]
        try:
            got = d.decompress(chunk, cap + 1 - out.tell())
        except Exception as exc:  # noqa: BLE001 - third-party decoders raise anything on hostile bytes
            if not first and not produced:
                break  # trailing bytes that start no stream: the file readers ignore them too
            return out.getvalue(), _message(exc), (pos if step > 1 else None)
        out.write(got)
        produced += len(got)
        pos += len(chunk)
        if out.tell() > cap:
            return out.getvalue(), None, None
        if d.eof:
            unused = d.unused_data or b""  # lz4's is None until it has some
            if len(unused) >= len(chunk):
                break  # a stream that ended before this chunk: guards the loop against a stuck decoder
            pos -= len(unused)
            if pos < end:
                d, first, produced = opener(), False, 0
    if not d.eof and (first or produced):
        # a truncated stream (a follow-on one that gave nothing is trailing bytes, as above)
        return out.getvalue(), TRUNCATED, None
    return out.getvalue(), None, None


def _message(exc: Exception) -> str:
    """An exception as a short message."""
    text = str(exc) or type(exc).__name__
    return text[:200]


# -- decoders ------------------------------------------------------------------------------------

def _opener(kind: str):
    """A callable returning a fresh decompressor for ``kind`` (or an object with ``pull``)."""
    try:
        return _import_opener(kind)
    except ImportError as exc:  # a Python built without zlib, bz2 or lzma
        raise Unsupported(f"its decoder cannot be imported ({exc})") from None


def _import_opener(kind: str):
    """``_opener`` without the ImportError translation."""
    # imports are lazy: ``guard scan`` start-up pays for every module, and a file needs one decoder at most
    if kind in ("gzip", "zlib", "joblib-zfile"):
        import zlib

        wbits = 31 if kind == "gzip" else 15
        return lambda: zlib.decompressobj(wbits)
    if kind == "bz2":
        import bz2

        return bz2.BZ2Decompressor
    if kind in ("xz", "lzma"):
        import lzma

        # the auto decoder takes .xz and .lzma alike, as LZMAFile (and so joblib) reads them
        return lambda: lzma.LZMADecompressor(lzma.FORMAT_AUTO)
    if kind == "zstd":
        return _zstd_opener()
    if kind == "lz4":
        try:
            # lazy and optional: lz4 is not a dependency; joblib writes it only when it is installed
            from lz4.frame import LZ4FrameDecompressor
        except ImportError:
            raise Unsupported("the lz4 package is not installed") from None
        return LZ4FrameDecompressor
    raise Unsupported(f"no decoder for {kind}")


def _zstd_opener():
    """The first zstd binding that imports: the standard library's (3.14+), its backport, pyzstd, zstandard."""
    # lazy: every binding is optional, and most scans never meet a zstd stream
    for name in ("compression.zstd", "backports.zstd", "pyzstd"):
        try:
            module = __import__(name, fromlist=["ZstdDecompressor"])
            return module.ZstdDecompressor
        except ImportError:
            continue
    try:
        import zstandard
    except ImportError:
        raise Unsupported("no zstd decoder is installed (backports.zstd, pyzstd or zstandard)") from None
    return _ZstandardPull(zstandard)


class _ZstandardPull:
    """zstandard's decompressobj cannot bound its output, so read its stream reader in chunks instead."""

    def __init__(self, zstandard):
        self._z = zstandard

    def pull(self, raw: memoryview, cap: int) -> Decoded:
        """Read up to ``cap + 1`` bytes across frames; an error keeps the chunks read before it."""
        out = io.BytesIO()
        try:
            reader = self._z.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
            while out.tell() <= cap:
                got = reader.read(min(_STEP * 4, cap + 1 - out.tell()))
                if not got:
                    break
                out.write(got)
        except Exception as exc:  # noqa: BLE001 - see _push
            return Decoded(out.getvalue(), _message(exc))
        return Decoded(out.getvalue(), None)
