"""ONNX models: every tensor's external-data location, found by walking the protobuf by hand.

A tensor may keep its bytes outside the model (``data_location = EXTERNAL``); its
``external_data`` entries name the file (``location``), relative to the model's folder. onnx
before 1.16 (CVE-2024-27318, and CVE-2022-25882 before it) and other loaders join that path to
the folder without checking it: ``../../home/u/.ssh/id_rsa`` or ``/etc/shadow`` is read into a
tensor, where inference or re-export hands it to whoever crafted the model.

The walk follows only the messages that lead to tensors (model -> graph, functions, training
info; graph -> nodes, initializers, sparse initializers; node -> attributes; attribute ->
tensors, subgraphs), skips every other field by its length, and accepts whatever a protobuf
parser accepts (fields in any order, unknown fields, groups, a known field with another wire
type kept as unknown), so a model cannot hide a tensor from it by encoding alone.

Field numbers (onnx.proto): ModelProto graph=7 training_info=20 functions=25; GraphProto node=1
initializer=5 sparse_initializer=15; NodeProto attribute=5; AttributeProto t=5 g=6 tensors=10
graphs=11 sparse_tensor=22 sparse_tensors=23; FunctionProto node=7 attribute_proto=11;
TrainingInfoProto initialization=1 algorithm=2; SparseTensorProto values=1 indices=2;
TensorProto name=8 external_data=13; StringStringEntryProto key=1 value=2.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

_MODEL, _GRAPH, _NODE, _ATTRIBUTE, _FUNCTION, _TRAINING, _SPARSE, _TENSOR = range(8)
#: message kind -> {field number: kind of the embedded message}, only the paths that reach tensors
_CHILDREN = {
    _MODEL: {7: _GRAPH, 20: _TRAINING, 25: _FUNCTION},
    _GRAPH: {1: _NODE, 5: _TENSOR, 15: _SPARSE},
    _NODE: {5: _ATTRIBUTE},
    _ATTRIBUTE: {5: _TENSOR, 6: _GRAPH, 10: _TENSOR, 11: _GRAPH, 22: _SPARSE, 23: _SPARSE},
    _FUNCTION: {7: _NODE, 11: _ATTRIBUTE},
    _TRAINING: {1: _GRAPH, 2: _GRAPH},
    _SPARSE: {1: _TENSOR, 2: _TENSOR},
}
_TENSOR_NAME, _TENSOR_EXTERNAL = 8, 13
#: ModelProto's own fields and wire types (for telling an ONNX model from other bytes)
_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}

#: protobuf fields visited per model before giving up (a real model has a few million at most)
MAX_FIELDS = 20_000_000
#: nested messages (protobuf parsers stop at 100)
MAX_DEPTH = 512
_MAX_REPORTED = 20
_MAX_LOCATION = 1 << 16
#: onnxruntime reads a tensor from a raw memory address given in ``offset`` when it sees this tag
_ORT_MEMORY_TAG = "*/_ORT_MEM_ADDR_/*"
_DRIVE = re.compile(r"\A[A-Za-z]:")

Problem = Tuple[str, str, Optional[int]]


class _Malformed(Exception):
    """Bytes no protobuf parser accepts (so no loader reads this model either)."""


class _Limit(Exception):
    """The walk would exceed ``MAX_FIELDS`` or ``MAX_DEPTH``."""


def location_escape(location: str) -> Optional[str]:
    """Why an external-data location reaches outside the model's folder (``None`` when it stays inside)."""
    if "\x00" in location:
        return "contains a NUL byte"
    if location == _ORT_MEMORY_TAG:
        return "onnxruntime memory-address tag: reads process memory"
    if location.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(location):
        return "Windows drive path"
    for part in re.split(r"[/\\]", location):
        # Windows drops trailing dots and spaces from a path component: '... ' and '. .' name the parent too
        if part == ".." or (part.count(".") >= 2 and not part.rstrip(". ")):
            return "parent-directory segment"
    return None


def _varint(data, pos: int, end: int) -> Tuple[int, int]:
    """A base-128 varint at ``pos`` (at most 10 bytes, as parsers accept)."""
    result = shift = 0
    for i in range(10):
        if pos >= end:
            raise _Malformed("truncated varint")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
    raise _Malformed("varint longer than 10 bytes")


def _tag(data, pos: int, end: int, budget: List[int]) -> Tuple[int, int, int]:
    """The next field's ``(number, wire type, position after its tag)``, charged to ``budget``."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _Limit()
    tag, pos = _varint(data, pos, end)
    if tag >> 3 == 0:
        raise _Malformed("field number 0")
    return tag >> 3, tag & 7, pos


def _length(data, pos: int, end: int) -> Tuple[int, int]:
    """A length-delimited field's ``(size, start of its bytes)``; the bytes must fit in the message."""
    n, pos = _varint(data, pos, end)
    if pos + n > end:
        raise _Malformed("field runs past the end of its message")
    return n, pos


def _skip(data, pos: int, end: int, wire: int, field: int, budget: List[int]) -> int:
    """Step over one field's value; a group (wire type 3) up to its matching end-group tag."""
    if wire == 0:
        return _varint(data, pos, end)[1]
    if wire == 1:
        pos += 8
    elif wire == 5:
        pos += 4
    elif wire == 2:
        n, pos = _varint(data, pos, end)
        pos += n
    elif wire == 3:
        groups = [field]
        while groups:
            f, w, pos = _tag(data, pos, end, budget)
            if w == 4:
                if f != groups.pop():
                    raise _Malformed("unmatched end-group")
            elif w == 3:
                if len(groups) >= MAX_DEPTH:
                    raise _Limit()
                groups.append(f)
            else:
                pos = _skip(data, pos, end, w, f, budget)
        return pos
    else:
        raise _Malformed(f"wire type {wire}")
    if pos > end:
        raise _Malformed("field runs past the end of its message")
    return pos


def _tensor(data, pos: int, end: int, budget: List[int]) -> Tuple[str, List[str]]:
    """A TensorProto's name and every value of an external-data entry keyed ``location``."""
    name, locations = "", []
    while pos < end:
        field, wire, pos = _tag(data, pos, end, budget)
        if wire == 2 and field in (_TENSOR_NAME, _TENSOR_EXTERNAL):
            n, pos = _length(data, pos, end)
            if field == _TENSOR_NAME:
                name = _text(data, pos, min(pos + n, pos + 256))
            else:
                locations.extend(_entry_locations(data, pos, pos + n, budget))
            pos += n
        else:
            pos = _skip(data, pos, end, wire, field, budget)
    if pos != end:
        raise _Malformed("field runs past the end of its message")
    return name, locations


def _entry_locations(data, pos: int, end: int, budget: List[int]) -> List[str]:
    """Values of a StringStringEntryProto whose key is ``location`` (repeated fields: every one counts)."""
    keys, values = [], []
    while pos < end:
        field, wire, pos = _tag(data, pos, end, budget)
        if wire == 2 and field in (1, 2):
            n, pos = _length(data, pos, end)
            (keys if field == 1 else values).append(_text(data, pos, pos + min(n, _MAX_LOCATION)))
            pos += n
        else:
            pos = _skip(data, pos, end, wire, field, budget)
    if pos != end:
        raise _Malformed("field runs past the end of its message")
    # the last key wins in a parser; any key 'location' is taken, so a decoy key cannot hide a value
    return values if "location" in keys else []


def _text(data, start: int, end: int) -> str:
    # surrogateescape keeps every byte (a NUL or an invalid byte is judged, not lost)
    return bytes(data[start:end]).decode("utf-8", "surrogateescape")


def external_locations(data, start: int, end: int) -> Tuple[List[Tuple[str, str, int]], Optional[str]]:
    """Every ``(tensor name, location, offset)`` in the model, and why the walk stopped early (or ``None``).

    The stop reason is ``malformed`` (no parser accepts the bytes after that point) or ``limit``.
    """
    found: List[Tuple[str, str, int]] = []
    budget = [MAX_FIELDS]
    stack = [(_MODEL, start, end, 0)]
    try:
        while stack:
            kind, pos, stop, depth = stack.pop()
            children = _CHILDREN[kind]
            while pos < stop:
                field, wire, pos = _tag(data, pos, stop, budget)
                child = children.get(field)
                if wire != 2 or child is None:
                    pos = _skip(data, pos, stop, wire, field, budget)
                    continue
                n, pos = _length(data, pos, stop)
                if child == _TENSOR:
                    name, locations = _tensor(data, pos, pos + n, budget)
                    found.extend((name, loc, pos - start) for loc in locations)
                else:
                    if depth + 1 > MAX_DEPTH:
                        raise _Limit()
                    stack.append((child, pos, pos + n, depth + 1))
                pos += n
            if pos != stop:
                raise _Malformed("field runs past the end of its message")
    except _Malformed:
        return found, "malformed"
    except _Limit:
        return found, "limit"
    return found, None


def onnx_problems(data, start: int, end: int) -> Tuple[List[Problem], bool]:
    """Problems of the ONNX model in ``data[start:end]``, and whether it parsed as a protobuf to its end.

    A model that does not parse is not reported as such: no loader reads it, so no external
    file is read either (the caller may look at the bytes another way).
    """
    found, stopped = external_locations(data, start, end)
    return problems_for(found, stopped), stopped is None


def problems_for(found: List[Tuple[str, str, int]], stopped: Optional[str]) -> List[Problem]:
    """The problems of what ``external_locations`` found (escaping paths, a walk cut short by a limit)."""
    out: List[Problem] = []
    for name, location, offset in found:
        why = location_escape(location)
        if why is None:
            continue
        if len(out) == _MAX_REPORTED:
            out.append(("code", "more ONNX external data paths escape the model folder (not listed)", offset))
            break
        shown = location.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        out.append(("code", f"ONNX external data path escapes the model folder: tensor {name[:80]!r} reads "
                            f"{shown[:200]!r} ({why}): loading the model reads that file (CVE-2024-27318)", offset))
    if stopped == "limit":
        out.append(("limit", f"limit exceeded: ONNX model has more than {MAX_FIELDS} protobuf fields or nests deeper "
                              f"than {MAX_DEPTH} messages (external data not fully checked)", None))
    return out


def looks_like_model(data, start: int, end: int) -> bool:
    """Whether ``data[start:end]`` parses as a ModelProto that can hold tensors, in any field order.

    ``detect`` recognises ``onnx.save`` output by its first bytes; a model written with its
    fields in another order (which every parser accepts) is recognised here: the top level must
    parse exactly to the end and hold a graph (or functions, training info) that parses too.
    """
    pos, fields, known, holder = start, 0, False, False
    budget = [4096]
    try:
        while pos < end:
            fields += 1
            if fields > 4096:
                return False
            tag, pos = _varint(data, pos, end)
            field, wire = tag >> 3, tag & 7
            if field == 0:
                return False
            if _MODEL_FIELDS.get(field) == wire:
                known = True
            if wire == 2 and field in (7, 20, 25):
                n, body = _varint(data, pos, end)
                if body + n > end or not _parses(data, body, body + n):
                    return False
                holder = True
            pos = _skip(data, pos, end, wire, field, budget)
    except (_Malformed, _Limit):
        return False
    return pos == end and known and holder


def _parses(data, pos: int, end: int) -> bool:
    """The top level of an embedded message parses exactly to its end (a bounded look)."""
    budget = [4096]
    try:
        count = 0
        while pos < end:
            count += 1
            if count > 4096:
                return True  # long enough to be real; the full walk checks the rest
            tag, pos = _varint(data, pos, end)
            if tag >> 3 == 0:
                return False
            pos = _skip(data, pos, end, tag & 7, tag >> 3, budget)
        return pos == end
    except (_Malformed, _Limit):
        return False
