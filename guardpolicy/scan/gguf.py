"""GGUF files: the metadata read by hand within bounds, and the chat templates in it judged.

A GGUF file holds no pickle, but its metadata carries ``tokenizer.chat_template`` (and named
templates ``tokenizer.chat_template.<name>``), Jinja source that llama-cpp-python < 0.2.72
(CVE-2024-34359) and other servers render unsandboxed when the model is loaded. Everything
else in the metadata is skipped by length; tensor data is never touched.

Layout (v1-v3): magic ``GGUF``, uint32 version, tensor count and key/value count (uint32 in v1,
uint64 from v2), then each key/value: string key, uint32 type, value. Strings are a length
(uint32 in v1, uint64 from v2) and bytes; arrays an element type, a count and the elements.
Files are little-endian; a big-endian file (written for s390x) shows a byte-swapped version.
"""

from __future__ import annotations

from struct import unpack_from
from typing import List, Optional, Tuple

from .chat_template import template_constructs

#: fixed-size value types: uint8, int8, uint16, int16, uint32, int32, float32, bool, uint64, int64, float64
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
#: array elements walked one by one (string arrays: vocabularies, merges) before giving up
MAX_ITEMS = 8_000_000
#: metadata entries; real files have a few dozen
MAX_KEYS = 1 << 20
#: bytes of chat-template text judged per file (real templates are tens of KiB)
MAX_TEMPLATE = 8 << 20
_MAX_KEY = 1 << 16
_MAX_NESTING = 8

Problem = Tuple[str, str, Optional[int]]  # (kind, message, offset from the start of the GGUF data)


class _Bad(Exception):
    """The metadata cannot be read any further: ``kind`` is ``header`` or ``limit``."""

    def __init__(self, kind: str, message: str, offset: int, truncated: bool = False):
        super().__init__(message)
        self.kind, self.message, self.offset = kind, message, offset
        #: the data ended early (for a file read in part, more bytes might have made it readable)
        self.truncated = truncated


class _Reader:
    """A cursor over ``data[start:end]`` in the file's byte order and integer widths."""

    def __init__(self, data, start: int, end: int):
        self.data, self.start, self.end = data, start, end
        self.pos = start + 4
        self.items = 0
        self.order = "<"
        version = self.u32()
        if version not in (1, 2, 3):
            swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
            if swapped not in (1, 2, 3):
                raise _Bad("header", f"unsupported GGUF version {version}", 4)
            self.order, version = ">", swapped
        self.version = version
        # v1 counts and lengths are 32-bit, later versions 64-bit
        self.wide = version >= 2
        self.n_fmt = self.order + ("Q" if self.wide else "I")
        self.n_size = 8 if self.wide else 4

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.end:
            raise _Bad("header", f"GGUF {what} runs past the end of the data ({n} bytes at byte "
                                 f"{self.pos - self.start})", self.pos - self.start, truncated=True)

    def u32(self) -> int:
        self.need(4, "header")
        v = unpack_from(self.order + "I", self.data, self.pos)[0]
        self.pos += 4
        return v

    def count(self, what: str) -> int:
        self.need(self.n_size, what)
        v = unpack_from(self.n_fmt, self.data, self.pos)[0]
        self.pos += self.n_size
        return v

    def string(self, what: str, keep: int) -> Tuple[Optional[bytes], int, int]:
        """A string: its bytes when no longer than ``keep`` (else ``None``), its length and offset."""
        n = self.count(what)
        self.need(n, what)
        at = self.pos
        self.pos += n
        return (bytes(self.data[at:at + n]) if n <= keep else None), n, at - self.start

    def skip_strings(self, count: int) -> None:
        """Step over ``count`` strings (the hot loop: vocabularies hold a few hundred thousand)."""
        data, fmt, size, end = self.data, self.n_fmt, self.n_size, self.end
        pos = self.pos
        for _ in range(count):
            if pos + size > end:
                break
            pos += size + unpack_from(fmt, data, pos)[0]
            if pos > end:
                break
        else:
            self.pos = pos
            return
        raise _Bad("header", "GGUF string array runs past the end of the data", self.pos - self.start, truncated=True)


def _is_template_key(key: str) -> bool:
    # tokenizer.chat_template, tokenizer.chat_template.<name>; any spelling a loader might look up
    return "chat_template" in key.lower()


def read_templates(data, start: int, end: int) -> Tuple[List[Tuple[str, str, int]], Optional[_Bad]]:
    """The chat templates in a GGUF file's metadata: ``[(key, text, offset)]``, and what stopped the read."""
    out: List[Tuple[str, str, int]] = []
    if end - start < 4 or bytes(data[start:start + 4]) != b"GGUF":
        return out, _Bad("header", "not a GGUF file (no GGUF magic)", 0)
    kept = 0
    try:
        r = _Reader(data, start, end)
        tensors = r.count("tensor count")
        keys = r.count("metadata count")
        # each entry is at least a key length, a type and a one-byte value
        if keys > MAX_KEYS or keys * (r.n_size + 5) > end - r.pos:
            raise _Bad("header", f"GGUF header claims {keys} metadata entries, more than the file can hold",
                       r.pos - start - r.n_size, truncated=keys <= MAX_KEYS)
        for _ in range(keys):
            raw, _n, _at = r.string("metadata key", _MAX_KEY)
            key = raw.decode("utf-8", "replace") if raw is not None else ""
            vtype = r.u32()
            if _is_template_key(key):
                for text, at in _template_values(r, vtype, key):
                    kept += len(text)
                    if kept > MAX_TEMPLATE:
                        raise _Bad("limit", f"limit exceeded: GGUF chat templates hold more than {MAX_TEMPLATE} "
                                            "bytes (not checked)", at)
                    out.append((key, text, at))
            else:
                _skip_value(r, vtype, 0)
        # a tensor description is at least a name length, dimension count, type and offset
        if tensors * (r.n_size + 16) > end - r.pos:
            raise _Bad("header", f"GGUF header claims {tensors} tensors, more than the file can hold", 8,
                       truncated=True)
    except _Bad as bad:
        return out, bad
    return out, None


def _template_values(r: _Reader, vtype: int, key: str):
    """The text of a template entry: a string, or every string of a string array."""
    if vtype == _STRING:
        yield _template_text(r, key)
    elif vtype == _ARRAY and _peek_u32(r) == _STRING:
        r.pos += 4
        count = _array_count(r, _STRING)
        r.items += count
        if r.items > MAX_ITEMS:
            raise _Bad("limit", f"limit exceeded: GGUF chat template {key[:80]!r} is an array of {count} strings "
                                "(not checked)", r.pos - r.start)
        for _ in range(count):
            yield _template_text(r, key)
    else:
        _skip_value(r, vtype, 0)


def _template_text(r: _Reader, key: str) -> Tuple[str, int]:
    """One template string and its offset."""
    raw, size, at = r.string("chat template", MAX_TEMPLATE)
    if raw is None:
        raise _Bad("limit", f"limit exceeded: GGUF chat template {key[:80]!r} is {size} bytes (not checked)", at)
    return _decode(raw), at


def _peek_u32(r: _Reader) -> int:
    r.need(4, "array type")
    return unpack_from(r.order + "I", r.data, r.pos)[0]


def _decode(raw: bytes) -> str:
    # dropping undecodable bytes (rather than replacing them) shows what a lenient reader would render
    return raw.decode("utf-8", "ignore")


def _array_count(r: _Reader, etype: int) -> int:
    """An array's element count, refused when the elements could not fit in what is left."""
    n = r.count("array length")
    least = _FIXED.get(etype, r.n_size if etype == _STRING else 4 + r.n_size)
    if n * least > r.end - r.pos:
        raise _Bad("header", f"GGUF array claims {n} elements, more than the file can hold", r.pos - r.start,
                   truncated=True)
    return n


def _skip_value(r: _Reader, vtype: int, depth: int) -> None:
    """Step over one value of type ``vtype``."""
    size = _FIXED.get(vtype)
    if size is not None:
        r.need(size, "value")
        r.pos += size
    elif vtype == _STRING:
        n = r.count("string")
        r.need(n, "string")
        r.pos += n
    elif vtype == _ARRAY:
        if depth >= _MAX_NESTING:
            raise _Bad("header", "GGUF arrays nested too deeply", r.pos - r.start)
        etype = r.u32()
        if etype not in _FIXED and etype not in (_STRING, _ARRAY):
            raise _Bad("header", f"GGUF array of unknown type {etype}", r.pos - r.start - 4)
        n = _array_count(r, etype)
        if etype in _FIXED:
            r.pos += n * _FIXED[etype]
            return
        r.items += n
        if r.items > MAX_ITEMS:
            raise _Bad("limit", f"limit exceeded: GGUF metadata arrays hold more than {MAX_ITEMS} strings or arrays "
                                "(chat template not reached)", r.pos - r.start)
        if etype == _STRING:
            r.skip_strings(n)
        else:
            for _ in range(n):
                _skip_value(r, _ARRAY, depth + 1)
    else:
        raise _Bad("header", f"GGUF metadata value of unknown type {vtype}", r.pos - r.start - 4)


def gguf_problems(data, start: int, end: int, complete: bool = True) -> List[Problem]:
    """Problems of the GGUF file in ``data[start:end]``: injected chat templates, unreadable metadata.

    ``complete=False`` says ``data`` holds only the first bytes of a larger file (a compressed
    archive member read in part): metadata running past them is a ``limit``, not a bad header.
    """
    templates, bad = read_templates(data, start, end)
    out: List[Problem] = []
    for key, text, at in templates:
        found = template_constructs(text)
        if found:
            shown = "; ".join(found[:4]) + (f"; and {len(found) - 4} more" if len(found) > 4 else "")
            out.append(("code", f"GGUF chat template {key[:80]!r} reaches Python internals ({shown}): template "
                                "injection runs code when the model is loaded (CVE-2024-34359)", at))
    if bad is not None:
        if not complete and bad.truncated:
            out.append(("limit", f"limit exceeded: GGUF metadata extends past the {end - start} bytes read "
                                 "(chat template not checked)", bad.offset))
        else:
            out.append((bad.kind, bad.message if bad.kind == "limit" else f"invalid GGUF file: {bad.message}",
                        bad.offset))
    return out
