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
    "7z": "archive",
    "zstd": "archive",
    "lz4": "archive",
    "lzma": "archive",             # LZMA "alone" stream (.lzma; joblib compress="lzma")
    "joblib-zfile": "archive",     # joblib < 0.10 zlib file ("ZF" + hex length)
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
_7Z_MAGIC = b"7z\xbc\xaf\x27\x1c"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_LZ4_MAGICS = (b"\x04\x22\x4d\x18", b"\x02\x21\x4c\x18")  # frame, legacy
#: joblib < 0.10: "ZF", then the payload's length in hex padded to 19 characters, then zlib data
_ZFILE_HEAD = re.compile(rb"ZF\s*(?:0[xX])?[0-9a-fA-F]+\s*\Z")
_ZFILE_HEAD_LEN = 21
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
    if head[:6] == _7Z_MAGIC:
        return "7z"
    if head[:4] == _ZSTD_MAGIC:
        return "zstd"
    if head[:4] in _LZ4_MAGICS:
        return "lz4"
    if head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50:
        return _after_skippable_frames(data, start, end)
    if n > 262 and bytes(data[start + 257:start + 262]) == b"ustar":
        return "tar"
    if is_safetensors(data, start, end):
        return "safetensors"
    if is_lzma_alone(head):
        return "lzma"
    if head[:2] == b"ZF" and zfile_body(head):
        return "joblib-zfile"
    if len(head) >= 2 and head[0] == 0x78 and head[1] in (0x01, 0x5E, 0x9C, 0xDA):
        return "zlib"
    if _looks_onnx(head) or _onnx_any_order(data, start, end):
        return "onnx"
    if _probe_pickle(data, start, end):
        return "pickle"
    return _data_format(head) or ("msgpack" if _is_msgpack_document(data, start, end) else "unknown")


def is_safetensors(data, start: int, end: int) -> bool:
    """An 8-byte little-endian header length followed by a JSON object that fits in the file."""
    if end - start < 10:
        return False
    hlen = unpack_from("<Q", data, start)[0]
    if hlen < 2 or hlen > end - start - 8:
        return False
    return data[start + 8] == 0x7B  # '{'


def is_lzma_alone(head: bytes) -> bool:
    """An LZMA "alone" header as liblzma's auto decoder (``lzma.open``, ``joblib.load``) accepts it.

    The format has no magic number, so the header is held to exactly what that decoder takes:
    lc/lp/pb with lc + lp <= 4, a dictionary of 2^n or 2^n + 2^(n-1) bytes (or ``UINT32_MAX``),
    a size that is unknown or under 256 GiB, and the range coder's first byte, which is always 0.
    A declared size of 0 is left out: such a stream decodes to nothing, and zero-filled tensor
    bytes would otherwise all look like one.
    """
    if len(head) < 14 or head[0] > 224 or head[0] % 9 + head[0] // 9 % 5 > 4 or head[13] != 0:
        return False
    dict_size = unpack_from("<I", head, 1)[0]
    size = unpack_from("<Q", head, 5)[0]
    return (dict_size == 0xFFFFFFFF or _is_lzma_dict_size(dict_size)) and (size == (1 << 64) - 1 or 0 < size < 1 << 38)


def zfile_body(head) -> int:
    """Where the zlib data of a joblib < 0.10 ``ZF`` file starts, or 0 when ``head`` is not one."""
    if not _ZFILE_HEAD.match(bytes(head[:_ZFILE_HEAD_LEN])):
        return 0
    # joblib <= 0.8.4 wrote one more space; zlib data never starts with one (RFC 6713)
    body = _ZFILE_HEAD_LEN + (bytes(head[_ZFILE_HEAD_LEN:_ZFILE_HEAD_LEN + 1]) == b" ")
    return body if bytes(head[body:body + 1]) == b"\x78" else 0


def _is_lzma_dict_size(d: int) -> bool:
    """liblzma's test, bit for bit (``d - 1`` wraps for 0, which it therefore accepts too)."""
    x = (d - 1) & 0xFFFFFFFF
    x |= x >> 2
    x |= x >> 3
    x |= x >> 4
    x |= x >> 8
    x |= x >> 16
    return (x + 1) & 0xFFFFFFFF == d


def _after_skippable_frames(data, start: int, end: int) -> str:
    """zstd and lz4 share skippable frames (magic 0x184D2A5?, a length, a body): the frame after them decides."""
    pos = start
    for _ in range(64):  # a file of nothing but skippable frames is not worth following further
        if pos + 8 > end:
            break
        magic = bytes(data[pos:pos + 4])
        if magic == _ZSTD_MAGIC:
            return "zstd"
        if magic in _LZ4_MAGICS:
            return "lz4"
        if magic[1:4] != b"\x2a\x4d\x18" or magic[0] & 0xF0 != 0x50:
            return "unknown"
        pos += 8 + unpack_from("<I", data, pos + 4)[0]
    return "zstd"


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
    if _looks_sentencepiece(head):
        return "sentencepiece"
    return None


#: msgpack type byte -> (length bytes of the header, then ``None``: skip that many payload bytes, or a
#: container kind); fixed-size types map to their payload size
_MP_FIXED = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,
             0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}
_MP_SIZED = {0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0),
             0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1)}  # bin8/16/32, str8/16/32, ext8/16/32 (+ type byte)


def _is_msgpack_document(data, start: int, end: int, max_nodes: int = 200_000) -> bool:
    """True when ``data[start:end]`` is exactly one msgpack map with string keys (Flax/JAX weights).

    Walked structurally without copying payloads (tensors are ext/bin blobs), so a multi-GiB file
    costs its node count; random bytes essentially never parse to the exact end, so they stay
    "unknown". Bounded in nodes and depth.
    """
    if end - start < 2 or not (0x80 <= data[start] <= 0x8F or data[start] in (0xDE, 0xDF)):
        return False
    pos, todo, nodes = start, 1, 0   # todo: objects still to read; map entries count twice
    key_next: list = []              # per open container: True/False (a map: next is a key?), None (an array)
    stack: list = []                 # remaining objects per open container
    try:
        while True:
            if not stack and todo == 0:
                return pos == end
            nodes += 1
            if nodes > max_nodes or len(stack) > 64 or pos >= end:
                return False
            b = data[pos]
            pos += 1
            in_map_key = bool(key_next) and key_next[-1] is True
            if key_next and key_next[-1] is not None:
                key_next[-1] = not key_next[-1]
            is_str = False
            children, is_map = 0, False
            if b <= 0x7F or b >= 0xE0:
                pass
            elif 0x80 <= b <= 0x8F:
                children, is_map = (b & 0x0F) * 2, True
            elif 0x90 <= b <= 0x9F:
                children = b & 0x0F
            elif 0xA0 <= b <= 0xBF:
                pos += b & 0x1F
                is_str = True
            elif b in _MP_FIXED:
                pos += _MP_FIXED[b]
            elif b in _MP_SIZED:
                width, extra = _MP_SIZED[b]
                size = int.from_bytes(bytes(data[pos:pos + width]), "big")
                pos += width + extra + size
                is_str = b in (0xD9, 0xDA, 0xDB)
            elif b in (0xDC, 0xDD, 0xDE, 0xDF):
                width = 2 if b in (0xDC, 0xDE) else 4
                children = int.from_bytes(bytes(data[pos:pos + width]), "big")
                pos += width
                is_map = b in (0xDE, 0xDF)
                children *= 2 if is_map else 1
            else:
                return False  # 0xC1 is never used
            if in_map_key and not is_str:
                return False  # Flax keys are parameter names
            if pos > end:
                return False
            if stack:
                stack[-1] -= 1
            else:
                todo -= 1
            if children:
                stack.append(children)
                key_next.append(True if is_map else None)
            while stack and stack[-1] == 0:
                stack.pop()
                key_next.pop()
    except (IndexError, ValueError):
        return False


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
