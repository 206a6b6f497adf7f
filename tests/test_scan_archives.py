"""Compressed streams and 7z archives: every joblib compressor, 7z checkpoints, bombs, nesting, broken streams.

Files are real where a real writer exists (joblib.dump, torch.save, py7zr, the compression
modules); bombs that would take gigabytes to write are real archives whose headers are
patched to declare what a bomb declares.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import sys
import tarfile
import time
import tracemalloc
import types
import zipfile
import zlib

import pickle_payloads as P
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guardpolicy import scan_path
from guardpolicy.scan import sevenzip, streams
from guardpolicy.scan.containers import Scanner
from guardpolicy.scan.detect import is_lzma_alone, sniff
from guardpolicy.scan.limits import ScanLimits

py7zr = pytest.importorskip("py7zr")
zstd = pytest.importorskip("backports.zstd") if sys.version_info < (3, 14) else pytest.importorskip("compression.zstd")

EVIL = P.call_global("os", "system")
BENIGN = pickle.dumps({"weight": [1.0, 2.0], "epoch": 3}, protocol=4)
SMALL = ScanLimits(max_decompressed=8 << 20)
JOBLIB_COMPRESSORS = ["zlib", "gzip", "bz2", "lzma", "xz", "lz4"]


class Evil:
    """What a hostile model pickles: ``__reduce__`` calling ``os.system``."""

    def __reduce__(self):
        return os.system, ("echo pwned",)


def dangerous(report) -> list:
    return [f"{h.module}.{h.name}" for h in report.hits if h.danger]


def kinds(report) -> set:
    return {p.kind for p in report.problems}


def messages(report) -> str:
    return "\n".join(p.message for p in report.problems)


def scan(data: bytes, limits: ScanLimits = ScanLimits(), extra=()):
    report = Scanner(limits, extra_allowed=extra).scan_bytes(data)
    assert "internal" not in kinds(report), report.problems
    return report


# -- joblib: every compressor --------------------------------------------------------------------

def _joblib_dump(obj, compress) -> bytes:
    joblib = pytest.importorskip("joblib")
    if compress == "lz4":
        pytest.importorskip("lz4")
    buf = io.BytesIO()
    joblib.dump(obj, buf, compress=compress)
    return buf.getvalue()


@pytest.mark.parametrize("compress", JOBLIB_COMPRESSORS)
def test_joblib_malicious_object_is_denied_with_every_compressor(tmp_path, compress):
    path = tmp_path / "model.joblib"
    path.write_bytes(_joblib_dump(Evil(), compress))
    found = [g for f in scan_path(path) if f.rule == "pickle" for g in f.details.get("globals", ())]
    assert any(g["dangerous"] and g["name"] == "system" for g in found), (compress, found)


@pytest.mark.parametrize("compress", JOBLIB_COMPRESSORS)
def test_joblib_numpy_array_passes_with_every_compressor(tmp_path, compress):
    np = pytest.importorskip("numpy")
    data = _joblib_dump({"w": np.arange(10000, dtype=np.float32).reshape(100, 100), "n": 3}, compress)
    report = scan(data)
    assert report.clean, (compress, report.hits, report.problems)
    assert report.format == "joblib"
    path = tmp_path / "arrays.joblib"
    path.write_bytes(data)
    assert scan_path(path) == []


@pytest.mark.parametrize("compress", JOBLIB_COMPRESSORS)
def test_joblib_sklearn_estimator_passes_with_every_compressor(compress):
    pytest.importorskip("sklearn")
    np = pytest.importorskip("numpy")
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.random.RandomState(0).randn(60, 4)
    y = (x[:, 0] > 0).astype(int)
    for est in (make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y),
                RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)):
        data = _joblib_dump(est, compress)
        # the classes are the user's to allow; the compression must add nothing to judge
        report = scan(data, extra=("sklearn.*",))
        assert report.clean, (compress, report.hits, report.problems)
        assert not dangerous(scan(data))


def test_lz4_is_recognised_even_without_the_lz4_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "lz4", None)
    monkeypatch.setitem(sys.modules, "lz4.frame", None)
    data = b"\x04\x22\x4d\x18" + b"\x64\x40\xa7" + b"\x00" * 16  # an LZ4 frame header
    assert sniff(data) == "lz4"
    report = scan(data)
    assert "unsupported" in kinds(report) and "lz4" in messages(report) and "cannot be checked" in messages(report)


def test_joblib_pre_0_10_zfile(tmp_path):
    joblib = pytest.importorskip("joblib")
    from joblib.numpy_pickle_compat import write_zfile

    for payload, evil in ((EVIL, True), (BENIGN, False)):
        buf = io.BytesIO()
        write_zfile(buf, payload)
        data = buf.getvalue()
        assert sniff(data) == "joblib-zfile"
        report = scan(data)
        assert bool(dangerous(report)) is evil and not report.problems, report.problems
    path = tmp_path / "old.pkl"
    path.write_bytes(data)
    with pytest.warns(DeprecationWarning):
        assert joblib.load(path) == pickle.loads(BENIGN)  # the format is one joblib still loads


# -- raw compressed streams ----------------------------------------------------------------------

def _zstd(data: bytes) -> bytes:
    return zstd.compress(data)


STREAM_WRITERS = {
    "gzip": gzip.compress,
    "zlib": zlib.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma": lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE),
    "zstd": _zstd,
}


@pytest.mark.parametrize("kind", sorted(STREAM_WRITERS))
def test_compressed_pickle_streams(tmp_path, kind):
    write = STREAM_WRITERS[kind]
    evil, benign = write(EVIL), write(BENIGN)
    assert sniff(evil) == kind
    report = scan(evil)
    assert dangerous(report) == ["os.system"] and not report.problems
    assert report.hits[0].member == f"!{kind}"
    assert scan(benign).clean
    # streams written back to back are one stream to the file readers: the payload may sit in the second
    report = scan(write(BENIGN[:-1]) + write(b"0" + EVIL))
    assert "os.system" in dangerous(report), kind


def test_compressed_inside_compressed():
    data = gzip.compress(lzma.compress(_zstd(bz2.compress(EVIL)), format=lzma.FORMAT_ALONE))
    report = scan(data)
    assert dangerous(report) == ["os.system"]
    assert report.hits[0].member == "!gzip!lzma!zstd!bz2"


def test_compressed_nesting_is_bounded():
    data = EVIL
    for i in range(8):
        data = (gzip.compress, _zstd, lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE))[i % 3](data)
    report = scan(data, ScanLimits(max_depth=4))
    assert "limit exceeded: nested deeper than 4 levels" in messages(report)


def test_zstd_skippable_frame_before_the_payload():
    skippable = struct.pack("<II", 0x184D2A5E, 5) + b"hello"
    data = skippable + _zstd(EVIL)
    assert sniff(data) == "zstd"
    assert dangerous(scan(data)) == ["os.system"]


def test_zstd_without_a_decoder_is_unsupported(monkeypatch):
    for name in ("compression.zstd", "backports.zstd", "pyzstd", "zstandard"):
        monkeypatch.setitem(sys.modules, name, None)
    report = scan(_zstd(EVIL))
    assert "unsupported" in kinds(report) and "zstd" in messages(report) and "cannot be checked" in messages(report)


def test_zstd_falls_back_to_pyzstd_and_zstandard(monkeypatch):
    # pyzstd's API is the one backports.zstd was derived from
    for name in ("compression.zstd", "backports.zstd"):
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "pyzstd", zstd)
    assert dangerous(scan(_zstd(EVIL))) == ["os.system"]
    # zstandard: only its stream reader bounds the output; a stand-in with that API
    fake = types.SimpleNamespace(ZstdDecompressor=lambda: types.SimpleNamespace(
        stream_reader=lambda fh, read_across_frames: zstd.ZstdFile(fh)))
    monkeypatch.setitem(sys.modules, "pyzstd", None)
    monkeypatch.setitem(sys.modules, "zstandard", fake)
    assert dangerous(scan(_zstd(BENIGN[:-1]) + _zstd(b"0" + EVIL))) == ["os.system"]
    report = scan(_zstd(b"\0" * (20 << 20)), ScanLimits(max_decompressed=1 << 20))
    assert "limit exceeded" in messages(report)


@pytest.mark.slow  # seconds of decompression or parsing on purpose
@pytest.mark.parametrize("kind", sorted(STREAM_WRITERS))
def test_stream_bomb_is_a_limit_finding(kind):
    bomb = STREAM_WRITERS[kind](b"\x80\x02" + b"(" * (40 << 20))
    report = scan(bomb, ScanLimits(max_decompressed=4 << 20))
    assert "limit exceeded: decompresses to more than" in messages(report)
    report = scan(bomb, ScanLimits(ratio_floor=1 << 20, max_ratio=50))
    assert "decompression ratio" in messages(report)


# -- broken streams: judged on what they decoded before the break --------------------------------

def _corrupt_tail(data: bytes, keep: int) -> bytes:
    """``data`` with every byte after the first ``keep`` inverted."""
    return data[:keep] + bytes(b ^ 0xFF for b in data[keep:])


@pytest.mark.parametrize("kind", ["gzip", "zlib", "xz", "lzma", "zstd"])
def test_broken_stream_keeps_the_payload_it_decoded(kind):
    payload = EVIL[:-1] + b"(" + os.urandom(4000) + b"."  # the call is made before the junk
    data = STREAM_WRITERS[kind](payload)
    broken = _corrupt_tail(data, len(data) * 3 // 4)
    report = scan(broken)
    assert "os.system" in dangerous(report), (kind, report.problems)
    assert "parse" in kinds(report)


@pytest.mark.parametrize("kind", sorted(STREAM_WRITERS))
def test_truncated_stream_fails_closed(kind):
    data = STREAM_WRITERS[kind](BENIGN * 50)
    report = scan(data[:len(data) // 2])
    assert "parse" in kinds(report), kind


def test_broken_stream_in_a_bytes_constant_stays_quiet():
    # a pickle carrying compressed-looking bytes is data unless something loads them
    report = scan(pickle.dumps({"blob": _corrupt_tail(gzip.compress(BENIGN * 20), 30)}, protocol=4))
    assert report.clean, report.problems


# -- LZMA alone: a header, not a magic number ----------------------------------------------------

def test_lzma_alone_detection_matches_liblzma():
    good = lzma.compress(BENIGN, format=lzma.FORMAT_ALONE)
    assert is_lzma_alone(good[:64])
    for props in range(256):
        head = bytes([props]) + good[1:64]
        try:
            lzma.LZMADecompressor(lzma.FORMAT_AUTO).decompress(head)
            accepted = True
        except lzma.LZMAError as exc:  # the data no longer fits the properties: only the header counts here
            accepted = "format" not in str(exc)
        assert is_lzma_alone(head) == accepted, props
    assert not is_lzma_alone(bytes(64))  # declares 0 bytes (liblzma takes it; it decodes to nothing)


def test_raw_integer_array_that_looks_like_an_lzma_header_is_not_flagged():
    np = pytest.importorskip("numpy")
    data = np.array([93, 5, 0, 7, 9, 1000, 3] * 100, dtype="<i8").tobytes()
    assert sniff(data) == "lzma"  # liblzma's auto decoder would try it too
    report = scan(data)
    assert report.clean and report.format == "unknown", report.problems


def test_tar_member_named_like_an_lzma_header_is_still_a_tar():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("]")
        info.size = len(EVIL)
        tar.addfile(info, io.BytesIO(EVIL))
    assert sniff(buf.getvalue()) == "tar"
    assert dangerous(scan(buf.getvalue())) == ["os.system"]


# -- 7z ------------------------------------------------------------------------------------------

def _7z(members: dict, *, filters=None, password=None, header_encryption=False, plain_header=False) -> bytes:
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", filters=filters, password=password, header_encryption=header_encryption) as z:
        if plain_header:
            z.set_encoded_header_mode(False)
        for name, body in members.items():
            z.writestr(body, name)
    return buf.getvalue()


def _torch_as_7z(zip_bytes: bytes, **kw) -> bytes:
    """A torch zip checkpoint with its container swapped for 7z (nullifAI, 2025)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z:
        return _7z({info.filename: z.read(info) for info in z.infolist()}, **kw)


def _patch_header(archive: bytes, old: bytes, new: bytes) -> bytes:
    """Replace bytes in a plain 7z header and fix the CRCs (what a hand-made bomb does)."""
    offset, size, _ = struct.unpack_from("<QQI", archive, 12)
    header = archive[32 + offset:32 + offset + size]
    assert header[:1] == b"\x01" and header.count(old) >= 1, header.hex()
    header = header.replace(old, new, 1)
    tail = struct.pack("<QQI", offset, len(header), zlib.crc32(header))
    sig = archive[:8] + struct.pack("<I", zlib.crc32(tail)) + tail
    return sig + archive[32:32 + offset] + header


def _number(n: int) -> bytes:
    """7z's UINT64 encoding: k leading one bits in the first byte say k little-endian bytes follow."""
    for k in range(8):
        if n < 1 << (7 * (k + 1)):
            return bytes([((0xFF00 >> k) & 0xFF) | (n >> (8 * k))]) + n.to_bytes(8, "little")[:k]
    return b"\xff" + n.to_bytes(8, "little")


def test_number_encoding_round_trips():
    for n in (0, 1, 127, 128, 16383, 16384, 1 << 20, 1 << 40, (1 << 64) - 1):
        assert sevenzip._Reader(_number(n)).number() == n, n


@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_torch_checkpoint_repacked_as_7z(tmp_path):
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.randn(64, 64), "step": 10}, buf)
    good = _torch_as_7z(buf.getvalue())
    assert sniff(good) == "7z"
    report = scan(good)
    assert report.clean and report.format == "7z" and "pickle" in report.formats, report.problems

    # the same checkpoint with a hostile data.pkl, as a 7z
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    pkl = next(n for n in members if n.endswith("data.pkl"))
    members[pkl] = EVIL
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(_7z(members))
    findings = [f for f in scan_path(path) if f.rule == "pickle"]
    assert findings and "os.system" in findings[0].message and "data.pkl" in findings[0].message
    with pytest.raises(Exception):
        torch.load(path, weights_only=False)  # torch itself refuses it; other tools unpack it


def test_7z_tensor_storage_is_peeked_not_held():
    torch = pytest.importorskip("torch")
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(1 << 20)}, buf)  # 4 MiB of storage
    data = _torch_as_7z(buf.getvalue())
    assert scan(data).clean
    from guardpolicy.scan.containers import _wants_whole_member

    listing = sevenzip.members(data, 0, len(data), ScanLimits(), 1 << 30, _wants_whole_member)
    held = {name: len(got) for name, got in listing.entries}
    storage = [name for name in held if name.endswith("/data/0")]
    assert storage and held[storage[0]] == sevenzip.PEEK  # counted in full, kept only as a peek
    assert listing.used >= 4 << 20


def test_7z_storage_member_holding_a_pickle_is_read():
    data = _7z({"archive/data.pkl": BENIGN, "archive/data/0": gzip.compress(EVIL)})
    assert dangerous(scan(data)) == ["os.system"]


@pytest.mark.parametrize("filters", [
    None, [{"id": py7zr.FILTER_LZMA}], [{"id": py7zr.FILTER_BZIP2}], [{"id": py7zr.FILTER_DEFLATE}],
    [{"id": py7zr.FILTER_COPY}], [{"id": py7zr.FILTER_ZSTD}], [{"id": py7zr.FILTER_PPMD}],
    [{"id": py7zr.FILTER_DELTA}, {"id": py7zr.FILTER_LZMA2}],
], ids=["default", "lzma", "bzip2", "deflate", "copy", "zstd", "ppmd", "delta+lzma2"])
def test_7z_coders(filters):
    try:
        data = _7z({"a/readme.txt": b"hello", "a/model.pkl": EVIL, "b/ok.pkl": BENIGN}, filters=filters)
    except Exception as exc:  # a coder this py7zr cannot write
        pytest.skip(f"py7zr cannot write {filters}: {exc}")
    report = scan(data)
    assert dangerous(report) == ["os.system"] and not report.problems, report.problems
    assert report.hits[0].member == "a/model.pkl"


def test_7z_header_encoded_with_lzma_as_7zip_writes_it(monkeypatch):
    from py7zr.properties import DEFAULT_FILTERS

    # a Constant ignores instance attributes: patch its class
    monkeypatch.setattr(type(DEFAULT_FILTERS), "ENCODED_HEADER_FILTER", [{"id": py7zr.FILTER_LZMA}])
    data = _7z({"archive/data.pkl": EVIL, "archive/version": b"3\n"})
    assert b"\x03\x01\x01" in data  # the header's coder is LZMA
    assert dangerous(scan(data)) == ["os.system"]


def test_7z_members_in_separate_folders_and_empty_entries():
    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w") as z:
        z.writestr(b"", "empty.txt")
        z.writestr(BENIGN, "one.pkl")
    first = buf.getvalue()
    with py7zr.SevenZipFile(buf, "a") as z:  # appending starts a second folder
        z.writestr(EVIL, "two.pkl")
    data = buf.getvalue()
    assert data != first
    assert dangerous(scan(data)) == ["os.system"]


def test_7z_encrypted_members_cannot_be_checked():
    data = _7z({"archive/data.pkl": EVIL}, password="secret")
    report = scan(data)
    assert not report.hits
    assert "unsupported" in kinds(report) and "encrypted" in messages(report)
    assert report.problems[0].member == "archive/data.pkl"
    data = _7z({"archive/data.pkl": EVIL}, password="secret", header_encryption=True)
    report = scan(data)
    assert "unsupported" in kinds(report) and "encrypted header" in messages(report)


def test_7z_without_py7zr_is_unsupported_not_a_pass(monkeypatch, tmp_path):
    data = _7z({"archive/data.pkl": EVIL})
    monkeypatch.setitem(sys.modules, "py7zr", None)
    report = scan(data)
    assert [(p.kind, p.message) for p in report.problems] == [
        ("unsupported", "7z archive cannot be checked: install guardpolicy[archives]")]
    path = tmp_path / "model.7z"
    path.write_bytes(data)
    # content guard cannot read: a format finding (warn by default, deny under strict), never a pass
    assert any(f.rule == "format" and f.details.get("kind") == "unreadable" and "guardpolicy[archives]" in f.message
               for f in scan_path(path))


def test_7z_member_with_a_corrupt_pickle_tail_is_judged_and_fails_closed():
    # nullifAI: the payload runs, then the stream breaks
    payload = EVIL[:-1] + b"\xff\xfe"
    report = scan(_7z({"archive/data.pkl": payload, "archive/version": b"3\n"}))
    assert dangerous(report) == ["os.system"]
    assert any(p.kind == "parse" and "breaks at byte" in p.message for p in report.problems)


def test_7z_member_failing_its_crc_is_judged_on_its_bytes():
    data = bytearray(_7z({"archive/data.pkl": EVIL + b"\x00" * 64}, filters=[{"id": py7zr.FILTER_COPY}]))
    at = bytes(data).find(EVIL) + len(EVIL) + 10
    data[at] ^= 0xFF  # after the payload: the CRC fails at the end
    report = scan(bytes(data))
    assert dangerous(report) == ["os.system"]
    assert "parse" in kinds(report) and "cannot be extracted" in messages(report)


def test_7z_member_name_leaving_the_folder_fails_closed_and_the_others_are_judged():
    data = _7z({"xx/evil.pkl": EVIL, "ok/evil2.pkl": P.call_global("os", "popen")}, plain_header=True)
    data = _patch_header(data, "xx/".encode("utf-16-le"), "../".encode("utf-16-le"))
    report = scan(data)
    assert dangerous(report) == ["os.popen"]
    assert [(p.kind, p.member) for p in report.problems] == [("archive", "../evil.pkl")]


def test_7z_corrupt_archive_fails_closed():
    data = bytearray(_7z({"m.pkl": BENIGN}))
    data[40] ^= 0xFF
    report = scan(bytes(data))
    assert report.problems and not report.clean


# -- 7z bombs ------------------------------------------------------------------------------------

@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_7z_member_larger_than_the_budget_is_not_extracted():
    data = _7z({"a.pkl": EVIL, "zeros.bin": b"\0" * (20 << 20)})
    started = time.monotonic()
    report = scan(data, SMALL)
    assert time.monotonic() - started < 5
    assert dangerous(report) == ["os.system"]  # members that fit are still judged
    assert "limit exceeded: 7z members decompress to" in messages(report)
    report = scan(data, ScanLimits(ratio_floor=1 << 20, max_ratio=100))
    assert "decompression ratio" in messages(report)


def test_7z_declaring_a_terabyte_is_refused_before_any_work():
    data = _7z({"a.pkl": EVIL, "z.bin": b"\0" * 4096}, filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}],
               plain_header=True)
    folder_size = len(EVIL) + 4096
    bomb = _patch_header(data, b"\x0c" + _number(folder_size), b"\x0c" + _number(1 << 40))
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = scan(bomb)  # default limits: 2 GiB
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 32 << 20, peak
    assert "limit exceeded" in messages(report) and "(1099511627776 bytes)" in messages(report)


def test_7z_huge_dictionary_is_refused():
    data = _7z({"a.pkl": EVIL}, filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}], plain_header=True)
    coder = data[data.rfind(b"\x21\x21\x01"):][:4]  # LZMA2 coder: flags, id, props size, dictionary
    bomb = _patch_header(data, coder, coder[:3] + bytes([40]))  # 4 GiB - 1
    report = scan(bomb)
    assert "limit exceeded: 7z coder asks for 4294967295 bytes of memory" in messages(report)
    assert not report.hits


def test_7z_many_members():
    data = _7z({f"m{i}.txt": b"x" for i in range(50)})
    report = scan(data, ScanLimits(max_members=10))
    assert "limit exceeded: more than 10 archive members" in messages(report)


def test_7z_declaring_a_billion_members_is_refused_before_py7zr_reads_them():
    data = _7z({"a.txt": b"x", "b.txt": b"y"}, plain_header=True)
    bomb = _patch_header(data, b"\x05" + _number(2), b"\x05" + _number(1 << 30))
    started = time.monotonic()
    report = scan(bomb)
    assert time.monotonic() - started < 2
    assert "limit exceeded: more than 100000 archive members" in messages(report)


@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_7z_encoded_header_bomb():
    data = _7z({f"{'d' * 200}/{i}": b"" for i in range(3000)})
    report = scan(data, ScanLimits(ratio_floor=64 << 10, max_ratio=2))
    assert "limit exceeded: 7z header decompresses to" in messages(report)


@pytest.mark.slow  # seconds of decompression or parsing on purpose
def test_7z_nesting_is_bounded():
    data = EVIL
    for i in range(7):
        data = _7z({f"level{i}.bin": data})
    report = scan(data, ScanLimits(max_depth=4))
    assert "limit exceeded: nested deeper than 4 levels" in messages(report)
    assert dangerous(scan(data, ScanLimits(max_depth=8))) == ["os.system"]


def test_7z_budget_is_shared_across_members_and_nesting():
    inner = _7z({"zeros.bin": b"\0" * (6 << 20)})
    data = _7z({"one.7z": inner, "two.7z": inner, "three.7z": inner})
    report = scan(data, SMALL)
    assert "limit exceeded" in messages(report)


# -- nesting across container kinds --------------------------------------------------------------

def _tar_gz(members: dict) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def test_7z_inside_zip_inside_tar_gz():
    seven = _7z({"archive/data.pkl": EVIL})
    zipped = P.torch_zip({"ckpt.7z": seven}, zipfile.ZIP_DEFLATED)
    data = _tar_gz({"release/model.zip": zipped})
    report = scan(data)
    assert dangerous(report) == ["os.system"]
    assert report.hits[0].member == "!gzip!release/model.zip!ckpt.7z!archive/data.pkl"


def test_streams_and_archives_inside_7z():
    data = _7z({"a.pkl.zst": _zstd(EVIL), "b.lzma": lzma.compress(BENIGN, format=lzma.FORMAT_ALONE),
                "c.tar.gz": _tar_gz({"x.pkl": BENIGN}), "d.zip": P.torch_zip({"archive/data.pkl": BENIGN})})
    report = scan(data)
    assert dangerous(report) == ["os.system"] and not report.problems, report.problems
    assert report.hits[0].member == "a.pkl.zst!zstd"


def test_zip_member_holding_an_lzma_alone_joblib_file():
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        data = P.torch_zip({"model.joblib": lzma.compress(EVIL, format=lzma.FORMAT_ALONE)}, method)
        assert dangerous(scan(data)) == ["os.system"], method


# -- fuzzing the new paths (bounded for CI) ------------------------------------------------------

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_LIMITS = ScanLimits(max_decompressed=16 << 20, max_opcodes=200_000, max_members=2000)


def _seeds() -> list:
    out = [
        _7z({"archive/data.pkl": EVIL, "archive/version": b"3\n"}),
        _7z({"a.pkl": BENIGN, "b.txt": b"hello" * 50}, plain_header=True),
        _7z({"a.pkl": BENIGN}, filters=[{"id": py7zr.FILTER_COPY}], plain_header=True),
        _7z({"x/a.bin": b"\0" * 5000, "x/b.pkl": EVIL}, filters=[{"id": py7zr.FILTER_LZMA}]),
        _7z({"a.pkl": EVIL}, password="pw"),
        lzma.compress(EVIL, format=lzma.FORMAT_ALONE),
        lzma.compress(BENIGN * 20, format=lzma.FORMAT_ALONE) + lzma.compress(EVIL),
        _zstd(BENIGN * 20) + _zstd(EVIL),
        struct.pack("<II", 0x184D2A50, 3) + b"abc" + _zstd(EVIL),
        lzma.compress(EVIL),
        bz2.compress(EVIL),
        _tar_gz({"m.7z": _7z({"data.pkl": EVIL})}),
    ]
    return out


SEEDS = _seeds()


def _bounded_scan(data: bytes):
    started = time.monotonic()
    report = Scanner(FUZZ_LIMITS).scan_bytes(data)
    assert time.monotonic() - started < 10
    assert "internal" not in kinds(report), report.problems
    return report


@FUZZ
@given(st.sampled_from([b"7z\xbc\xaf\x27\x1c", b"\x28\xb5\x2f\xfd", b"\x5d\x00\x00\x80\x00" + b"\xff" * 8 + b"\x00",
                        b"\x04\x22\x4d\x18", b"\x50\x2a\x4d\x18", b"ZF0x10" + b" " * 15 + b"\x78"]),
       st.binary(max_size=2048))
def test_random_bytes_behind_a_magic_never_raise(magic, tail):
    _bounded_scan(magic + tail)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)),
                                                       min_size=1, max_size=8),
       st.integers(0, 1 << 30), st.booleans())
def test_mutated_archives_and_streams_never_raise(index, flips, cut, truncate):
    data = bytearray(SEEDS[index])
    for pos, value in flips:
        data[pos % len(data)] = value
    if truncate:
        data = data[:cut % (len(data) + 1)]
    _bounded_scan(bytes(data))


def _plain_7z_parts():
    data = _7z({"a.pkl": EVIL, "d/b.txt": b"hello", "e": b""}, filters=[{"id": py7zr.FILTER_LZMA2, "preset": 1}],
               plain_header=True)
    offset, size, _ = struct.unpack_from("<QQI", data, 12)
    return data[:32 + offset], data[32 + offset:32 + offset + size]


_BODY, _HEADER = _plain_7z_parts()


def _with_header(header: bytes) -> bytes:
    offset = len(_BODY) - 32
    tail = struct.pack("<QQI", offset, len(header), zlib.crc32(header))
    return _BODY[:8] + struct.pack("<I", zlib.crc32(tail)) + tail + _BODY[32:] + header


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=6),
       st.integers(0, 1 << 20), st.booleans())
def test_mutated_7z_headers_with_valid_crcs_never_raise(flips, cut, truncate):
    # CRCs fixed up, so the mutations reach the header parsers (ours, then py7zr's)
    header = bytearray(_HEADER)
    for pos, value in flips:
        header[pos % len(header)] = value
    if truncate:
        header = header[:cut % (len(header) + 1)]
    _bounded_scan(_with_header(bytes(header)))


@FUZZ
@given(st.binary(min_size=1, max_size=512))
def test_random_7z_headers_with_valid_crcs_never_raise(header):
    _bounded_scan(_with_header(b"\x01" + header))


@FUZZ
@given(st.sampled_from(["gzip", "zlib", "bz2", "xz", "lzma", "zstd", "joblib-zfile", "lz4"]), st.binary(max_size=4096),
       st.integers(0, 1 << 16))
def test_stream_decoder_never_raises_and_respects_its_cap(kind, raw, cap):
    try:
        out, error = streams.decode(kind, raw, cap)
    except streams.Unsupported:
        return
    assert len(out) <= cap + 1
    assert error is None or isinstance(error, str)
