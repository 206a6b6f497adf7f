"""Property-based fuzzing of the scanner (bounded for CI; ``benchmarks/fuzz_scan.py`` runs longer).

Whatever the input, the scanner returns a report: any exception is a bug. Pickles of plain
data never produce a hit (no false positives), and a hostile pickle stays flagged inside any
container the fuzzer wraps it in.
"""

from __future__ import annotations

import pickle

import pickle_payloads as P
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scan_corpus import seeds

from guardpolicy.scan.containers import Scanner
from guardpolicy.scan.limits import ScanLimits
from guardpolicy.scan.pickle_vm import scan_stream

SEEDS = seeds()
LIMITS = ScanLimits(max_decompressed=64 << 20, max_opcodes=200_000)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))

#: opcode snippets with well-formed arguments, so random sequences get deep into the machine
SNIPPETS = [
    b"(", b".", b"0", b"1", b"2", b"N", b"\x88", b"\x89", b")", b"]", b"}", b"\x8f", b"t", b"l", b"d", b"a", b"e",
    b"s", b"u", b"b", b"R", b"\x81", b"\x92", b"o", b"\x85", b"\x86", b"\x87", b"\x90", b"\x91", b"\x93", b"\x94",
    b"q\x00", b"q\x01", b"h\x00", b"h\x01", b"r\x02\x00\x00\x00", b"j\x02\x00\x00\x00", b"p0\n", b"g0\n",
    b"K\x07", b"M\x01\x02", b"J\x01\x00\x00\x00", b"I42\n", b"L7L\n", b"F1.5\n", b"G" + b"\0" * 8, b"\x8a\x01\x05",
    b"\x8c\x02os", b"\x8c\x06system", b"\x8c\x05torch", b"\x8c\x04eval", b"X\x02\x00\x00\x00ab", b"Vx\n", b"S'y'\n",
    b"U\x01z", b"C\x02\x80\x02", b"B\x01\x00\x00\x00x", b"cos\nsystem\n", b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"ios\nsystem\n", b"\x82\x01", b"\x80\x02", b"\x80\x05", b"\x95\x02\x00\x00\x00\x00\x00\x00\x00", b"Q", b"P1\n",
    b"\x97", b"\x98", b"\x96\x01\x00\x00\x00\x00\x00\x00\x00x",
]

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
    | st.binary(max_size=40),
    lambda kids: st.lists(kids, max_size=5) | st.tuples(kids, kids) | st.dictionaries(st.text(max_size=5), kids, max_size=5)
    | st.frozensets(st.integers(), max_size=3),
    max_leaves=30)


@FUZZ
@given(st.lists(st.sampled_from(SNIPPETS), max_size=60))
def test_random_opcode_streams_never_raise(parts):
    data = b"".join(parts)
    res = scan_stream(data, limits=LIMITS)
    assert res.stopped or res.error or res.limit
    no_internal_error(Scanner(LIMITS).scan_bytes(data))


def no_internal_error(report):
    """The scanner's safety net turns a bug into an ``internal`` problem: that is a failure here."""
    assert not [p for p in report.problems if p.kind == "internal"], report.problems
    return report


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(data):
    no_internal_error(Scanner(LIMITS).scan_bytes(data))


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(0, 255)),
                                                       min_size=1, max_size=8),
       st.integers(0, 1 << 30), st.booleans())
def test_mutated_real_files_never_raise(index, flips, cut, truncate):
    data = bytearray(SEEDS[index])
    for pos, value in flips:
        data[pos % len(data)] = value
    if truncate:
        data = data[:cut % (len(data) + 1)]
    report = no_internal_error(Scanner(LIMITS).scan_bytes(bytes(data)))
    assert report.format


@FUZZ
@given(plain, st.integers(0, 5))
def test_plain_data_never_flagged(value, proto):
    report = Scanner(LIMITS).scan_bytes(pickle.dumps(value, protocol=proto))
    assert report.clean, (report.hits, report.problems)


@FUZZ
@given(st.sampled_from(sorted(P.techniques())), st.sampled_from(["raw", "zip", "zip-deflate", "legacy", "gzip", "tar"]))
def test_hostile_payloads_stay_flagged_in_any_container(name, wrap):
    import gzip
    import io
    import tarfile
    import zipfile

    data = P.techniques()[name]
    if wrap == "zip":
        data = P.torch_zip({"archive/data.pkl": data})
    elif wrap == "zip-deflate":
        data = P.torch_zip({"weird/name.bin": data}, zipfile.ZIP_DEFLATED)
    elif wrap == "legacy":
        data = P.legacy_torch(data)
    elif wrap == "gzip":
        data = gzip.compress(data)
    elif wrap == "tar":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("m.bin")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        data = buf.getvalue()
    report = Scanner(LIMITS).scan_bytes(data)
    assert report.hits or report.problems, (name, wrap)


@pytest.mark.parametrize("index", range(len(SEEDS)))
def test_every_truncation_of_a_seed_is_handled(index):
    data = SEEDS[index]
    step = max(1, len(data) // 97)
    for cut in range(0, len(data), step):
        no_internal_error(Scanner(LIMITS).scan_bytes(data[:cut]))
