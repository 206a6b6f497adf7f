"""Walk a file's containers down to its pickles, and judge every global found.

One ``Scanner`` per scan. ``scan_file(path)`` maps the file (nothing is read that the format
does not need: a 1 GiB torch checkpoint costs its pickles, not its tensors) and dispatches by
content: raw pickles and pickle sequences (legacy torch), joblib, zip archives (torch
checkpoints, ``.npz``, ``.keras``) through ``zipread``, 7z archives through ``sevenzip``, tar and
compressed wrappers (``streams``), ``.npy`` headers, safetensors headers, HDF5 Keras configs.
Archives nest up to ``max_depth``.

Results are plain records (``Hit`` for an offending global, ``Problem`` for anything else that
must fail closed); ``guardpolicy.scan.api`` turns them into ``Finding`` objects.
"""

from __future__ import annotations

import json
import mmap
import os
import re
import stat
from struct import unpack_from
from typing import List, Optional, Set

from .allowlist import danger, is_safe
from .detect import _IDENT, _P0_START, _probe_pickle, sniff
from .keras_config import keras_code  # noqa: F401 - judged here; also imported from this module by callers
from .limits import DEFAULT_LIMITS, ScanLimits
from .pickle_vm import BigBytes, PickleMachine, StreamResult, looks_nested

#: the first pickle of a legacy (pre-1.6) torch file holds this number
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_MEMBER = re.compile(r"(?:^|/)data/\d+\Z")
_PEEK = 4096
#: formats that can carry a pickle: the only ones looked into when they turn up in tensor storage
_CARRIERS = frozenset(["pickle", "zip", "gzip", "bz2", "xz", "zlib", "tar", "7z", "zstd", "lz4", "lzma", "joblib-zfile"])
#: compressed streams, decoded by ``streams.decode``
_STREAMS = frozenset(["gzip", "bz2", "xz", "zlib", "zstd", "lz4", "lzma", "joblib-zfile"])
#: stream kinds sniffed by a plausible header rather than a magic number (LZMA "alone" has none)
_WEAK_MAGIC = frozenset(["lzma"])
_PROTO_HEADER = re.compile(rb"\x80[\x02-\x05]")
_SMALL_FILE = 4 * 1024 * 1024
#: bytes of a compressed GGUF member inflated to read its metadata
_GGUF_PREFIX = 256 * 1024 * 1024


class Hit:
    """A global outside the allowlist: where it is and, when known, why it is dangerous."""

    __slots__ = ("module", "name", "member", "offset", "opcode", "danger")

    # plain slotted classes, not dataclasses: ``guard scan`` start-up pays for every class built
    def __init__(self, module: str, name: str, member: str, offset: int, opcode: str, danger: Optional[str] = None):
        self.module, self.name, self.member, self.offset, self.opcode, self.danger = module, name, member, offset, opcode, danger

    def __repr__(self) -> str:
        return f"Hit({self.module}.{self.name} in {self.member!r} @{self.offset}, danger={self.danger!r})"

    def to_dict(self) -> dict:
        """The ``details["globals"]`` entry."""
        return {"module": self.module, "name": self.name, "member": self.member, "offset": self.offset,
                "opcode": self.opcode, "dangerous": self.danger is not None, "why": self.danger}


class Problem:
    """Something that makes the file unsafe or unscannable.

    ``kind``: ``parse`` (a broken pickle stream or member: rule ``format``'s ``unreadable``
    action), ``unsupported`` (a compression the scanner cannot read: likewise), ``io`` (the file
    could not be read at all: denied), ``limit`` (a bound was hit), ``code`` (code the loader
    runs: BUILD on a global, Keras Lambda, a hidden pickle), ``header`` (invalid
    safetensors/npy header), ``archive`` (a doctored zip), ``internal`` (a scanner bug, failing
    closed).
    """

    __slots__ = ("kind", "message", "member", "offset")

    def __init__(self, kind: str, message: str, member: str = "", offset: Optional[int] = None):
        self.kind, self.message, self.member, self.offset = kind, message, member, offset

    def __repr__(self) -> str:
        return f"Problem({self.kind}: {self.message!r} in {self.member!r} @{self.offset})"


class Report:
    """Everything one file holds: its format, the formats inside it, hits and problems."""

    __slots__ = ("path", "format", "formats", "hits", "problems", "references")

    def __init__(self, path: str):
        self.path = path
        #: files this one makes a loader read beside it (an ONNX model's external data), as paths
        self.references: List[str] = []
        self.format = "unknown"
        self.formats: Set[str] = set()
        self.hits: List[Hit] = []
        self.problems: List[Problem] = []

    @property
    def clean(self) -> bool:
        """No hit and no problem."""
        return not self.hits and not self.problems


class _Budget(Exception):
    """A decompression budget was exhausted (already reported)."""
    pass


class Scanner:
    """Scans files under ``limits``; ``extra_allowed`` extends the allowlist (``module.name`` globs),
    ``profiles`` names the enabled profiles (``guardpolicy/scan/profiles.py``; none by default)."""

    def __init__(self, limits: ScanLimits = DEFAULT_LIMITS, extra_allowed=(), profiles=()):
        self.limits = limits
        self.extra = tuple(extra_allowed)
        self.profiles = tuple(profiles)

    # -- entry points ---------------------------------------------------------------
    def scan_file(self, path: str) -> Report:
        """Scan one file; never raises (I/O errors become problems)."""
        self.report = report = Report(path=path)
        self.decompressed = 0
        try:
            st = os.stat(path)
            if stat.S_ISDIR(st.st_mode):
                # a folder handed over by a walk that could not list it, or that held more files than
                # max_files: its (other) files were not seen
                os.listdir(path)
                report.problems.append(Problem("io", "folder not fully scanned: it cannot be listed, or it holds more "
                                                          f"files than max_files ({self.limits.max_files})"))
                return report
            if not stat.S_ISREG(st.st_mode):
                # a pipe or device: nothing fixed to judge, and opening a pipe could block
                report.problems.append(Problem("io", "not a regular file: cannot be scanned"))
                return report
            size = st.st_size
            if size > self.limits.max_file_size:
                report.problems.append(Problem("limit", f"limit exceeded: file is {size} bytes "
                                                        f"(max_file_size {self.limits.max_file_size})"))
                return report
            if size == 0:
                return report
            with open(path, "rb") as fh:
                if size <= _SMALL_FILE:
                    # small files: one read beats a mapping (and bytes index faster than mmap)
                    data = fh.read()
                    report.format = self._scan(data, 0, len(data), "", 0, forced=True)
                    return report
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    report.format = self._scan(mm, 0, size, "", 0, forced=True)
        except OSError as exc:
            report.problems.append(Problem("io", f"cannot read: {exc.strerror or exc}"))
        except RecursionError:
            report.problems.append(Problem("limit", "limit exceeded: nesting too deep"))
        except Exception as exc:  # noqa: BLE001 - a scanner bug must fail closed, never pass a file
            report.problems.append(_internal(exc))
        return report

    def scan_bytes(self, data: bytes, name: str = "<bytes>") -> Report:
        """Scan an in-memory buffer (tests, the runtime hooks)."""
        self.report = report = Report(path=name)
        self.decompressed = 0
        try:
            if data:
                report.format = self._scan(data, 0, len(data), "", 0, forced=True)
        except RecursionError:
            report.problems.append(Problem("limit", "limit exceeded: nesting too deep"))
        except Exception as exc:  # noqa: BLE001 - see scan_file
            report.problems.append(_internal(exc))
        return report

    # -- dispatch -------------------------------------------------------------------
    def _scan(self, data, start: int, end: int, where: str, depth: int, forced: bool) -> str:
        """Scan ``data[start:end]``; return its format name."""
        if depth > self.limits.max_depth:
            self._problem("limit", f"limit exceeded: nested deeper than {self.limits.max_depth} levels", where, start)
            return "unknown"
        fmt = sniff(data, start, end)
        self.report.formats.add(fmt)
        if fmt == "pickle":
            return self._scan_pickles(data, start, end, where, depth, forced)
        if fmt == "zip":
            return self._scan_zip(data, start, end, where, depth)
        if fmt == "numpy":
            return self._scan_npy(data, start, end, where, depth)
        if fmt in _STREAMS:
            fmt = self._scan_stream(fmt, data, start, end, where, depth, forced)
            if fmt != "unknown":
                return fmt
            # a weak magic (LZMA "alone") that did not decode: whatever it is, probe it like unknown bytes
            if _probe_pickle(data, start, end):
                self.report.formats.add("pickle")
                return self._scan_pickles(data, start, end, where, depth, forced)
        if fmt == "7z":
            return self._scan_7z(data, start, end, where, depth)
        if fmt == "tar":
            return self._scan_tar(data, start, end, where, depth)
        if fmt == "safetensors":
            self._check_safetensors(data, start, end, where)
            return fmt
        if fmt == "hdf5":
            self._check_hdf5(data, start, end, where)
            return fmt
        if fmt == "gguf":
            self._check_gguf(data, start, end, where)
            return fmt
        if fmt == "onnx":
            if not self._check_onnx(data, start, end, where):
                # not a model any parser reads: judged like other unrecognised bytes
                self._probe_embedded(data, start, end, where, depth)
            if _probe_pickle(data, start, end):
                # a protobuf/pickle polyglot: what pickle.load would run is judged too
                self._scan_pickles(data, start, end, where, depth, forced)
            return fmt
        self._probe_embedded(data, start, end, where, depth)
        return fmt

    # -- pickles ----------------------------------------------------------------------
    def _scan_pickles(self, data, start: int, end: int, where: str, depth: int, forced: bool) -> str:
        """A pickle, or several in sequence (legacy torch writes five)."""
        if end - start > self.limits.max_pickle_size:
            if not forced:
                # a speculative look (tensor bytes that happen to start like a pickle): look at a prefix
                end = start + self.limits.max_pickle_size
            else:
                self._problem("limit", f"limit exceeded: pickle of {end - start} bytes (max_pickle_size "
                                       f"{self.limits.max_pickle_size})", where, start)
                return "pickle"
        res = PickleMachine(data, start, end, self.limits).run()
        self._take(res, data, where, depth, forced, start)
        fmt = "joblib" if any(g.name == "NumpyArrayWrapper" for g in res.globals) else "pickle"
        if fmt == "joblib":
            # plain pickle.load does not skip joblib's array bytes: read the stream that way too,
            # so opcodes hidden as "array data" are seen (errors there are expected, globals count)
            plain = PickleMachine(data, start, end, self.limits, joblib=False).run()
            # the object arrays' own pickles were scanned properly (fresh stack) by the joblib pass
            inline = [(pos, sub.end) for pos, sub in res.inline]
            plain.globals = [g for g in plain.globals if not any(a <= g.offset < b for a, b in inline)]
            plain.nested = [n for n in plain.nested if not any(a <= n.offset < b for a, b in inline)]
            plain.build_on_global = []
            self._take(plain, data, where, depth, False, start)
        if res.stopped and res.value == TORCH_LEGACY_MAGIC and type(res.value) is int:
            fmt = "torch-legacy"
            pos = res.end
            # protocol version, sys info, the object, the storage keys; raw storages follow
            for _ in range(4):
                if pos >= end:
                    self._problem("parse", "legacy torch file ends before its pickles do", where, pos)
                    break
                res = PickleMachine(data, pos, end, self.limits).run()
                self._take(res, data, where, depth, True, start)
                if not res.stopped:
                    break
                pos = res.end
            return fmt
        # more pickles after the first STOP: followed while they start like pickles
        pos, extra = res.end, 0
        while res.stopped and pos + 2 <= end and extra < 64 and (data[pos] in _P0_START or _probe_pickle(data, pos, end)):
            res = PickleMachine(data, pos, end, self.limits).run()
            self._take(res, data, where, depth, False, start)
            pos, extra = res.end, extra + 1
        return fmt

    def _take(self, res: StreamResult, data, where: str, depth: int, forced: bool, base: int = 0) -> None:
        """Judge one stream's globals and follow its nested payloads (offsets reported from ``base``)."""
        report = self.report
        for g in res.globals:
            if not forced and not (_IDENT.match(g.module.encode("utf-8", "replace")) and
                                   _IDENT.match(g.name.encode("utf-8", "replace"))):
                continue  # a speculative parse of random bytes
            if g.cond and g.called and not g.bad:
                continue  # a storage loader fed only constants, which are scanned below as forced payloads
            if not is_safe(g.module, g.name, self.extra, self.profiles):
                why = danger(g.module, g.name)
                if g.opcode == "EXT":
                    why = "copyreg extension code: the global it names is decided at load time"
                elif g.opcode == "STACK_GLOBAL?":
                    why = "STACK_GLOBAL on values that are not constant strings"
                report.hits.append(Hit(g.module, g.name, where, g.offset - base, g.opcode, why))
        for off in res.build_on_global:
            self._problem("code", "BUILD applied to a global (overwrites attributes of an imported object)", where,
                          off - base)
        if forced and res.error:
            off, msg = res.error
            off -= base
            self._problem("parse", f"the pickle stream breaks at byte {off} ({msg}); the globals it named before "
                                   f"the break are judged, as a loader runs them before failing", where, off)
        if res.limit:
            self._problem("limit", f"limit exceeded: {res.limit}", where, res.end - base)
        for off, sub in res.inline:
            self._take(sub, data, where, depth, True, base)
        for n in res.nested:
            self._nested(n, where, depth, forced and n.forced, base)

    def _nested(self, n, where: str, depth: int, forced: bool, base: int = 0) -> None:
        """A bytes/str constant that may be a pickle (or a compressed one)."""
        value = n.value
        if isinstance(value, str):
            try:
                value = value.encode("latin-1")
            except UnicodeEncodeError:
                value = value.encode("utf-8", "surrogatepass") if forced else None
        elif isinstance(value, BigBytes):
            if len(value) > self.limits.max_pickle_size:
                if forced:
                    self._problem("limit", "limit exceeded: nested payload too large", where, n.offset)
                return
            value = value.tobytes()
        if not value:
            return
        inner_where = f"{where}@{n.offset - base}"
        if depth + 1 > self.limits.max_depth:
            self._problem("limit", f"limit exceeded: nested deeper than {self.limits.max_depth} levels", where, n.offset)
            return
        kind = looks_nested(value[:8])
        before = len(self.report.hits)
        if kind == "pickle" or (forced and kind is None):
            self._scan_pickles(value, 0, len(value), inner_where, depth + 1, forced)
        elif kind in ("zlib", "gzip", "bz2", "xz"):
            buf = self._decompress(kind, value, 0, len(value), inner_where, quiet=not forced)
            if buf is not None:
                self._scan(buf, 0, len(buf), f"{inner_where}!{kind}", depth + 1, forced)
        elif kind == "zip":
            self._scan_zip(value, 0, len(value), inner_where, depth + 1)
        if len(self.report.hits) > before and not forced:
            self._problem("code", f"a pickle is hidden in a constant ({n.via})", where, n.offset)

    # -- zip ----------------------------------------------------------------------------
    def _scan_zip(self, data, start: int, end: int, where: str, depth: int) -> str:
        """Every member of a zip, found by central directory and local headers, judged by content."""
        if start != 0 or end != len(data):
            data = self._copy(data, start, end, where)
            if data is None:
                return "zip"
        from . import zipread

        members, problems, truncated = zipread.list_members(data, len(data), self.limits.max_members)
        if truncated:
            self._problem("limit", f"limit exceeded: more than {self.limits.max_members} archive members", where)
        for msg in problems[:20]:
            # torch's reader tolerates these, Python's does not: only a doctored archive has them
            self._problem("archive", f"archive anomaly: {msg}", where)
        names = {m.name for m in members}
        fmt = "zip"
        if any(n.endswith("constants.pkl") for n in names) and any("/code/" in n for n in names):
            fmt = "torchscript"
        elif any(n.endswith("data.pkl") for n in names):
            fmt = "torch"
        elif "config.json" in names and ("metadata.json" in names or "model.weights.h5" in names):
            fmt = "keras"
        for m in members:
            sub = f"{where}!{m.name}" if where else m.name
            if m.cd_name is not None and m.cd_name != m.name:
                sub += f" (central directory name {m.cd_name!r})"
            self._scan_member(data, m, sub, depth, keras=fmt == "keras")
        if fmt == "zip" and members and all(n.endswith(".npy") for n in names):
            fmt = "numpy-object" if "numpy-object" in self.report.formats else "numpy"
        self.report.formats.add(fmt)
        return fmt

    def _scan_member(self, data, m, where: str, depth: int, keras: bool) -> None:
        """One zip member: peek, then scan it when it can carry a pickle."""
        # tensor storage by its name in both headers (a doctored name must not buy a lighter look)
        storage = all(n is None or (_STORAGE_MEMBER.search(n) and ".." not in n) for n in (m.name, m.cd_name))
        if m.comp_size == 0 and m.method == 0:
            return
        if m.method == 0:
            start, end = m.data_offset, m.data_offset + m.comp_size
            if storage and sniff(data, start, min(end, start + _PEEK)) not in _CARRIERS:
                return  # tensor bytes: never unpickled, never read beyond a peek
            if m.name == "config.json":
                self._check_keras_config(bytes(data[start:end]), where, sure=keras)
                if keras:
                    return
            self._scan(data, start, end, where, depth + 1, forced=not storage)
            return
        if m.method not in (8, 12, 14):
            self._problem("unsupported", f"member compressed with method {m.method}: cannot be checked", where)
            return
        head = self._inflate(data, m, _PEEK, where, peek=True)
        if head is None:
            return
        fmt = sniff(head)
        if storage and fmt not in _CARRIERS:
            return
        if fmt == "gguf" and m.size > _GGUF_PREFIX:
            # the metadata (and its chat template) comes first: the tensors after it are not inflated
            head = self._inflate(data, m, _GGUF_PREFIX, where)
            if head is not None:
                self.report.formats.add(fmt)
                self._check_gguf(head, 0, len(head), where, complete=len(head) < _GGUF_PREFIX)
            return
        if fmt in ("unknown", "hdf5") and m.name != "config.json":
            # data, text, or a format without code: no full read needed
            self.report.formats.add(fmt)
            return
        if fmt == "numpy":
            # the header says whether a pickle follows; read only as much as it needs
            self._scan_npy(head, 0, len(head), where, depth + 1, member=(data, m))
            return
        full = self._inflate(data, m, None, where)
        if full is None:
            return
        if m.name == "config.json":
            self._check_keras_config(full, where, sure=keras)
            if keras:
                return
        self._scan(full, 0, len(full), where, depth + 1, forced=not storage)

    def _inflate(self, data, m, limit: Optional[int], where: str, peek: bool = False) -> Optional[bytes]:
        """Decompress a member (all of it, or its first ``limit`` bytes), within the budgets."""
        import zlib

        raw = data[m.data_offset:m.data_offset + m.comp_size]
        try:
            if m.method == 8:
                d = zlib.decompressobj(-15)
            elif m.method == 12:
                import bz2

                d = bz2.BZ2Decompressor()
            else:
                return self._inflate_lzma(raw, limit, where)
            return self._bounded(d, raw, limit, where, m.comp_size)
        except _Budget:
            return None
        except (zlib.error, OSError, ValueError, EOFError) as exc:
            if not peek:
                self._problem("parse", f"member cannot be decompressed: {exc}", where)
            return None

    def _inflate_lzma(self, raw, limit, where):
        """Decompress a zip LZMA member (method 14) within the budgets."""
        import lzma

        # zip's LZMA: 2 bytes version, 2 bytes properties size, then LZMA1 properties
        if len(raw) < 4:
            return None
        psize = unpack_from("<H", raw, 2)[0]
        props = bytes(raw[4:4 + psize])
        try:
            filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)
            d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])
            return self._bounded(d, raw[4 + psize:], limit, where, len(raw))
        except (lzma.LZMAError, ValueError, _Budget):
            return None

    def _bounded(self, d, raw, limit, where: str, comp_size: int) -> bytes:
        """Run a decompressor under the absolute and ratio limits (zip bombs)."""
        cap = self.limits.max_decompressed - self.decompressed
        want = cap if limit is None else min(limit, cap)
        if hasattr(d, "unconsumed_tail"):
            out = d.decompress(bytes(raw), want + 1)
        else:
            out = d.decompress(bytes(raw), max_length=want + 1)
        if limit is not None:
            return out[:limit]
        if len(out) > want:
            self._problem("limit", f"limit exceeded: decompresses to more than {self.limits.max_decompressed} bytes "
                                   "(zip bomb?)", where)
            raise _Budget()
        self.decompressed += len(out)
        if len(out) > self.limits.ratio_floor and len(out) > self.limits.max_ratio * max(1, comp_size):
            self._problem("limit", f"limit exceeded: decompression ratio {len(out) // max(1, comp_size)}:1 "
                                   "(zip bomb?)", where)
            raise _Budget()
        return out

    def _scan_stream(self, fmt: str, data, start: int, end: int, where: str, depth: int, forced: bool) -> str:
        """A compressed stream: scan what it decodes to; ``unknown`` when a weak magic was no stream after all."""
        before = len(self.report.problems)
        buf = self._decompress(fmt, data, start, end, where, quiet=not forced)
        if buf is not None:
            inner = self._scan(buf, 0, len(buf), f"{where}!{fmt}", depth + 1, forced)
            return inner if inner != "unknown" else fmt
        if fmt in _WEAK_MAGIC and len(self.report.problems) == before:
            # a plausible header over bytes that decode to nothing known: judged as the bytes they are
            self.report.formats.discard(fmt)
            return "unknown"
        return fmt

    def _decompress(self, kind: str, data, start: int, end: int, where: str, quiet: bool = False) -> Optional[bytes]:
        """Decompress a stream (``_STREAMS``) within the budgets.

        A broken stream gives what it decoded before the break, with a parse problem: a loader
        unpickles as it decompresses, so that part has run by the time the error is raised.
        """
        from . import streams  # lazy, like the decoders it imports: most scans meet no compressed stream

        if kind in _WEAK_MAGIC and not _weak_stream_holds(kind, data, start, end):
            return None  # random bytes behind a plausible header: not a stream (and not copied to find out)
        room = self.limits.max_decompressed - self.decompressed
        try:
            out, error = streams.decode(kind, data[start:end], room)
        except streams.Unsupported as exc:
            if not quiet:
                self._problem("unsupported", f"{kind} stream cannot be checked: {exc}", where, start)
            return None
        if not self._charge(len(out), room, end - start, where):
            return None
        if error is None:
            return out
        if not quiet:
            self._problem("parse", f"{kind} stream breaks after {len(out)} bytes: {error} (failing closed: a "
                                   "loader decompressing it would have read what came before)", where)
        return out if out else None

    def _charge(self, produced: int, room: int, comp_size: int, where: str) -> bool:
        """Count ``produced`` bytes against the absolute and ratio limits; report and refuse when over."""
        if produced > room:
            self._problem("limit", f"limit exceeded: decompresses to more than {self.limits.max_decompressed} bytes "
                                   "(zip bomb?)", where)
            return False
        self.decompressed += produced
        if produced > self.limits.ratio_floor and produced > self.limits.max_ratio * max(1, comp_size):
            self._problem("limit", f"limit exceeded: decompression ratio {produced // max(1, comp_size)}:1 "
                                   "(zip bomb?)", where)
            return False
        return True

    def _copy(self, data, start: int, end: int, where: str) -> Optional[bytes]:
        """Copy a nested archive out of its container, within the budget."""
        if end - start > self.limits.max_decompressed - self.decompressed:
            self._problem("limit", "limit exceeded: nested archive too large to scan", where, start)
            return None
        self.decompressed += end - start
        return bytes(data[start:end])

    # -- 7z -------------------------------------------------------------------------------
    def _scan_7z(self, data, start: int, end: int, where: str, depth: int) -> str:
        """Every member of a 7z archive (extracted by ``sevenzip`` within the budgets), judged like a zip member."""
        from . import sevenzip  # lazy: only 7z files need it (and py7zr behind it)

        room = self.limits.max_decompressed - self.decompressed
        listing = sevenzip.members(data, start, end, self.limits, room, wants_all=_wants_whole_member)
        self.decompressed += listing.used
        for trouble in listing.troubles:
            self._problem(trouble.kind, trouble.message, where)
        for name, got in listing.entries:
            sub = f"{where}!{name}" if where else name
            if isinstance(got, sevenzip.Trouble):
                self._problem(got.kind, got.message, sub)
                continue
            storage = _is_storage(name)
            if storage and sniff(got, 0, min(len(got), _PEEK)) not in _CARRIERS:
                continue  # tensor bytes: never unpickled
            self._scan(got, 0, len(got), sub, depth + 1, forced=not storage)
        return "7z"

    # -- tar ------------------------------------------------------------------------------
    def _scan_tar(self, data, start: int, end: int, where: str, depth: int) -> str:
        """Walk tar headers by hand (GNU long names, ustar prefixes) and scan each regular file."""
        pos, count, long_name = start, 0, None
        while pos + 512 <= end:
            block = bytes(data[pos:pos + 512])
            if block == b"\0" * 512:
                break
            count += 1
            if count > self.limits.max_members:
                self._problem("limit", f"limit exceeded: more than {self.limits.max_members} archive members", where)
                break
            name = block[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
            prefix = block[345:500].split(b"\0", 1)[0].decode("utf-8", "replace") if block[257:262] == b"ustar" else ""
            if prefix:
                name = f"{prefix}/{name}"
            try:
                size_field = block[124:136]
                if size_field[0] & 0x80:  # GNU base-256
                    size = int.from_bytes(size_field[1:], "big")
                else:
                    size = int(size_field.split(b"\0", 1)[0].strip() or b"0", 8)
            except ValueError:
                self._problem("parse", "bad tar header", where, pos)
                break
            kind = block[156:157]
            body = pos + 512
            if kind == b"L":
                long_name = bytes(data[body:body + size]).split(b"\0", 1)[0].decode("utf-8", "replace")
            elif kind in (b"0", b"\0", b"7"):
                name = long_name or name
                long_name = None
                sub = f"{where}!{name}" if where else name
                self._scan(data, body, min(end, body + size), sub, depth + 1, forced=True)
            pos = body + (size + 511) // 512 * 512
        return "tar"

    # -- numpy ----------------------------------------------------------------------------
    def _scan_npy(self, data, start: int, end: int, where: str, depth: int, member=None) -> str:
        """``.npy``: a plain dtype is data; an object dtype means a pickle follows the header.

        For a compressed zip ``member`` only the first bytes are in ``data``; the member is
        inflated in full only when a pickle follows.
        """
        status, body = _npy_info(data, start, end)
        if status == "truncated" and member is not None:
            data = self._inflate(member[0], member[1], 1 << 20, where)
            if data is None:
                return "numpy"
            start, end = 0, len(data)
            status, body = _npy_info(data, start, end)
        if status in ("truncated", "bad"):
            self._problem("header", f"{'truncated' if status == 'truncated' else 'unreadable'} .npy header", where, start)
            return "numpy"
        if status == "plain":
            self.report.formats.add("numpy")
            return "numpy"
        self.report.formats.add("numpy-object")
        if member is not None:
            full = self._inflate(member[0], member[1], None, where)
            if full is None:
                return "numpy-object"
            data, end = full, len(full)
        self._scan_pickles(data, body, end, where, depth + 1, forced=True)
        return "numpy-object"

    # -- safetensors ----------------------------------------------------------------------
    def _check_safetensors(self, data, start: int, end: int, where: str) -> None:
        """Report an invalid safetensors header."""
        err = safetensors_error(data, start, end, self.limits.max_safetensors_header)
        if err:
            self._problem("header", f"invalid safetensors file: {err}", where, start)

    # -- Keras ----------------------------------------------------------------------------
    def _check_keras_config(self, raw: bytes, where: str, sure: bool = True) -> None:
        """Report code in a Keras v3 ``config.json``.

        ``sure=False``: a root ``config.json`` in a zip not named like a ``.keras`` archive. Keras
        builds the model from it before it looks for weights or metadata, so it is judged when it
        holds a Keras object; any other JSON (or none) is left alone.
        """
        try:
            config = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            if sure:
                self._problem("parse", f"Keras config.json is not JSON: {exc}"[:200], where)
            return
        if not sure:
            if not (isinstance(config, dict) and "class_name" in config):
                return
            self.report.formats.add("keras")
        for msg in keras_code(config):
            self._problem("code", msg, where)

    def _check_hdf5(self, data, start: int, end: int, where: str) -> None:
        # Keras 2 keeps ``model_config`` as JSON in a root attribute near the start
        """Report code (Lambda layers, functions outside keras) in a Keras 2 HDF5 ``model_config``."""
        from .keras_config import hdf5_keras_code

        found = hdf5_keras_code(bytes(data[start:min(end, start + 64 * 1024 * 1024)]))
        if found:
            self.report.formats.add("keras")
        for msg in found:
            self._problem("code", msg, where)

    # -- GGUF and ONNX --------------------------------------------------------------------
    def _check_gguf(self, data, start: int, end: int, where: str, complete: bool = True) -> None:
        """Report an injected chat template, or metadata that cannot be read."""
        from .gguf import gguf_problems

        for kind, message, offset in gguf_problems(data, start, end, complete):
            self._problem(kind, message, where, offset)

    def _check_onnx(self, data, start: int, end: int, where: str) -> bool:
        """Report external-data paths that leave the model folder; True when the model parsed."""
        from .onnx import external_locations, location_escape, problems_for

        found, stopped = external_locations(data, start, end)
        for kind, message, offset in problems_for(found, stopped):
            self._problem(kind, message, where, offset)
        if not where:
            # the files it reads beside it are tensor data, not "unrecognised binary content"
            folder = os.path.dirname(self.report.path)
            self.report.references.extend(os.path.normpath(os.path.join(folder, loc)) for _, loc, _ in found
                                          if location_escape(loc) is None)
        return stopped is None

    # -- unknown --------------------------------------------------------------------------
    def _probe_embedded(self, data, start: int, end: int, where: str, depth: int) -> None:
        """A pickle after leading junk: try every protocol 2+ header found (bounded)."""
        stop = min(end, start + self.limits.max_probe_unknown)
        tries = 0
        for m in _PROTO_HEADER.finditer(data, start, stop):
            pos = m.start()
            tries += 1
            if tries > 64:
                break
            res = PickleMachine(data, pos, end, self.limits).run()
            if res.globals:
                before = len(self.report.hits)
                self._take(res, data, where, depth, False, start)
                if len(self.report.hits) > before:
                    self._problem("code", f"pickle embedded after {pos - start} bytes of other data", where, pos - start)
                    self.report.formats.add("pickle")

    def _problem(self, kind: str, message: str, where: str = "", offset: Optional[int] = None) -> None:
        """Record a problem (a fail-closed finding)."""
        self.report.problems.append(Problem(kind, message, where, offset))


def _weak_stream_holds(kind: str, data, start: int, end: int) -> bool:
    """Whether a stream sniffed by its header alone is one: its first bytes decode cleanly, or to
    something known (a real stream broken early still counts; random bytes fail within a few bytes)."""
    from . import streams  # lazy: see _decompress

    try:
        head = streams.decode(kind, data[start:min(end, start + 16 * _PEEK)], _PEEK)
    except streams.Unsupported:
        return True  # no decoder to ask: the full look reports it
    return head.error in (None, streams.TRUNCATED) or sniff(head.data) != "unknown"


def _is_storage(name: str) -> bool:
    """A tensor storage member by its name (``archive/data/0``), which loaders never unpickle."""
    return bool(_STORAGE_MEMBER.search(name)) and ".." not in name


def _wants_whole_member(name: str, head: bytes) -> bool:
    """Whether an archive member is needed beyond its head: not for tensor bytes that carry nothing."""
    return not _is_storage(name) or sniff(head) in _CARRIERS


def _internal(exc: Exception) -> Problem:
    """A scanner bug, reported as a fail-closed problem (kind ``internal``; the fuzz tests hunt these)."""
    return Problem("internal", f"scanner error {type(exc).__name__}: {exc} (failing closed)"[:300])


def _npy_info(data, start: int, end: int):
    """``(status, body_offset)`` of a ``.npy`` header: status ``object``, ``plain``, ``truncated`` or ``bad``."""
    if end - start < 12:
        return "truncated", 0
    major = data[start + 6]
    if major == 1:
        hlen, hstart = unpack_from("<H", data, start + 8)[0], start + 10
    elif major in (2, 3):
        hlen, hstart = unpack_from("<I", data, start + 8)[0], start + 12
    else:
        return "bad", 0
    if hstart + hlen > end:
        return "truncated", 0
    obj = _npy_has_object(bytes(data[hstart:hstart + hlen]))
    if obj is None:
        return "bad", 0
    return ("object" if obj else "plain"), hstart + hlen


def _npy_has_object(header: bytes) -> Optional[bool]:
    """Whether a ``.npy`` header's ``descr`` holds Python objects (``None`` if unreadable)."""
    import ast

    try:
        d = ast.literal_eval(header.decode("latin-1").strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(d, dict) or "descr" not in d:
        return None

    def has_o(descr) -> bool:
        """True when a descriptor (string or structured list) holds objects."""
        if isinstance(descr, str):
            return "O" in descr
        if isinstance(descr, (list, tuple)):
            return any(has_o(x) for x in descr)
        return True  # anything odd: assume the worst

    return has_o(d["descr"])


_ST_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
             "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8, "C64": 8}
_ST_SUBBYTE = {"F4", "F6_E2M3", "F6_E3M2"}


def safetensors_error(data, start: int, end: int, max_header: int) -> Optional[str]:
    """What is wrong with a safetensors header (``None`` when it is sound)."""
    if end - start < 8:
        return "shorter than its 8-byte header length"
    hlen = unpack_from("<Q", data, start)[0]
    if hlen > max_header:
        return f"header length {hlen} exceeds the limit ({max_header})"
    if 8 + hlen > end - start:
        return f"header length {hlen} runs past the end of the file"
    try:
        header = json.loads(bytes(data[start + 8:start + 8 + hlen]).rstrip(b" "))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "header is not valid JSON"
    if not isinstance(header, dict):
        return "header is not a JSON object"
    body = end - start - 8 - hlen
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            if not isinstance(info, dict) or not all(isinstance(v, str) for v in info.values()):
                return "__metadata__ must map strings to strings"
            continue
        if not isinstance(info, dict):
            return f"tensor {key!r}: entry is not an object"
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _ST_SIZES and dtype not in _ST_SUBBYTE:
            return f"tensor {key!r}: unknown dtype {dtype!r}"
        if not isinstance(shape, list) or not all(type(x) is int and x >= 0 for x in shape):
            return f"tensor {key!r}: bad shape {shape!r}"[:200]
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(x) is int for x in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= body):
            return f"tensor {key!r}: data offsets {offsets!r} outside the data ({body} bytes)"[:200]
        if dtype in _ST_SIZES:
            n = 1
            for x in shape:
                n *= x
            if n * _ST_SIZES[dtype] != offsets[1] - offsets[0]:
                return f"tensor {key!r}: {dtype}{shape} needs {n * _ST_SIZES[dtype]} bytes, offsets give {offsets[1] - offsets[0]}"
        spans.append((offsets[0], offsets[1], key))
    spans.sort()
    pos = 0
    for a, b, key in spans:
        if a < pos:
            return f"tensor {key!r} overlaps the previous tensor"
        if a > pos:
            return f"gap before tensor {key!r} (bytes {pos}..{a} are not described)"
        pos = b
    if pos != body:
        return f"{body - pos} bytes after the last tensor are not described"
    return None
