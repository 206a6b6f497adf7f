"""A static pickle machine: runs the opcode stream on a model of the stack, never on Python.

Every opcode of protocols 0-5 is executed against a real stack, mark stack and memo, so
globals reached through memo tricks (BINPUT then BINGET of the module and name strings),
STACK_GLOBAL on constructed strings, INST/OBJ/NEWOBJ, or copyreg extension codes are all
seen exactly as ``pickle.load`` would see them. Nothing is imported and nothing is called:
``REDUCE`` pushes a ``Call`` record instead of calling.

The machine never raises on bad input. A parse error stops it and is reported in
``StreamResult.error`` together with every global found before it (the caller fails closed).
"""

from __future__ import annotations

import codecs
from struct import error as _StructError
from struct import unpack_from
from typing import Any, List, Optional

from .limits import DEFAULT_LIMITS, ScanLimits

#: strings longer than this are not decoded (a module name is never that long)
_MAX_DECODE = 1 << 20
#: bytes constants longer than this are kept as a ``BigBytes`` view instead of copied
_MAX_INLINE_BYTES = 4096


class GlobalRef:
    """A global the stream imports: ``module``/``name`` as ``find_class`` would receive them."""

    __slots__ = ("module", "name", "offset", "opcode", "cond", "bad", "called")

    def __init__(self, module: str, name: str, offset: int, opcode: str):
        self.module, self.name, self.offset, self.opcode = module, name, offset, opcode
        #: a conditional loader (see ``CONDITIONAL``): safe only if every use is a direct call on a constant
        self.cond = (module, name) in CONDITIONAL
        self.bad = False
        self.called = False

    def __repr__(self) -> str:
        return f"GlobalRef({self.module!r}, {self.name!r}, @{self.offset}, {self.opcode})"


class Call:
    """The result of REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST: ``func(*args)`` that a loader would run."""

    __slots__ = ("func", "args", "offset", "state")

    def __init__(self, func: Any, args: Any, offset: int):
        self.func, self.args, self.offset, self.state = func, args, offset, None


class BigBytes:
    """A long bytes constant, kept as a window on the source instead of a copy."""

    __slots__ = ("src", "start", "end")

    def __init__(self, src, start: int, end: int):
        self.src, self.start, self.end = src, start, end

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes."""
        return bytes(self.src[self.start:min(self.end, self.start + n)])

    def tobytes(self) -> bytes:
        """The whole constant (callers bound the size first)."""
        return bytes(self.src[self.start:self.end])

    def __len__(self) -> int:
        return self.end - self.start


class Opaque:
    """A value the model does not track (persistent ids, out-of-band buffers, huge strings)."""

    __slots__ = ("what",)

    def __init__(self, what: str):
        self.what = what


class Nested:
    """A bytes/str constant that may be a pickle of its own.

    ``forced`` is True when the stream passes it to a loader (``pickle.loads`` & co.); then
    a parse error in it is reported too. Otherwise it is a speculative look.
    """

    __slots__ = ("value", "offset", "forced", "via")

    def __init__(self, value, offset: int, forced: bool, via: str):
        self.value, self.offset, self.forced, self.via = value, offset, forced, via


class StreamResult:
    """What one pickle stream contains.

    ``globals`` in stream order; ``end`` is the offset just after STOP (or where parsing
    stopped); ``error`` is ``(offset, message)`` for a parse error; ``limit`` names a bound
    that was hit; ``nested`` are payloads to scan recursively; ``build_on_global`` lists the
    offsets of BUILD applied directly to a global (attribute overwrite on a module object).
    """

    __slots__ = ("globals", "end", "error", "limit", "nested", "build_on_global", "protocol", "opcodes", "stopped",
                 "inline", "calls", "value")

    def __init__(self):
        self.globals: List[GlobalRef] = []
        self.end = 0
        self.error: Optional[tuple] = None
        self.limit: Optional[str] = None
        self.nested: List[Nested] = []
        self.build_on_global: List[int] = []
        self.protocol = 0
        self.opcodes = 0
        self.stopped = False
        #: (offset, StreamResult) of pickles joblib writes inline for object arrays
        self.inline: List[tuple] = []
        self.calls = 0
        self.value = None


#: globals whose first argument is unpickled by the loader (a pickle inside the pickle)
LOADERS = {
    ("pickle", "loads"), ("_pickle", "loads"), ("cPickle", "loads"), ("pickle", "_loads"), ("dill", "loads"),
    ("cloudpickle", "loads"), ("numpy", "loads"), ("numpy.core.multiarray", "loads"), ("torch.storage", "_load_from_bytes"),
}

#: ``getattr(G, "name")`` on a global and a constant is the attribute walk ``G.name`` (how a bound
#: method pickles: ``zoneinfo.ZoneInfo._unpickle`` for every named time zone): that walk is judged
GETATTRS = {("builtins", "getattr"), ("__builtin__", "getattr")}
#: loaders that are safe exactly when called directly on a constant payload the scanner reads
#: itself: ``pickle.dumps(tensor)`` stores each storage as ``_load_from_bytes(b"<torch.save output>")``;
#: and ``GETATTRS``, safe exactly when every use is a direct call on a global and a constant name
CONDITIONAL = {("torch.storage", "_load_from_bytes")} | GETATTRS
#: opcodes of a ``GlobalRef`` whose module and name are known constants (``getattr`` can walk from them)
_NAMED_GLOBALS = ("GLOBAL", "STACK_GLOBAL", "getattr")

_ZLIB_SECOND = (0x01, 0x5E, 0x9C, 0xDA)


def _escape(items) -> None:
    """A conditional loader stored in a container or passed as an argument may be called by anyone."""
    for x in items:
        if type(x) is GlobalRef and x.cond:
            x.bad = True


def looks_nested(head: bytes) -> Optional[str]:
    """If a constant starts like a pickle or a compressed stream, say which (else ``None``)."""
    if len(head) < 4:
        return None
    b0, b1 = head[0], head[1]
    if b0 == 0x80 and b1 <= 5:
        return "pickle"
    if b0 == 0x78 and b1 in _ZLIB_SECOND:
        return "zlib"
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh" and 0x31 <= head[3] <= 0x39:
        return "bz2"
    if head[:4] == b"\xfd7zX":
        return "xz"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    return None


_TRUNC = "pickle data was truncated"
_NEST_FIRST = frozenset([0x80, 0x78, 0x1F, 0x42, 0xFD, 0x50])


class _ParseError(Exception):
    """The stream is not a valid pickle at this point (pickle.load would raise too)."""
    pass


class _Limit(Exception):
    """A bound of ``ScanLimits`` was hit."""
    pass


def _decode_str(raw: bytes, encoding: str) -> str:
    """Decode without ever failing (an undecodable name still has to be reported)."""
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return raw.decode(encoding, "surrogateescape") if encoding == "utf-8" else raw.decode("latin-1")


def _line(data, pos: int, end: int):
    """A protocol 0 argument: the bytes up to the next newline, and the position after it."""
    nl = data.find(b"\n", pos, end)
    if nl < 0:
        raise _ParseError("unterminated line argument")
    return bytes(data[pos:nl]), nl + 1


def _int_line(raw: bytes) -> int:
    """INT/LONG/PUT/GET text arguments as ``pickle`` reads them (``00``/``01`` are booleans)."""
    try:
        return int(raw.rstrip(b"L"), 0) if raw not in (b"00", b"01") else raw == b"01"
    except ValueError:
        try:
            return int(raw.rstrip(b"L"))
        except ValueError:
            raise _ParseError(f"bad integer {raw[:40]!r}") from None


def _quoted(raw: bytes) -> bytes:
    """A STRING argument: quoted, with Python escapes."""
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b"'", b'"'):
        try:
            return codecs.escape_decode(raw[1:-1])[0]
        except Exception:
            raise _ParseError("bad STRING escape") from None
    raise _ParseError("the STRING opcode argument must be quoted")


_SIMPLE_KEYS = (str, int, float, bytes, bool, type(None))


def _hashable(key) -> bool:
    """Only flat keys are kept: hashing a deeply nested tuple could overflow the C stack."""
    if isinstance(key, _SIMPLE_KEYS):
        return True
    if type(key) is tuple:
        return len(key) < 64 and all(isinstance(k, _SIMPLE_KEYS) for k in key)
    return False


class PickleMachine:
    """Runs one pickle stream from ``start`` statically. Use ``run()``; it never raises."""

    def __init__(self, data, start: int = 0, end: Optional[int] = None, limits: ScanLimits = DEFAULT_LIMITS,
                 joblib: bool = True):
        self.data = data
        self.start = start
        self.end = len(data) if end is None else min(end, len(data))
        self.limits = limits
        self.joblib = joblib

    def run(self) -> StreamResult:
        """Execute until STOP, a parse error, or a limit; return what was found."""
        res = StreamResult()
        self.res = res
        try:
            self._run(res)
        except _ParseError as exc:
            res.error = (self.pos_op, str(exc))
            self.pos = self.pos_op
        except _Limit as exc:
            res.limit = str(exc)
            self.pos = self.pos_op
        except (IndexError, ValueError, OverflowError, TypeError, MemoryError, RecursionError, KeyError,
                _StructError) as exc:
            # a model bug must never look like a clean file: report it as a parse error
            res.error = (self.pos_op, f"unparseable ({type(exc).__name__}: {exc})"[:200])
            self.pos = self.pos_op
        res.end = self.pos
        return res

    # The dispatch loop is one long function on purpose: attribute look-ups and calls per
    # opcode dominate the cost of a pure-Python pickle walker.
    def _run(self, res: StreamResult) -> None:  # noqa: C901
        """The dispatch loop (see ``run``); raises ``_ParseError``/``_Limit``."""
        data, end, limits = self.data, self.end, self.limits
        max_ops, max_memo = limits.max_opcodes, limits.max_memo
        stack: list = []
        marks: list = []
        memo: dict = {}
        globals_ = res.globals
        nested = res.nested
        max_nested = limits.max_nested
        pos = self.start
        self.pos = self.pos_op = pos
        ops = 0
        proto = 0
        at = pos
        #: becomes non-empty once a conditional loader is imported (escape checks cost nothing before)
        watch: list = []

        def push_const(value, at):
            # byte/str constants that look like pickles or compressed streams are followed
            """Push a constant; note it when it looks like a pickle or a compressed stream."""
            t = type(value)
            if t is str or t is bytes:
                first = (ord(value[0]) if t is str else value[0]) if value else -1
            elif t is BigBytes:
                first = data[value.start]
            else:
                first = -1
            if first in _NEST_FIRST and len(nested) < max_nested:
                if t is BigBytes:
                    head = value.head(8)
                elif t is bytes:
                    head = value[:8]
                else:
                    head = value[:8].encode("latin-1", "replace")
                if looks_nested(head):
                    nested.append(Nested(value, at, False, "constant"))
            stack.append(value)

        def pop_mark():
            """Pop the items above the last MARK (and the mark)."""
            if not marks:
                raise _ParseError("MARK expected (mark stack empty)")
            k = marks.pop()
            items = stack[k:]
            del stack[k:]
            if watch:
                _escape(items)
            return items

        def need(n):
            """Fail unless ``n`` items sit above the last MARK."""
            if len(stack) - (marks[-1] if marks else 0) < n:
                raise _ParseError("stack underflow")

        def read(n, at):
            """Advance over ``n`` argument bytes, or fail when the stream is shorter."""
            if n < 0 or at + n > end:
                raise _ParseError("pickle data was truncated")
            return at + n

        def bytes_const(a, b):
            """A bytes constant: copied when short, a window when long."""
            if b - a > _MAX_INLINE_BYTES:
                return BigBytes(data, a, b)
            return bytes(data[a:b])

        def str_const(a, b, at):
            """A UTF-8 string constant (never decoded past ``_MAX_DECODE``)."""
            if b - a > _MAX_DECODE:
                return Opaque("long string")
            return _decode_str(bytes(data[a:b]), "utf-8")

        try:
            while True:
                if pos >= end:
                    at = pos
                    raise _ParseError("pickle exhausted before STOP")
                ops += 1
                if ops > max_ops:
                    raise _Limit(f"more than {max_ops} opcodes in one pickle")
                op = data[pos]
                at = pos
                pos += 1
                # -- most frequent opcodes of real checkpoints first --
                if op == 0x94:  # MEMOIZE
                    if not stack:
                        raise _ParseError("MEMOIZE on an empty stack")
                    memo[len(memo)] = stack[-1]
                    if len(memo) > max_memo:
                        raise _Limit(f"memo larger than {max_memo} entries")
                elif op == 0x71:  # BINPUT
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    if not stack:
                        raise _ParseError("BINPUT on an empty stack")
                    memo[data[pos - 1]] = stack[-1]
                elif op == 0x72:  # LONG_BINPUT
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    if not stack:
                        raise _ParseError("LONG_BINPUT on an empty stack")
                    memo[unpack_from("<I", data, pos - 4)[0]] = stack[-1]
                    if len(memo) > max_memo:
                        raise _Limit(f"memo larger than {max_memo} entries")
                elif op == 0x68:  # BINGET
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    try:
                        stack.append(memo[data[pos - 1]])
                    except KeyError:
                        raise _ParseError(f"memo key {data[pos - 1]} not found") from None
                elif op == 0x6A:  # LONG_BINGET
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    key = unpack_from("<I", data, pos - 4)[0]
                    try:
                        stack.append(memo[key])
                    except KeyError:
                        raise _ParseError(f"memo key {key} not found") from None
                elif op == 0x4E:  # NONE
                    stack.append(None)
                elif op == 0x88:  # NEWTRUE
                    stack.append(True)
                elif op == 0x89:  # NEWFALSE
                    stack.append(False)
                elif op == 0x47:  # BINFLOAT
                    pos += 8
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    stack.append(unpack_from(">d", data, pos - 8)[0])
                elif op == 0x4B:  # BININT1
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    stack.append(data[pos - 1])
                elif op == 0x4D:  # BININT2
                    pos += 2
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    stack.append(unpack_from("<H", data, pos - 2)[0])
                elif op == 0x4A:  # BININT
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    stack.append(unpack_from("<i", data, pos - 4)[0])
                elif op == 0x8C:  # SHORT_BINUNICODE
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = data[pos - 1]
                    pos = read(n, pos)
                    push_const(str_const(pos - n, pos, at), at)
                elif op == 0x58:  # BINUNICODE
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<I", data, pos - 4)[0]
                    pos = read(n, pos)
                    push_const(str_const(pos - n, pos, at), at)
                elif op == 0x8D:  # BINUNICODE8
                    pos += 8
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<Q", data, pos - 8)[0]
                    pos = read(n, pos)
                    push_const(str_const(pos - n, pos, at), at)
                elif op == 0x85:  # TUPLE1
                    need(1)
                    stack[-1] = (stack[-1],)
                    if watch:
                        _escape(stack[-1])
                elif op == 0x86:  # TUPLE2
                    need(2)
                    stack[-2:] = [(stack[-2], stack[-1])]
                    if watch:
                        _escape(stack[-1])
                elif op == 0x87:  # TUPLE3
                    need(3)
                    stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
                    if watch:
                        _escape(stack[-1])
                elif op == 0x29:  # EMPTY_TUPLE
                    stack.append(())
                elif op == 0x28:  # MARK
                    marks.append(len(stack))
                elif op == 0x74:  # TUPLE
                    stack.append(tuple(pop_mark()))
                elif op == 0x52:  # REDUCE
                    need(2)
                    args = stack.pop()
                    func = stack[-1]
                    if watch and type(args) is GlobalRef:
                        _escape((args,))
                    stack[-1] = self._call(func, args, at)
                elif op == 0x51:  # BINPERSID
                    need(1)
                    stack[-1] = Opaque("persistent id")
                elif op == 0x7D:  # EMPTY_DICT
                    stack.append({})
                elif op == 0x5D:  # EMPTY_LIST
                    stack.append([])
                elif op == 0x73:  # SETITEM
                    need(3)
                    v = stack.pop()
                    k = stack.pop()
                    if watch:
                        _escape((k, v))
                    target = stack[-1]
                    if type(target) is dict and _hashable(k):
                        target[k] = v
                elif op == 0x75:  # SETITEMS
                    items = pop_mark()
                    if not stack:
                        raise _ParseError("SETITEMS without a target")
                    if len(items) % 2:
                        raise _ParseError("odd number of items for SETITEMS")
                    target = stack[-1]
                    if type(target) is dict:
                        for i in range(0, len(items), 2):
                            if _hashable(items[i]):
                                target[items[i]] = items[i + 1]
                elif op == 0x61:  # APPEND
                    need(2)
                    v = stack.pop()
                    if watch:
                        _escape((v,))
                    if type(stack[-1]) is list:
                        stack[-1].append(v)
                elif op == 0x65:  # APPENDS
                    items = pop_mark()
                    if not stack:
                        raise _ParseError("APPENDS without a target")
                    if type(stack[-1]) is list:
                        stack[-1].extend(items)
                elif op == 0x62:  # BUILD
                    need(2)
                    state = stack.pop()
                    obj = stack[-1]
                    if watch:
                        _escape((state, obj))
                    if isinstance(obj, GlobalRef):
                        # setattr on a module-level object: never in a checkpoint, a classic bypass
                        res.build_on_global.append(at)
                    elif isinstance(obj, Call):
                        obj.state = state
                        if self.joblib and type(obj.func) is GlobalRef and obj.func.name == "NumpyArrayWrapper" \
                                and obj.func.module in JOBLIB_MODULES:
                            pos = self._joblib_skip(obj, state, pos)
                elif op == 0x93:  # STACK_GLOBAL
                    need(2)
                    name = stack.pop()
                    module = stack.pop()
                    if type(module) is not str or type(name) is not str:
                        # pickle.load raises here, but fail closed: report an unresolvable global
                        g = GlobalRef(_describe(module), _describe(name), at, "STACK_GLOBAL?")
                    else:
                        g = GlobalRef(module, name, at, "STACK_GLOBAL")
                    globals_.append(g)
                    stack.append(g)
                    if g.cond:
                        watch.append(g)
                elif op == 0x63:  # GLOBAL
                    mod_raw, pos = _line(data, pos, end)
                    name_raw, pos = _line(data, pos, end)
                    g = GlobalRef(_decode_str(mod_raw, "utf-8"), _decode_str(name_raw, "utf-8"), at, "GLOBAL")
                    globals_.append(g)
                    stack.append(g)
                    if g.cond:
                        watch.append(g)
                elif op == 0x80:  # PROTO
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    proto = data[pos - 1]
                    if proto > 5:
                        raise _ParseError(f"unsupported pickle protocol: {proto}")
                    res.protocol = proto
                elif op == 0x95:  # FRAME
                    pos += 8
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<Q", data, pos - 8)[0]
                    if pos + n > end:
                        raise _ParseError("FRAME larger than the remaining data")
                elif op == 0x2E:  # STOP
                    if not stack:
                        raise _ParseError("STOP on an empty stack")
                    res.stopped = True
                    res.value = stack[-1]
                    if watch:
                        _escape((res.value,))
                    break
                elif op == 0x8A:  # LONG1
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = data[pos - 1]
                    pos = read(n, pos)
                    stack.append(int.from_bytes(data[pos - n:pos], "little", signed=True))
                elif op == 0x8B:  # LONG4
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<i", data, pos - 4)[0]
                    if n < 0:
                        raise _ParseError("LONG4 byte count < 0")
                    pos = read(n, pos)
                    stack.append(int.from_bytes(data[pos - n:pos], "little", signed=True) if n <= 64 else Opaque("long"))
                elif op == 0x43:  # SHORT_BINBYTES
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = data[pos - 1]
                    pos = read(n, pos)
                    push_const(bytes_const(pos - n, pos), at)
                elif op == 0x42:  # BINBYTES
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<I", data, pos - 4)[0]
                    pos = read(n, pos)
                    push_const(bytes_const(pos - n, pos), at)
                elif op in (0x8E, 0x96):  # BINBYTES8, BYTEARRAY8
                    pos += 8
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<Q", data, pos - 8)[0]
                    pos = read(n, pos)
                    push_const(bytes_const(pos - n, pos), at)
                elif op == 0x55:  # SHORT_BINSTRING (a str in Python 3)
                    pos += 1
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = data[pos - 1]
                    pos = read(n, pos)
                    push_const(_decode_str(bytes(data[pos - n:pos]), "latin-1"), at)
                elif op == 0x54:  # BINSTRING
                    pos += 4
                    if pos > end:
                        raise _ParseError(_TRUNC)
                    n = unpack_from("<i", data, pos - 4)[0]
                    if n < 0:
                        raise _ParseError("BINSTRING pickle has negative byte count")
                    pos = read(n, pos)
                    push_const(_decode_str(bytes(data[pos - n:pos]), "latin-1") if n <= _MAX_DECODE else
                               BigBytes(data, pos - n, pos), at)
                elif op == 0x53:  # STRING
                    raw, pos = _line(data, pos, end)
                    push_const(_decode_str(_quoted(raw), "latin-1"), at)
                elif op == 0x56:  # UNICODE
                    raw, pos = _line(data, pos, end)
                    try:
                        value = raw.decode("raw-unicode-escape")
                    except UnicodeDecodeError:
                        raise _ParseError("bad UNICODE argument") from None
                    push_const(value, at)
                elif op == 0x49:  # INT (also TRUE/FALSE)
                    raw, pos = _line(data, pos, end)
                    stack.append(_int_line(raw))
                elif op == 0x4C:  # LONG
                    raw, pos = _line(data, pos, end)
                    stack.append(_int_line(raw))
                elif op == 0x46:  # FLOAT
                    raw, pos = _line(data, pos, end)
                    try:
                        stack.append(float(raw))
                    except ValueError:
                        raise _ParseError("bad FLOAT argument") from None
                elif op == 0x70:  # PUT
                    raw, pos = _line(data, pos, end)
                    if not stack:
                        raise _ParseError("PUT on an empty stack")
                    memo[_int_line(raw)] = stack[-1]
                    if len(memo) > max_memo:
                        raise _Limit(f"memo larger than {max_memo} entries")
                elif op == 0x67:  # GET
                    raw, pos = _line(data, pos, end)
                    key = _int_line(raw)
                    try:
                        stack.append(memo[key])
                    except (KeyError, TypeError):
                        raise _ParseError(f"memo key {key} not found") from None
                elif op == 0x30:  # POP
                    if stack and (not marks or len(stack) > marks[-1]):
                        stack.pop()
                    elif marks:
                        pop_mark()
                    else:
                        raise _ParseError("POP on an empty stack")
                elif op == 0x31:  # POP_MARK
                    pop_mark()
                elif op == 0x32:  # DUP
                    if not stack:
                        raise _ParseError("DUP on an empty stack")
                    stack.append(stack[-1])
                elif op == 0x6C:  # LIST
                    stack.append(pop_mark())
                elif op == 0x64:  # DICT
                    items = pop_mark()
                    if len(items) % 2:
                        raise _ParseError("odd number of items for DICT")
                    d = {}
                    for i in range(0, len(items), 2):
                        if _hashable(items[i]):
                            d[items[i]] = items[i + 1]
                    stack.append(d)
                elif op == 0x8F:  # EMPTY_SET
                    stack.append([])
                elif op == 0x90:  # ADDITEMS
                    items = pop_mark()
                    if not stack:
                        raise _ParseError("ADDITEMS without a target")
                    if type(stack[-1]) is list:
                        stack[-1].extend(items)
                elif op == 0x91:  # FROZENSET
                    stack.append(tuple(pop_mark()))
                elif op == 0x81:  # NEWOBJ
                    need(2)
                    args = stack.pop()
                    if watch:
                        _escape((args, stack[-1]))
                    stack[-1] = self._call(stack[-1], args, at)
                elif op == 0x92:  # NEWOBJ_EX
                    need(3)
                    kwargs = stack.pop()
                    args = stack.pop()
                    if watch:
                        _escape((kwargs, args, stack[-1]))
                    stack[-1] = self._call(stack[-1], args, at)
                elif op == 0x6F:  # OBJ
                    items = pop_mark()
                    if not items:
                        raise _ParseError("OBJ without a class")
                    stack.append(self._call(items[0], tuple(items[1:]), at))
                elif op == 0x69:  # INST
                    mod_raw, pos = _line(data, pos, end)
                    name_raw, pos = _line(data, pos, end)
                    g = GlobalRef(_decode_str(mod_raw, "utf-8"), _decode_str(name_raw, "utf-8"), at, "INST")
                    globals_.append(g)
                    args = pop_mark()
                    stack.append(self._call(g, tuple(args), at))
                elif op == 0x50:  # PERSID
                    _raw, pos = _line(data, pos, end)
                    stack.append(Opaque("persistent id"))
                elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
                    n = {0x82: 1, 0x83: 2, 0x84: 4}[op]
                    pos = read(n, pos)
                    code = int.from_bytes(data[pos - n:pos], "little")
                    # the copyreg extension registry maps the code to a global at load time:
                    # unknowable statically, so it is reported as such
                    g = GlobalRef("copyreg._extension_registry", f"code {code}", at, "EXT")
                    globals_.append(g)
                    stack.append(g)
                elif op == 0x97:  # NEXT_BUFFER
                    stack.append(Opaque("out-of-band buffer"))
                elif op == 0x98:  # READONLY_BUFFER
                    if not stack:
                        raise _ParseError("READONLY_BUFFER on an empty stack")
                else:
                    raise _ParseError(f"invalid opcode 0x{op:02x}")
        except BaseException:
            self.pos_op = at
            raise
        finally:
            res.opcodes = ops
        self.pos = pos  # just after STOP
        res.protocol = proto

    def _call(self, func, args, at: int) -> Call:
        """REDUCE & co.: record the call; payloads handed to a loader are scanned (forced)."""
        self.res.calls += 1
        if type(func) is GlobalRef and func.cond:
            func.called = True
            if (func.module, func.name) in GETATTRS:
                return self._getattr(func, args, at)
            payload = _unwrap_payload(args[0]) if type(args) is tuple and len(args) == 1 else None
            if payload is not None and (isinstance(payload, (bytes, BigBytes)) or type(args[0]) is Call):
                self._queue_forced(payload, at, f"argument of {func.module}.{func.name}")
            else:
                func.bad = True
            return Call(func, args, at)
        if isinstance(func, GlobalRef) and (func.module, func.name) in LOADERS and type(args) is tuple and args:
            payload = _unwrap_payload(args[0])
            via = f"argument of {func.module}.{func.name}"
            for n in self.res.nested:
                if n.value is payload:  # already queued as a constant: now we know a loader reads it
                    n.forced, n.via = True, via
                    break
            else:
                if payload is not None and len(self.res.nested) < self.limits.max_nested:
                    self.res.nested.append(Nested(payload, at, True, via))
        return Call(func, args, at)

    def _getattr(self, func: GlobalRef, args, at: int):
        """``getattr(G, "name")``: the global ``G.name`` (judged as an attribute walk); else ``func`` is tainted."""
        target = args[0] if type(args) is tuple and len(args) == 2 else None
        if type(target) is GlobalRef and type(args[1]) is str and target.opcode in _NAMED_GLOBALS:
            walk = GlobalRef(target.module, f"{target.name}.{args[1]}", at, "getattr")
            self.res.globals.append(walk)
            return walk
        func.bad = True
        return Call(func, args, at)

    def _queue_forced(self, payload, at: int, via: str) -> None:
        """Queue a payload a loader reads (a forced nested scan), or promote the queued constant."""
        for n in self.res.nested:
            if n.value is payload:
                n.forced, n.via = True, via
                return
        if len(self.res.nested) < self.limits.max_nested:
            self.res.nested.append(Nested(payload, at, True, via))
        else:
            raise _Limit(f"more than {self.limits.max_nested} nested payloads")

    def _joblib_skip(self, wrapper: Call, state, pos: int) -> int:
        """joblib writes array bytes (or a whole pickle, for object arrays) right after BUILD."""
        if type(state) is not dict:
            raise _ParseError("joblib NumpyArrayWrapper without a state dict")
        shape, dtype = state.get("shape"), state.get("dtype")
        kind, itemsize = _dtype_size(dtype)
        if kind is None:
            raise _ParseError("joblib array with a dtype the scanner cannot size")
        if kind == "O":
            sub = PickleMachine(self.data, pos, self.end, self.limits, self.joblib).run()
            self.res.inline.append((pos, sub))
            if sub.error or sub.limit or not sub.stopped:
                # the inline pickle is reported by the caller; parsing cannot go on past it
                raise _ParseError("joblib inline object-array pickle is broken")
            return sub.end
        count = 1
        if type(shape) is not tuple or not all(type(x) is int and x >= 0 for x in shape):
            raise _ParseError("joblib array with a bad shape")
        for x in shape:
            count *= x
        if state.get("numpy_array_alignment_bytes") is not None:
            pos = self._read_check(pos, 1)
            pos = self._read_check(pos, self.data[pos - 1])
        return self._read_check(pos, count * itemsize)

    def _read_check(self, pos: int, n: int) -> int:
        """Skip ``n`` bytes of joblib array data, or fail when the stream is shorter."""
        if pos + n > self.end:
            raise _ParseError("joblib array data truncated")
        return pos + n


#: where joblib's array wrapper lives (the only modules whose wrapper makes joblib read raw bytes)
JOBLIB_MODULES = frozenset(["joblib.numpy_pickle", "sklearn.externals.joblib.numpy_pickle"])


def _dtype_size(dtype):
    """(kind, itemsize) of a pickled ``numpy.dtype(descr, ...)`` call, or (None, 0) when unsure.

    Kind ``O`` means the array holds objects (joblib then writes a pickle, not bytes). Whenever
    the descriptor, the fields and the flags in the dtype's state disagree, the answer is
    "unsure": the scanner must read the stream exactly as joblib does, or fail closed.
    """
    kind, size = _dtype_size_inner(dtype, 0)
    return kind, size


#: how numpy 2 pickles a ``StringDType`` (``numpy/_core/_internal.py``)
_STRINGDTYPE = frozenset([("numpy._core._internal", "_convert_to_stringdtype_kwargs"),
                          ("numpy.core._internal", "_convert_to_stringdtype_kwargs")])


def _dtype_has_object(dtype, depth: int):
    """True/False when a dtype call (with its BUILD state) certainly holds objects or not; None if unsure."""
    if depth > 20 or not isinstance(dtype, Call) or type(dtype.args) is not tuple or not dtype.args:
        return None
    if type(dtype.func) is GlobalRef and (dtype.func.module, dtype.func.name) in _STRINGDTYPE:
        return True  # numpy 2's variable-width StringDType: hasobject is always set, joblib pickles the array
    descr = dtype.args[0]
    if type(descr) is not str or not descr:
        return None
    if descr[0] == "O":
        return True
    st = dtype.state
    if st is None:
        return False if descr[0] != "V" else None
    if type(st) is not tuple or len(st) < 8 or type(st[7]) is not int:
        return None
    found = False
    sub = st[2]
    if sub is not None:
        if type(sub) is not tuple or not sub:
            return None
        inner = _dtype_has_object(sub[0], depth + 1)
        if inner is None:
            return None
        found = found or inner
    fields = st[4]
    if fields is not None:
        if type(fields) is not dict:
            return None
        for value in fields.values():
            if type(value) is not tuple or not value:
                return None
            inner = _dtype_has_object(value[0], depth + 1)
            if inner is None:
                return None
            found = found or inner
    if bool(st[7] & 1) != found:
        return None  # the flags and the structure disagree: numpy and the scanner might too
    return found


def _dtype_size_inner(dtype, depth):
    """See ``_dtype_size``."""
    has_object = _dtype_has_object(dtype, depth)
    if has_object is None:
        return None, 0
    if has_object:
        return "O", 8
    descr = dtype.args[0]
    kind, digits = descr[0], descr[1:]
    if kind in "?bB" and not digits:
        n = 1
    elif digits.isdigit() and kind in "biufcmMSUV":
        n = int(digits) * (4 if kind == "U" else 1)
    else:
        return None, 0
    st = dtype.state
    if type(st) is tuple and len(st) > 5 and type(st[5]) is int and st[5] > 0 and st[5] != n:
        return None, 0  # the descriptor and the state's element size disagree
    return kind, n


def _unwrap_payload(value):
    """The bytes a loader would read from ``value`` (bytes, str, or ``_codecs.encode(str, ...)``)."""
    if isinstance(value, (bytes, str, BigBytes)):
        return value
    if isinstance(value, Call) and isinstance(value.func, GlobalRef) and type(value.args) is tuple and value.args:
        if (value.func.module, value.func.name) in (("_codecs", "encode"), ("codecs", "encode"), ("builtins", "bytes"),
                                                     ("builtins", "bytearray")):
            return _unwrap_payload(value.args[0])
    return None


def _describe(value) -> str:
    """A readable stand-in for a non-string STACK_GLOBAL operand."""
    if isinstance(value, GlobalRef):
        return f"<{value.module}.{value.name}>"
    if isinstance(value, Call):
        f = value.func
        return f"<result of {f.module}.{f.name}(...)>" if isinstance(f, GlobalRef) else "<result of a call>"
    if isinstance(value, bytes):
        return f"<bytes {value[:40]!r}>"
    return f"<{type(value).__name__}>"


def scan_stream(data, start: int = 0, end: Optional[int] = None, limits: ScanLimits = DEFAULT_LIMITS) -> StreamResult:
    """Run the static machine over one pickle stream starting at ``start``."""
    return PickleMachine(data, start, end, limits).run()
