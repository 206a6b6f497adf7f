"""Tell a model file's format from its bytes, never from its name.

``sniff(data, start, end)`` looks at magic numbers and, for protocol 0/1 pickles (which have
none), runs the static pickle machine on a short prefix. A pickle renamed ``.safetensors``,
``.txt`` or ``.bin`` is still a pickle.
"""

from __future__ import annotations

import re
from struct import unpack_from

#: every format name the scanner reports; the ``family`` says what ``[hub] allowed_formats`` matches
FAMILIES = {
    "pickle": "pickle",            # a raw pickle stream (any protocol)
    "torch": "pickle",             # torch zip checkpoint (pickles inside)
    "torchscript": "torchscript",  # torch.jit.save archive (TorchScript code + pickles for torch's C++ loader)
    "torch-legacy": "pickle",      # torch < 1.6 format: pickles in sequence
    "joblib": "pickle",            # joblib dump (pickle with inline arrays)
    "numpy-object": "pickle",      # .npy with an object dtype (a pickle follows the header)
    "numpy": "numpy",              # .npy / .npz with plain dtypes
    "keras": "keras",              # Keras v3 .keras zip
    "hdf5": "hdf5",                # HDF5 (Keras 2 .h5 and others)
    "safetensors": "safetensors",
    "gguf": "gguf",
    "onnx": "onnx",
    "zip": "archive",
    "tar": "archive",
    "gzip": "archive",
    "bz2": "archive",
    "xz": "archive",
    "zlib": "archive",
}

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ONNX_TAGS = frozenset([0x12, 0x1A, 0x22, 0x2A, 0x32, 0x3A, 0x42, 0x52, 0x5A, 0x62, 0x72, 0x7A])
_IDENT = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*\Z")
#: opcodes a protocol 0/1 pickle can start with (no PROTO header)
_P0_START = frozenset(b"(cdil]}).NIJKLFGSTUVXBCPgh\x80")


def family(fmt: str) -> str:
    """The allow-list family of a format name (``torch`` -> ``pickle``)."""
    return FAMILIES.get(fmt, fmt)


def sniff(data, start: int = 0, end: int | None = None) -> str:
    """The format of ``data[start:end]``: a key of ``FAMILIES`` or ``unknown``."""
    end = len(data) if end is None else end
    n = end - start
    if n <= 0:
        return "unknown"
    head = bytes(data[start:start + min(n, 64)])
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return "zip"
    if head[:1] == b"\x80" and len(head) >= 2 and head[1] <= 5:
        return "pickle"
    if head[:6] == b"\x93NUMPY":
        return "numpy"
    if head[:8] == _HDF5_MAGIC:
        return "hdf5"
    if head[:4] == b"GGUF":
        return "gguf"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh" and len(head) > 3 and 0x31 <= head[3] <= 0x39:
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if n > 262 and bytes(data[start + 257:start + 262]) == b"ustar":
        return "tar"
    if is_safetensors(data, start, end):
        return "safetensors"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "zlib"
    if head[0] != 0x80 and head[0] in _P0_START and _probe_protocol0(data, start, end):
        return "pickle"
    if _looks_onnx(head) or _onnx_any_order(data, start, end):
        return "onnx"
    return "unknown"


def is_safetensors(data, start: int, end: int) -> bool:
    """An 8-byte little-endian header length followed by a JSON object that fits in the file."""
    if end - start < 10:
        return False
    hlen = unpack_from("<Q", data, start)[0]
    if hlen < 2 or hlen > end - start - 8:
        return False
    return data[start + 8] == 0x7B  # '{'


def _looks_onnx(head: bytes) -> bool:
    # ModelProto: field 1 (ir_version, varint) first, then a length-delimited field
    """A protobuf ModelProto start: ir_version varint, then a length-delimited field."""
    return len(head) >= 4 and head[0] == 0x08 and 1 <= head[1] <= 20 and head[2] in _ONNX_TAGS


def _onnx_any_order(data, start: int, end: int) -> bool:
    """A ModelProto whose fields are not in ``onnx.save`` order (parsers accept any order)."""
    first = data[start]
    if first >> 3 == 0 or first & 7 not in (0, 1, 2, 3, 5):
        return False  # not a protobuf tag: most unknown files stop here
    from .onnx import looks_like_model

    return looks_like_model(data, start, end)


def _probe_protocol0(data, start: int, end: int) -> bool:
    """A PROTO-less pickle: parses to STOP, or runs a few opcodes including an import."""
    from .pickle_vm import PickleMachine
    from .limits import ScanLimits

    probe_end = min(end, start + 65536)
    res = PickleMachine(data, start, probe_end, ScanLimits(max_opcodes=4000, max_nested=0), joblib=False).run()
    if res.stopped:
        return True
    good = [g for g in res.globals if _IDENT.match(g.module.encode("utf-8", "replace"))
            and _IDENT.match(g.name.encode("utf-8", "replace"))]
    return bool(good) and res.opcodes >= 4
