"""Bounded 7z reading: list an archive's members and extract them, within the scan's limits.

``members(data, start, end, limits, room, wants_all)`` returns each member as ``(name, bytes)``
or ``(name, Trouble)``, plus archive-level troubles and the bytes it decompressed.

py7zr (the ``archives`` extra) extracts, but only after this module has read the headers
itself: py7zr allocates a dict per listed file and decodes an encoded header of up to 256 MiB
before a caller sees anything, so the member and folder counts, the coders' dictionary sizes
and the declared sizes are checked against ``ScanLimits`` first. Members are then extracted in
archive order while their declared sizes fit the budget (py7zr never writes more than a member
declares), into in-memory sinks that charge every byte to the budget as it arrives.
"""

from __future__ import annotations

import io
import zlib
from struct import unpack_from
from typing import Callable, List, NamedTuple, Optional, Tuple, Union

from .limits import ScanLimits

MAGIC = b"7z\xbc\xaf\x27\x1c"
#: bytes of a member held before ``wants_all`` decides whether to keep the rest
PEEK = 4096
_SIGNATURE_SIZE = 32
_MAX_CODERS = 64  # 7-Zip's own bound per folder
_PRESET_DICT_MAX = 64 * 1024 * 1024  # 7-Zip -mx9 (py7zr's presets use less)
#: header bytes allowed per member (and at least 64 MiB): py7zr reads names two bytes per Python step
_HEADER_PER_MEMBER = 640
#: property ids read in one header: real ones hold a few dozen, and each costs a Python step
_MAX_ATTRIBUTES = 4096
_LZMA = b"\x03\x01\x01"
_LZMA2 = b"\x21"
_PPMD = b"\x03\x04\x01"
_CRYPTO = b"\x06\xf1"  # 7-Zip's encryption method family (AES-256 + SHA-256 is 06 F1 07 01)
_NOT_CHECKED = "failing closed: whatever it holds was not checked"

# property ids of the 7z header (7zFormat.txt)
_END, _HEADER, _ARCHIVE_PROPERTIES, _ADDITIONAL_STREAMS, _MAIN_STREAMS, _FILES_INFO = 0, 1, 2, 3, 4, 5
_PACK_INFO, _UNPACK_INFO, _SUBSTREAMS_INFO, _SIZE, _CRC, _FOLDER = 6, 7, 8, 9, 10, 11
_CODERS_UNPACK_SIZE, _NUM_UNPACK_STREAM, _EMPTY_STREAM, _ENCODED_HEADER = 12, 13, 14, 23


class Trouble(NamedTuple):
    """A finding about the archive or one member: ``kind`` as ``containers.Problem`` uses it."""

    kind: str
    message: str


Entry = Tuple[str, Union[bytes, Trouble]]


class Listing(NamedTuple):
    """Members in archive order (a member may have bytes and then a trouble), archive troubles, bytes decompressed."""

    entries: List[Entry]
    troubles: List[Trouble]
    used: int


class _Bad(Exception):
    """The header is malformed (message says where)."""


class _Stop(Exception):
    """A limit or an unsupported feature ends the listing (carries the trouble)."""

    def __init__(self, trouble: Trouble):
        super().__init__(trouble.message)
        self.trouble = trouble


def members(data, start: int, end: int, limits: ScanLimits, room: int,
            wants_all: Callable[[str, bytes], bool] = lambda name, head: True) -> Listing:
    """The members of the 7z archive ``data[start:end]``, extracted within ``room`` bytes and the ratio limit."""
    try:
        # lazy and optional: py7zr is the archives extra, and only 7z files need it
        import py7zr
    except ImportError:
        return Listing([], [Trouble("unsupported", "7z archive cannot be checked: install guardpolicy[archives]")], 0)
    cap = min(room, max(limits.ratio_floor, limits.max_ratio * (end - start)))
    try:
        plan = _read_plan(data, start, end, limits, cap)
    except _Stop as stop:
        return Listing([], [stop.trouble], 0)
    except _Bad as exc:
        return Listing([], [Trouble("parse", f"7z archive cannot be read: {exc} ({_NOT_CHECKED})")], 0)
    return _extract(py7zr, _Window(data, start, end), plan, limits, room, cap, wants_all)


# -- the plan: what the headers declare ---------------------------------------------------------

class _Folder(NamedTuple):
    """A 7z folder (a solid block): its coders and the size of its final output."""

    coders: List[Tuple[bytes, bytes]]  # (method id, properties)
    size: int
    encrypted: bool


class _Plan(NamedTuple):
    """What the headers declare: folders, and for each file its folder (``None`` when empty) and size."""

    folders: List[_Folder]
    files: List[Tuple[Optional[int], int]]
    header_bytes: int  # bytes decompressed to read an encoded header


def _read_plan(data, start: int, end: int, limits: ScanLimits, cap: int) -> _Plan:
    """Read the signature header and the (possibly encoded) header; check counts and sizes against the limits."""
    size = end - start
    if size < _SIGNATURE_SIZE or bytes(data[start:start + 6]) != MAGIC:
        raise _Bad("truncated signature header")
    sig = bytes(data[start:start + _SIGNATURE_SIZE])
    if zlib.crc32(sig[12:32]) != unpack_from("<I", sig, 8)[0]:
        raise _Bad("signature header CRC mismatch")
    offset, length, crc = unpack_from("<QQI", sig, 12)
    if length == 0:
        return _Plan([], [], 0)
    if offset > size - _SIGNATURE_SIZE or length > size - _SIGNATURE_SIZE - offset:
        raise _Bad("header lies outside the archive")
    _check_header_size(length, limits, cap)
    at = start + _SIGNATURE_SIZE + offset
    header = bytes(data[at:at + length])
    if zlib.crc32(header) != crc:
        raise _Bad("header CRC mismatch")
    r = _Reader(header)
    kind = r.attribute()
    decoded = 0
    if kind == _ENCODED_HEADER:
        streams = _streams_info(r, limits)
        header = _decode_header(data, start, end, streams, limits, cap)
        decoded = len(header)
        r = _Reader(header)
        kind = r.attribute()
    if kind != _HEADER:
        raise _Bad(f"unexpected property {kind} where the header starts")
    folders, files = _header(r, limits)
    return _Plan(folders, files, decoded)


class _Streams(NamedTuple):
    pack_pos: int
    pack_sizes: List[int]
    folders: List[_Folder]
    folder_crcs: List[Optional[int]]
    substreams: List[int]  # per folder
    sizes: List[int]  # per substream


def _header(r: "_Reader", limits: ScanLimits):
    """``(folders, files)`` of a plain header (after its ``kHeader`` id)."""
    kind = r.attribute()
    if kind == _ARCHIVE_PROPERTIES:
        while r.attribute() != _END:
            r.skip(r.number())
        kind = r.attribute()
    if kind == _ADDITIONAL_STREAMS:
        _streams_info(r, limits)
        kind = r.attribute()
    streams = _Streams(0, [], [], [], [], [])
    if kind == _MAIN_STREAMS:
        streams = _streams_info(r, limits)
        kind = r.attribute()
    files: List[Tuple[Optional[int], int]] = []
    if kind == _FILES_INFO:
        files = _files(r, streams, limits)
        kind = r.attribute()
    if kind != _END:
        raise _Bad(f"unexpected property {kind} in the header")
    return streams.folders, files


def _files(r: "_Reader", streams: _Streams, limits: ScanLimits) -> List[Tuple[Optional[int], int]]:
    """Each file's folder and size: files with data take the substreams in order."""
    count = r.number()
    if count > limits.max_members:
        raise _Stop(Trouble("limit", f"limit exceeded: more than {limits.max_members} archive members"))
    empty = b""
    while True:
        kind = r.attribute()
        if kind == _END:
            break
        size = r.number()
        body = r.take(size)
        if kind == _EMPTY_STREAM:
            empty = body
    owners = [i for i, n in enumerate(streams.substreams) for _ in range(n)]
    files: List[Tuple[Optional[int], int]] = []
    k = 0
    for i in range(count):
        if i // 8 < len(empty) and empty[i // 8] & (0x80 >> (i % 8)):
            files.append((None, 0))
            continue
        if k >= len(owners):
            raise _Bad("more files with data than streams")
        files.append((owners[k], streams.sizes[k]))
        k += 1
    if k != len(owners):
        raise _Bad("more streams than files with data")
    return files


def _streams_info(r: "_Reader", limits: ScanLimits) -> _Streams:
    """PackInfo, UnpackInfo (folders) and SubStreamsInfo, bounded by ``max_members``."""
    pack_pos, pack_sizes = 0, []
    folders: List[_Folder] = []
    crcs: List[Optional[int]] = []
    kind = r.attribute()
    if kind == _PACK_INFO:
        pack_pos = r.number()
        n = _count(r.number(), 4 * limits.max_members, "packed streams")
        _wait(r, _SIZE)
        pack_sizes = [r.number() for _ in range(n)]
        _trailer(r, lambda: _digests(r, n))
        kind = r.attribute()
    if kind == _UNPACK_INFO:
        folders, crcs = _unpack_info(r, limits)
        kind = r.attribute()
    substreams = [1] * len(folders)
    sizes = [f.size for f in folders]
    if kind == _SUBSTREAMS_INFO:
        substreams, sizes = _substreams(r, folders, crcs, limits)
        kind = r.attribute()
    if kind != _END:
        raise _Bad(f"unexpected property {kind} in streams info")
    return _Streams(pack_pos, pack_sizes, folders, crcs, substreams, sizes)


def _unpack_info(r: "_Reader", limits: ScanLimits):
    """The folders, each with its coders and final output size, and their CRCs."""
    _wait(r, _FOLDER)
    n = r.number()
    if n > limits.max_members:
        raise _Stop(Trouble("limit", f"limit exceeded: more than {limits.max_members} archive members "
                                     f"(7z folders)"))
    if r.byte() != 0:
        raise _Bad("folders stored outside the header")
    shapes = [_folder(r) for _ in range(n)]
    streams = sum(outs for _, outs, _ in shapes)
    if streams > 4 * limits.max_members + _MAX_CODERS:
        raise _Stop(Trouble("limit", f"limit exceeded: 7z folders declare {streams} coder outputs"))
    _wait(r, _CODERS_UNPACK_SIZE)
    folders = []
    for coders, outs, final in shapes:
        sizes = [r.number() for _ in range(outs)]
        folders.append(_Folder(coders, sizes[final], any(m.startswith(_CRYPTO) for m, _ in coders)))
    crcs: List[Optional[int]] = [None] * n

    def folder_crcs():
        for i, crc in enumerate(_digests(r, n)):
            crcs[i] = crc

    _trailer(r, folder_crcs)
    return folders, crcs


def _folder(r: "_Reader"):
    """``(coders, number of output streams, index of the final output)`` of one folder."""
    n = r.number()
    if not 1 <= n <= _MAX_CODERS:
        raise _Bad(f"folder with {n} coders")
    coders, ins, outs = [], 0, 0
    for _ in range(n):
        flags = r.byte()
        if flags & 0xC0:
            raise _Bad("coder with alternative methods")
        method = r.take(flags & 0x0F)
        if flags & 0x10:
            cin, cout = r.number(), r.number()
            if not (1 <= cin <= _MAX_CODERS and 1 <= cout <= _MAX_CODERS):
                raise _Bad("coder stream counts out of range")
        else:
            cin = cout = 1
        props = r.take(r.number()) if flags & 0x20 else b""
        coders.append((method, props))
        ins, outs = ins + cin, outs + cout
    bound = set()
    for _ in range(outs - 1):
        r.number()  # the input a bound output feeds
        out = r.number()
        if out >= outs:
            raise _Bad("bind pair out of range")
        bound.add(out)
    packed = ins - (outs - 1)
    if packed < 1:
        raise _Bad("folder without packed stream")
    if packed > 1:
        for _ in range(packed):
            r.number()
    finals = [i for i in range(outs) if i not in bound]
    if len(finals) != 1:
        raise _Bad("folder without a single final output")
    return coders, outs, finals[0]


def _substreams(r: "_Reader", folders: List[_Folder], crcs: List[Optional[int]], limits: ScanLimits):
    """How many files each folder holds and each file's size (the last one takes the rest of its folder)."""
    counts = [1] * len(folders)
    kind = r.attribute()
    while kind not in (_CRC, _SIZE, _END):
        if kind == _NUM_UNPACK_STREAM:
            counts = [r.number() for _ in folders]
            if sum(counts) > limits.max_members:
                raise _Stop(Trouble("limit", f"limit exceeded: more than {limits.max_members} archive members"))
        else:
            r.skip(r.number())
        kind = r.attribute()
    sizes = []
    for folder, count in zip(folders, counts):
        if count == 0:
            continue
        if count > 1 and kind != _SIZE:
            raise _Bad("sizes missing for a folder of several files")
        listed = [r.number() for _ in range(count - 1)] if kind == _SIZE else []
        if sum(listed) > folder.size:
            raise _Bad("file sizes exceed their folder's size")
        sizes.extend(listed)
        sizes.append(folder.size - sum(listed))
    if kind == _SIZE:
        kind = r.attribute()
    unknown = sum(c for c, crc in zip(counts, crcs) if c != 1 or crc is None)
    while kind != _END:
        if kind == _CRC:
            _digests(r, unknown)
        else:
            r.skip(r.number())
        kind = r.attribute()
    return counts, sizes


def _digests(r: "_Reader", n: int) -> List[Optional[int]]:
    """``n`` optional CRC32s: an all-defined byte or a bit vector, then the defined ones."""
    if r.byte():
        defined = [True] * n
    else:
        bits = r.take((n + 7) // 8)
        defined = [bool(bits[i // 8] & (0x80 >> (i % 8))) for i in range(n)]
    return [unpack_from("<I", r.take(4))[0] if d else None for d in defined]


def _wait(r: "_Reader", wanted: int) -> None:
    """Skip attributes until ``wanted`` (7-Zip's WaitId)."""
    while True:
        kind = r.attribute()
        if kind == wanted:
            return
        if kind == _END:
            raise _Bad(f"property {wanted} missing")
        r.skip(r.number())


def _trailer(r: "_Reader", on_crc) -> None:
    """Optional attributes up to ``kEnd``: CRCs handled by ``on_crc``, anything else skipped."""
    while True:
        kind = r.attribute()
        if kind == _END:
            return
        if kind == _CRC:
            on_crc()
        else:
            r.skip(r.number())


def _count(n: int, bound: int, what: str) -> int:
    """``n`` when it is within ``bound`` (a limit finding otherwise)."""
    if n > bound:
        raise _Stop(Trouble("limit", f"limit exceeded: 7z header declares {n} {what} (more than {bound})"))
    return n


def _coder_memory(method: bytes, props: bytes) -> int:
    """The memory a coder asks for up front (LZMA/LZMA2 dictionary, PPMd model); 0 for the others."""
    if method == _LZMA and len(props) >= 5:
        return unpack_from("<I", props, 1)[0]
    if method == _LZMA2 and len(props) >= 1:
        bits = props[0] & 0x3F
        return 0xFFFFFFFF if bits >= 40 else (2 | (bits & 1)) << (bits // 2 + 11)
    if method == _PPMD and len(props) >= 5:
        return unpack_from("<I", props, 1)[0]
    return 0


def _check_header_size(size: int, limits: ScanLimits, cap: int) -> None:
    """A header bigger than ``max_members`` entries need would only cost time (py7zr parses it in Python)."""
    bound = min(cap, max(_PRESET_DICT_MAX, _HEADER_PER_MEMBER * limits.max_members))
    if size > bound:
        raise _Stop(Trouble("limit", f"limit exceeded: 7z header of {size} bytes (more than {bound} for "
                                     f"{limits.max_members} members)"))


def _check_coders(folders: List[_Folder], limits: ScanLimits) -> None:
    """A dictionary larger than both 7-Zip's biggest preset and everything the scan may decompress
    buys the decoder nothing but memory: a bomb, not a model."""
    bound = max(limits.max_decompressed, _PRESET_DICT_MAX)
    for folder in folders:
        for method, props in folder.coders:
            need = _coder_memory(method, props)
            if need > bound:
                raise _Stop(Trouble("limit", f"limit exceeded: 7z coder asks for {need} bytes of memory "
                                             f"(max_decompressed {limits.max_decompressed})"))


def _decode_header(data, start: int, end: int, streams: _Streams, limits: ScanLimits, cap: int) -> bytes:
    """Decompress an encoded header (one LZMA or LZMA2 folder, as 7-Zip and py7zr write it) within ``cap``."""
    import lzma  # lazy: most scans read no 7z header

    if len(streams.folders) != 1 or not streams.pack_sizes:
        raise _Bad("encoded header without a single folder")
    folder = streams.folders[0]
    if folder.encrypted:
        raise _Stop(Trouble("unsupported", "7z archive with an encrypted header: members cannot be checked"))
    _check_coders(streams.folders, limits)
    if len(folder.coders) != 1 or folder.coders[0][0] not in (_LZMA, _LZMA2):
        raise _Stop(Trouble("unsupported", f"7z header compressed with method {folder.coders[0][0].hex()}: "
                                           "cannot be checked"))
    if folder.size > cap:
        raise _Stop(Trouble("limit", f"limit exceeded: 7z header decompresses to {folder.size} bytes "
                                     f"(more than the {cap} this archive may use; zip bomb?)"))
    _check_header_size(folder.size, limits, cap)
    at = start + _SIGNATURE_SIZE + streams.pack_pos
    packed = streams.pack_sizes[0]
    if streams.pack_pos > end - start - _SIGNATURE_SIZE or packed > end - at:
        raise _Bad("encoded header lies outside the archive")
    method, props = folder.coders[0]
    try:
        if method == _LZMA:
            filt = lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)
        else:
            filt = lzma._decode_filter_properties(lzma.FILTER_LZMA2, props)
        out = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt]).decompress(bytes(data[at:at + packed]),
                                                                                 folder.size)
    except (lzma.LZMAError, ValueError, TypeError) as exc:
        raise _Bad(f"encoded header cannot be decompressed: {exc}") from None
    if len(out) != folder.size:
        raise _Bad("encoded header is truncated")
    if streams.folder_crcs and streams.folder_crcs[0] is not None and zlib.crc32(out) != streams.folder_crcs[0]:
        raise _Bad("encoded header CRC mismatch")
    return out


class _Reader:
    """A cursor over header bytes; reading past the end is a malformed header."""

    __slots__ = ("buf", "pos", "attributes")

    def __init__(self, buf: bytes):
        self.buf, self.pos, self.attributes = buf, 0, 0

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise _Bad("header ends early")
        self.pos += 1
        return self.buf[self.pos - 1]

    def take(self, n: int) -> bytes:
        if n > len(self.buf) - self.pos:
            raise _Bad("header ends early")
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def skip(self, n: int) -> None:
        self.take(n)

    def attribute(self) -> int:
        """A property id; their number is bounded, as each one costs a Python step."""
        self.attributes += 1
        if self.attributes > _MAX_ATTRIBUTES:
            raise _Bad("too many header properties")
        return self.number()

    def number(self) -> int:
        """7z's UINT64: the first byte's leading one bits say how many bytes follow."""
        first = self.byte()
        mask, value = 0x80, 0
        for i in range(8):
            if not first & mask:
                return value | ((first & (mask - 1)) << (8 * i))
            value |= self.byte() << (8 * i)
            mask >>= 1
        return value


# -- extraction ------------------------------------------------------------------------------------

def _extract(py7zr, fp, plan: _Plan, limits: ScanLimits, room: int, cap: int, wants_all) -> Listing:
    """Extract the members whose declared sizes fit, through py7zr, into budgeted sinks."""
    try:
        _check_coders(plan.folders, limits)
    except _Stop as stop:
        return Listing([], [stop.trouble], plan.header_bytes)
    try:
        archive = py7zr.SevenZipFile(fp, mode="r")
    except Exception as exc:  # noqa: BLE001 - py7zr raises many types on a hostile archive; fail closed
        return Listing([], [Trouble("parse", f"7z archive cannot be read: {_why(exc)} ({_NOT_CHECKED})")],
                       plan.header_bytes)
    try:
        return _extract_open(archive, plan, limits, room, cap, wants_all)
    finally:
        try:
            archive.close()
        except Exception:  # noqa: BLE001 - closing a read-only archive over memory loses nothing
            pass


def _extract_open(archive, plan: _Plan, limits: ScanLimits, room: int, cap: int, wants_all) -> Listing:
    """``_extract`` once py7zr has read the headers."""
    import inspect

    troubles: List[Trouble] = []
    if "factory" not in inspect.signature(archive.extract).parameters:
        return Listing([], [Trouble("unsupported", "7z archive cannot be checked: py7zr is too old (no writer "
                                                   "factory); install guardpolicy[archives]")], plan.header_bytes)
    try:
        listed = archive.list()
    except Exception as exc:  # noqa: BLE001 - see _extract
        return Listing([], [Trouble("parse", f"7z archive cannot be read: {_why(exc)} ({_NOT_CHECKED})")],
                       plan.header_bytes)
    if len(listed) != len(plan.files):
        return Listing([], [Trouble("archive", "archive anomaly: py7zr lists a different number of 7z members "
                                               "than the header declares")], plan.header_bytes)
    take, over, entries = _choose(plan, [info.filename for info in listed], cap - plan.header_bytes)
    for name in sorted(_refused_names(take)):
        # py7zr refuses the whole extraction over one such name: leave it out, and fail closed on it
        entries.append((name, Trouble("archive", "archive anomaly: 7z member name leaves the extraction folder "
                                                 "(not checked)")))
        take.discard(name)
    if over:
        total = plan.header_bytes + sum(size for folder, size in plan.files if folder is not None)
        troubles.append(_over(total, room, cap, limits, over))
    budget = _Budget(cap - plan.header_bytes)
    factory = _Factory(budget, wants_all)
    failure = None
    if take:
        try:
            archive.extract(targets=sorted(take), factory=factory)
        except _Over:
            failure = Trouble("limit", "limit exceeded: 7z member decompresses to more than it declares (zip bomb?)")
        except Exception as exc:  # noqa: BLE001 - see _extract
            failure = Trouble("parse", f"7z member cannot be extracted: {_why(exc)} ({_NOT_CHECKED})")
    for sink in factory.sinks:
        entries.append((sink.name, sink.value()))
        if failure is not None and not sink.closed:
            # the member being written when it broke: judged on what it held, and failing closed
            entries.append((sink.name, failure))
            failure = None
    if failure is not None:
        troubles.append(failure)
    missing = len(take) - len(factory.sinks)
    if missing > 0:
        troubles.append(Trouble("parse", f"7z extraction stopped early: {missing} members not checked"))
    return Listing(entries, troubles, plan.header_bytes + budget.spent)


def _refused_names(names) -> set:
    """Names py7zr will not extract (``../x``, absolute paths), asked of py7zr's own check."""
    try:
        from py7zr.helpers import get_sanitized_output_path
    except ImportError:  # a py7zr without it: the extraction error fails closed instead
        return set()
    refused = set()
    for name in names:
        try:
            get_sanitized_output_path(name, None)
        except Exception:  # noqa: BLE001 - whatever py7zr raises for a name, it would raise extracting it
            refused.add(name)
    return refused


def _choose(plan: _Plan, names: List[str], cap: int):
    """``(names to extract, members left out for the budget, entries for encrypted members)``.

    Members are taken in archive order while the running declared total fits ``cap``. A folder is
    decompressed from its start, so once one of its members does not fit none of its later ones
    is taken. Encrypted folders cannot be read. py7zr extracts by name, so a name shared with a
    member left out is left out entirely.
    """
    take, left_out, entries = set(), set(), []
    stopped = set()
    running, over = 0, 0
    for (folder, size), name in zip(plan.files, names):
        if folder is None:
            continue  # an empty file or a directory entry: no bytes to judge
        if plan.folders[folder].encrypted:
            entries.append((name, Trouble("unsupported", "7z member is encrypted: cannot be checked")))
            left_out.add(name)
        elif folder in stopped or running + size > cap:
            stopped.add(folder)
            left_out.add(name)
            over += 1
        else:
            running += size
            take.add(name)
    return take - left_out, over, entries


def _over(total: int, room: int, cap: int, limits: ScanLimits, n: int) -> Trouble:
    """The limit finding for members left out: the absolute budget or the ratio, whichever is tighter."""
    if cap >= room:
        return Trouble("limit", f"limit exceeded: 7z members decompress to {total} bytes, more than the {room} "
                                f"left of max_decompressed ({limits.max_decompressed}); {n} members not extracted "
                                "(zip bomb?)")
    return Trouble("limit", f"limit exceeded: decompression ratio declared by 7z members is over "
                            f"{limits.max_ratio}:1 ({total} bytes); {n} members not extracted (zip bomb?)")


def _why(exc: Exception) -> str:
    """An exception from py7zr as a short message."""
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


class _Over(Exception):
    """More bytes than budgeted were written (py7zr wrote past a member's declared size)."""


class _Budget:
    """Bytes the sinks may still receive."""

    __slots__ = ("left", "spent")

    def __init__(self, left: int):
        self.left, self.spent = max(0, left), 0

    def charge(self, n: int) -> None:
        if n > self.left:
            raise _Over()
        self.left -= n
        self.spent += n


class _Factory:
    """py7zr's writer factory (duck-typed: py7zr only calls ``create``), one sink per member."""

    def __init__(self, budget: _Budget, wants_all):
        self.budget, self.wants_all = budget, wants_all
        self.sinks: List[_Sink] = []

    def create(self, filename: str) -> "_Sink":
        sink = _Sink(filename, self.budget, self.wants_all)
        self.sinks.append(sink)
        return sink


class _Sink:
    """One member as py7zr writes it, charged to the budget; past ``PEEK`` bytes the rest is held
    only when ``wants_all(name, head)`` says so (tensor bytes are counted, not kept)."""

    def __init__(self, name: str, budget: _Budget, wants_all):
        self.name, self.budget, self.wants_all = name, budget, wants_all
        self.parts: List[bytes] = []
        self.held = 0
        self.keep: Optional[bool] = None
        self.closed = False

    def write(self, s) -> int:
        n = len(s)
        self.budget.charge(n)
        if self.keep is False:
            return n
        self.parts.append(bytes(s))
        self.held += n
        if self.keep is None and self.held >= PEEK:
            head = b"".join(self.parts)
            self.keep = bool(self.wants_all(self.name, head[:PEEK]))
            self.parts = [head if self.keep else head[:PEEK]]
        return n

    def value(self) -> bytes:
        return b"".join(self.parts)

    def read(self, size=None) -> bytes:
        return b""

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def seekable(self) -> bool:
        return False  # py7zr rewinds seekable sinks after a member; there is nothing to rewind

    def flush(self) -> None:
        pass

    def size(self) -> int:
        return self.held

    def close(self) -> None:
        self.closed = True


class _Window(io.RawIOBase):
    """A read-only file over ``data[start:end]``: py7zr reads what it needs, the rest of an mmap stays unread."""

    def __init__(self, data, start: int, end: int):
        super().__init__()
        self._data, self._start, self._end, self._pos = data, start, end, start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        left = self._end - self._pos
        n = left if n is None or n < 0 else min(n, left)
        out = bytes(self._data[self._pos:self._pos + n])
        self._pos += n
        return out

    def readinto(self, b) -> int:
        out = self.read(len(b))
        b[:len(out)] = out
        return len(out)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: self._start, 1: self._pos, 2: self._end}[whence]
        self._pos = min(max(self._start, base + offset), self._end)
        return self._pos - self._start

    def tell(self) -> int:
        return self._pos - self._start
