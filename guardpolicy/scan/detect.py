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
    # content no model loader runs code from: told apart so it is not "unrecognised binary content"
    "image": "data",
    "audio": "data",
    "video": "data",
    "pdf": "data",
    "tflite": "data",          # TensorFlow Lite flatbuffer (builtin and custom ops, no Python)
    "msgpack": "data",         # Flax/JAX weights (flax_model.msgpack)
    "sentencepiece": "data",   # tokenizer.model
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
    if _looks_onnx(head):
        return "onnx"
    if _probe_pickle(data, start, end):
        return "pickle"
    return _data_format(head) or "unknown"


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


_DATA_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", "image"), (b"\xff\xd8\xff", "image"), (b"GIF87a", "image"), (b"GIF89a", "image"),
    (b"%PDF-", "pdf"), (b"fLaC", "audio"), (b"OggS", "audio"), (b"ID3", "audio"),
)


def _data_format(head: bytes):
    """A data format no model loader runs code from (images, audio, TFLite, msgpack weights, a
    SentencePiece model), else ``None``. Asked only after the pickle probe said no."""
    for magic, name in _DATA_MAGICS:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"WEBP", b"AVI "):
        return {b"WAVE": "audio", b"WEBP": "image", b"AVI ": "video"}[head[8:12]]
    if head[4:8] == b"ftyp":
        return "video"
    if head[4:8] == b"TFL3":
        return "tflite"
    # msgpack: a map (fixmap 1-15 entries, map16, map32) whose first key is a string
    if len(head) > 5 and (0x81 <= head[0] <= 0x8F or head[0] in (0xDE, 0xDF)):
        key = head[1] if head[0] <= 0x8F else head[3] if head[0] == 0xDE else head[5]
        if 0xA0 <= key <= 0xBF or key in (0xD9, 0xDA, 0xDB):
            return "msgpack"
    if _looks_sentencepiece(head):
        return "sentencepiece"
    return None


def _varint(buf: bytes, pos: int):
    """``(value, next position)`` of a protobuf varint, or ``(None, pos)`` when it runs off ``buf``."""
    value, shift = 0, 0
    while pos < len(buf) and shift < 64:
        b = buf[pos]
        value |= (b & 0x7F) << shift
        pos += 1
        if not b & 0x80:
            return value, pos
        shift += 7
    return None, pos


def _looks_sentencepiece(head: bytes) -> bool:
    """A SentencePiece ``ModelProto``: ``pieces`` (field 1) whose first entry is a ``piece`` string
    (field 1) followed by its ``score`` float (field 2, fixed32): precise enough to tell it from
    other protobufs, which stay unrecognised."""
    if head[:1] != b"\x0a":
        return False
    n, pos = _varint(head, 1)
    if n is None or n < 7 or head[pos:pos + 1] != b"\x0a":
        return False
    k, pos = _varint(head, pos + 1)
    if k is None or k > 64 or pos + k >= len(head):
        return False
    return head[pos + k] == 0x15


def _probe_pickle(data, start: int, end: int) -> bool:
    """A pickle without the usual ``PROTO`` header, whatever its first opcode.

    ``pickle.load`` does not need the header: a protocol 0/1 stream has none, and a protocol 4
    stream with its first two bytes cut off (``FRAME``, ``SHORT_BINUNICODE``, ``BININT2`` ...
    first) loads just the same (picklescan's CVE-2025-1889 family). So every stream no magic
    number claimed is run on the static machine for a short prefix: it is a pickle when it parses
    to ``STOP``, or when it names a plausible global before breaking (a broken stream still runs
    what it imported before the break: a dangerous name alone is enough).
    """
    from .allowlist import danger
    from .limits import ScanLimits
    from .pickle_vm import PickleMachine

    probe_end = min(end, start + 65536)
    res = PickleMachine(data, start, probe_end, ScanLimits(max_opcodes=4000, max_nested=0), joblib=False).run()
    if res.stopped and res.opcodes >= 2:
        return True
    good = [g for g in res.globals if _IDENT.match(g.module.encode("utf-8", "replace"))
            and _IDENT.match(g.name.encode("utf-8", "replace"))]
    return bool(good) and (res.opcodes >= 4 or any(danger(g.module, g.name) for g in good))
