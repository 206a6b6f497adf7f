"""Every attack technique must produce a ``pickle`` finding, in any container, under any name."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import zipfile
import zlib

import pickle_payloads as P
import pytest

from guardpolicy import scan_path
from guardpolicy.scan.containers import Scanner
from guardpolicy.scan.limits import ScanLimits

TECHNIQUES = P.techniques()
#: techniques built only from globals that are unknown rather than known-dangerous
NOT_NAMED_DANGEROUS = {"unknown module (allowlist, not denylist)"}
SUFFIXES = (".pt", ".bin", ".safetensors", ".txt", ".pkl", "")


def pickle_findings(path):
    return [f for f in scan_path(path) if f.rule == "pickle"]


def offending(path):
    out = []
    for f in pickle_findings(path):
        out.extend(f"{g['module']}.{g['name']}" for g in f.details.get("globals", ()))
    return out


@pytest.mark.parametrize("name", sorted(TECHNIQUES))
def test_raw_pickle_flagged_whatever_the_file_name(tmp_path, name):
    suffix = SUFFIXES[sorted(TECHNIQUES).index(name) % len(SUFFIXES)]
    path = tmp_path / f"model{suffix}"
    path.write_bytes(TECHNIQUES[name])
    findings = pickle_findings(path)
    assert findings, name
    assert all(f.subject == str(path) for f in findings)
    if name not in NOT_NAMED_DANGEROUS:
        globals_ = [g for f in findings for g in f.details.get("globals", ())]
        assert any(g["dangerous"] for g in globals_), (name, globals_)


@pytest.mark.parametrize("name", sorted(TECHNIQUES))
def test_inside_torch_zip_checkpoint(tmp_path, name):
    path = tmp_path / "pytorch_model.bin"
    path.write_bytes(P.torch_zip({"archive/data.pkl": TECHNIQUES[name], "archive/version": b"3\n"}))
    findings = pickle_findings(path)
    assert findings and "archive/data.pkl" in findings[0].message


def test_message_lists_module_name_member_and_offset(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(P.torch_zip({"archive/data.pkl": P.call_global("os", "system"), "archive/version": b"3\n"}))
    (finding,) = pickle_findings(path)
    assert "os.system" in finding.message and "archive/data.pkl" in finding.message and "at byte 2" in finding.message
    assert finding.details["globals"] == [{"module": "os", "name": "system", "member": "archive/data.pkl", "offset": 2,
                                           "opcode": "GLOBAL", "dangerous": True,
                                           "why": "module os gives code execution, file or network access"}]


def test_memo_trick_names_the_real_global(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(TECHNIQUES["memo BINPUT/BINGET module and name"])
    assert offending(path) == ["os.system"]


def test_dotted_name_is_an_attribute_walk(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(TECHNIQUES["dotted name: pathlib / os.system"])
    (f,) = pickle_findings(path)
    assert "attribute walk" in f.details["globals"][0]["why"]


def test_nested_pickle_globals_are_reported(tmp_path):
    path = tmp_path / "m.pkl"
    path.write_bytes(TECHNIQUES["nested pickle passed to pickle.loads"])
    assert "pickle.loads" in offending(path) and "posix.system" in offending(path)
    path.write_bytes(TECHNIQUES["zlib-compressed nested pickle"])
    assert "posix.system" in offending(path)


# -- zip tricks ---------------------------------------------------------------------------------

EVIL = P.call_global("os", "system")
BENIGN = pickle.dumps({"weight": 1}, protocol=2)


def _zip(members=None, compress=zipfile.ZIP_STORED):
    return P.torch_zip(members or {"archive/data.pkl": EVIL, "archive/version": b"3\n"}, compress)


@pytest.mark.parametrize("trick", [
    "bad CRC (CVE-2025-10156)", "encrypted flag bit (CVE-2025-1945)", "all flag bits", "broken central directory",
    "local/central name mismatch (CVE-2025-1944)", "odd member name", "serialization_id member",
    "non-standard extension (CVE-2025-1889)", "deflated member", "junk before the archive", "no central directory",
    "data descriptor without sizes",
])
def test_zip_tricks(tmp_path, trick):
    if trick == "bad CRC (CVE-2025-10156)":
        data = P.patch_member(_zip(), "archive/data.pkl", crc=0xDEADBEEF)
    elif trick == "encrypted flag bit (CVE-2025-1945)":
        data = P.patch_member(_zip(), "archive/data.pkl", flags=0x1)
    elif trick == "all flag bits":
        data = P.patch_member(_zip(), "archive/data.pkl", flags=0xFFF7)
    elif trick == "broken central directory":
        data = P.break_central_directory(_zip())
    elif trick == "local/central name mismatch (CVE-2025-1944)":
        data = P.patch_member(_zip(), "archive/data.pkl", local_name=b"archive/data.txt")
    elif trick == "odd member name":
        data = _zip({"archive/data.pkl": BENIGN, "archive/data/../x.pkl": EVIL})
    elif trick == "serialization_id member":
        data = _zip({"archive/data.pkl": BENIGN, "archive/.data/serialization_id": EVIL})
    elif trick == "non-standard extension (CVE-2025-1889)":
        data = _zip({"archive/data.pkl": BENIGN, "archive/extra.config": EVIL})
    elif trick == "deflated member":
        data = _zip(compress=zipfile.ZIP_DEFLATED)
    elif trick == "junk before the archive":
        data = b"\x00JUNK" * 100 + _zip()
    elif trick == "no central directory":
        z = _zip()
        data = z[:z.find(b"PK\x01\x02")]
    else:
        data = _data_descriptor_zip({"archive/data.pkl": EVIL})
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    assert "os.system" in offending(path), trick
    no_cd = ("broken central directory", "no central directory", "data descriptor without sizes")
    with pytest.raises(zipfile.BadZipFile) if trick in no_cd else _nothing():
        zipfile.ZipFile(path).namelist()  # Python's own reader is indeed fooled or refuses


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _data_descriptor_zip(members: dict) -> bytes:
    """Members written with flag bit 3 (sizes after the data), no central directory."""
    out = bytearray()
    for name, body in members.items():
        raw = name.encode()
        out += b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", 20, 0x08, 0, 0, 0, 0, 0, 0, len(raw), 0) + raw + body
        out += b"PK\x07\x08" + struct.pack("<III", zlib.crc32(body), len(body), len(body))
    return bytes(out)


def test_storage_member_named_like_tensor_data_is_still_read_when_it_is_a_pickle(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(_zip({"archive/data.pkl": BENIGN, "archive/data/0": EVIL}))
    assert "os.system" in offending(path)


def test_legacy_torch_format(tmp_path):
    path = tmp_path / "legacy.bin"
    path.write_bytes(P.legacy_torch(EVIL))
    assert "os.system" in offending(path)
    assert Scanner().scan_file(str(path)).format == "torch-legacy"


def test_pickle_after_leading_junk(tmp_path):
    path = tmp_path / "weights.dat"
    path.write_bytes(b"JUNKJUNK" * 50 + pickle.dumps(P._Reduce("os", "system", "x"), protocol=4))
    assert "posix.system" in offending(path)


@pytest.mark.parametrize("proto", [0, 1, 2, 4])
def test_second_pickle_after_a_benign_one(tmp_path, proto):
    path = tmp_path / "two.pkl"
    second = P.call_global("os", "system", proto=proto) if proto != 4 else P.stack_global("os", "system")
    path.write_bytes(BENIGN + second)
    assert "os.system" in offending(path)


@pytest.mark.parametrize("wrap", ["gzip", "zlib", "bz2", "xz", "tar", "tar.gz", "zip in zip", "npz object array"])
def test_wrappers(tmp_path, wrap):
    import bz2
    import lzma

    if wrap == "gzip":
        data = gzip.compress(EVIL)
    elif wrap == "zlib":
        data = zlib.compress(EVIL)
    elif wrap == "bz2":
        data = bz2.compress(EVIL)
    elif wrap == "xz":
        data = lzma.compress(EVIL)
    elif wrap.startswith("tar"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz" if wrap == "tar.gz" else "w") as tar:
            info = tarfile.TarInfo("ckpt/model.bin")
            info.size = len(EVIL)
            tar.addfile(info, io.BytesIO(EVIL))
        data = buf.getvalue()
    elif wrap == "zip in zip":
        data = P.torch_zip({"inner.zip": _zip()}, zipfile.ZIP_DEFLATED)
    else:
        npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + (
            b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }").ljust(117) + b"\n"
        data = P.torch_zip({"arr.npy": npy + EVIL})
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    assert "os.system" in offending(path), wrap


# -- bounded work: each limit is a clear finding -------------------------------------------------

def _limit_messages(path, limits):
    return [f.message for f in Scanner(limits).scan_file(str(path)).problems and
            __import__("guardpolicy.scan.api", fromlist=["x"]).pickle_findings(Scanner(limits).scan_file(str(path)))]


def test_zip_bomb_is_a_limit_finding(tmp_path):
    bomb = b"\x80\x02" + b"(" * (40 * 1024 * 1024)
    path = tmp_path / "bomb.pt"
    path.write_bytes(P.torch_zip({"archive/data.pkl": bomb}, zipfile.ZIP_DEFLATED))
    msgs = _limit_messages(path, ScanLimits(max_decompressed=8 * 1024 * 1024))
    assert any("limit exceeded" in m and "decompress" in m for m in msgs)
    # the ratio bound alone catches it too
    msgs = _limit_messages(path, ScanLimits(ratio_floor=1024 * 1024, max_ratio=100))
    assert any("decompression ratio" in m for m in msgs)


def test_nesting_depth_is_bounded(tmp_path):
    data = EVIL
    for _ in range(8):
        data = P.torch_zip({"inner.zip" if data[:2] == b"PK" else "x.pkl": data})
    path = tmp_path / "deep.zip"
    path.write_bytes(data)
    msgs = _limit_messages(path, ScanLimits(max_depth=4))
    assert any("limit exceeded: nested deeper" in m for m in msgs)


def test_huge_memo_is_a_limit_finding(tmp_path):
    path = tmp_path / "memo.pkl"
    path.write_bytes(b"\x80\x04N" + b"\x94" * 5000 + b".")
    msgs = _limit_messages(path, ScanLimits(max_memo=1000))
    assert any("limit exceeded: memo larger than 1000" in m for m in msgs)


def test_opcode_count_is_bounded(tmp_path):
    path = tmp_path / "ops.pkl"
    path.write_bytes(b"\x80\x04" + b"N0" * 10000 + b"N.")
    msgs = _limit_messages(path, ScanLimits(max_opcodes=5000))
    assert any("limit exceeded: more than 5000 opcodes" in m for m in msgs)


def test_member_count_is_bounded(tmp_path):
    path = tmp_path / "many.zip"
    path.write_bytes(P.torch_zip({f"m{i}": b"x" for i in range(50)}))
    msgs = _limit_messages(path, ScanLimits(max_members=10))
    assert any("limit exceeded: more than 10 archive members" in m for m in msgs)


def test_file_size_is_bounded(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"\0" * 5000)
    msgs = _limit_messages(path, ScanLimits(max_file_size=1000))
    assert any("limit exceeded: file is 5000 bytes" in m for m in msgs)


def broken(path):
    """The ``format`` findings that say part of the file cannot be read (graded by ``[rules.format] unreadable``)."""
    return [f for f in scan_path(path) if f.rule == "format" and f.details.get("kind") == "unreadable"]


def test_truncated_pickle_keeps_globals_and_reports_the_break(tmp_path):
    """A loader runs what a stream imported before it breaks: the globals are judged, the break reported."""
    path = tmp_path / "cut.pkl"
    path.write_bytes(EVIL[:-3])
    assert "os.system" in offending(path)
    assert any("breaks at byte" in f.message and f.action == "warn" for f in broken(path))


def test_truncated_benign_pickle_is_reported_unreadable(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(list(range(100)), protocol=4)[:-20])
    assert not pickle_findings(path)
    assert any("breaks at byte" in f.message for f in broken(path))


def test_keras_zip_with_lambda_layer(tmp_path):
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"function": {
            "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}}}]}}
    import json

    path = tmp_path / "model.keras"
    path.write_bytes(P.torch_zip({"metadata.json": b"{}", "config.json": json.dumps(config).encode(),
                                  "model.weights.h5": b"\x89HDF\r\n\x1a\n"}, zipfile.ZIP_DEFLATED))
    msgs = [f.message for f in pickle_findings(path)]
    assert any("Lambda" in m for m in msgs) and any("marshalled" in m for m in msgs)


def test_keras_config_calling_a_function_outside_keras(tmp_path):
    import json

    config = {"module": "keras.layers", "class_name": "Dense", "config": {
        "activation": {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": None}}}
    path = tmp_path / "model.keras"
    path.write_bytes(P.torch_zip({"metadata.json": b"{}", "config.json": json.dumps(config).encode()}))
    assert any("builtins.function" in f.message for f in pickle_findings(path))


def test_hdf5_keras_lambda(tmp_path):
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100 + b'{"class_name": "Lambda", "config": {"function": ["4wEA"]}}')
    assert any("Lambda" in f.message for f in pickle_findings(path))


def test_doctored_archive_is_also_a_format_finding(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(P.patch_member(_zip({"archive/data.pkl": BENIGN, "archive/version": b"3\n"}), "archive/data.pkl",
                                    local_name=b"archive/data.txt"))
    findings = scan_path(path)
    assert [f.rule for f in findings] == ["format"]
    assert "archive anomaly: member name differs" in findings[0].message


def test_unknown_binary_with_many_marker_bytes_is_bounded(tmp_path):
    path = tmp_path / "blob.dat"
    path.write_bytes(b"JUNK" + b"\x80\x02\xff" * 200000)
    (finding,) = scan_path(path)  # no pickle in it: only "unrecognised binary content", a warning
    assert finding.rule == "format" and finding.action == "warn" and "unrecognised binary" in finding.message


def test_joblib_array_bytes_hiding_opcodes_for_plain_pickle_load(tmp_path):
    """joblib skips the array bytes, pickle.load runs them: both readings are scanned."""
    joblib = pytest.importorskip("joblib")
    np = pytest.importorskip("numpy")
    hidden = b"0" + P.call_global("os", "system")[2:]  # POP the wrapper, then GLOBAL os.system ... STOP
    arr = np.frombuffer(hidden.ljust(64, b"\0"), dtype=np.uint8)

    class Stream:  # no tell(): joblib writes the bytes without alignment padding
        def __init__(self):
            self.data = bytearray()

        def write(self, chunk):
            self.data += chunk
            return len(chunk)

        def tell(self):
            raise io.UnsupportedOperation

    out = Stream()
    joblib.dump(arr, out)
    path = tmp_path / "model.joblib"
    path.write_bytes(bytes(out.data))
    assert hidden in out.data
    assert "os.system" in offending(path)


def test_joblib_wrapper_from_another_module_gets_no_skip(tmp_path):
    path = tmp_path / "fake.joblib"
    path.write_bytes(b"\x80\x04" + P.s("evil") + P.s("NumpyArrayWrapper") + b"\x93)\x81}b" + P.call_global("os", "system")[2:])
    found = offending(path)
    assert "evil.NumpyArrayWrapper" in found and "os.system" in found


@pytest.mark.parametrize("payload", ["proto0", "proto2", "gzip"])
def test_pickle_in_a_tensor_storage_member(tmp_path, payload):
    body = {"proto0": P.call_global("os", "system", proto=0), "proto2": EVIL, "gzip": gzip.compress(EVIL)}[payload]
    for compress in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        path = tmp_path / "m.pt"
        path.write_bytes(P.torch_zip({"archive/data.pkl": BENIGN, "archive/data/7": body}, compress))
        assert "os.system" in offending(path), (payload, compress)


def test_method_and_size_disagreements_between_headers(tmp_path):
    # stored in the local header, deflated per the central directory (what torch's reader uses)
    data = bytearray(_zip({"archive/data.pkl": EVIL, "archive/version": b"3\n"}, zipfile.ZIP_DEFLATED))
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<H", data, local + 8, 0)
    path = tmp_path / "m.pt"
    path.write_bytes(bytes(data))
    findings = scan_path(path)
    assert "os.system" in offending(path)
    assert any("compression method" in f.message for f in findings if f.rule == "format")
    # a local header claiming fewer bytes than the central directory
    data = bytearray(_zip())
    local = data.find(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 18, 3)
    path.write_bytes(bytes(data))
    assert "os.system" in offending(path)


def test_storage_name_only_in_the_local_header_gets_a_full_look(tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(P.patch_member(_zip({"archive/data.pkl": b"\x80\x02" + b"\xff" * 10}), "archive/data.pkl",
                                    local_name=b"archive/data/000"))
    msgs = [f.message for f in scan_path(path)]
    assert any("breaks at byte" in m for m in msgs)


def test_compressed_npz_object_array_with_a_hostile_object(tmp_path):
    np = pytest.importorskip("numpy")
    path = tmp_path / "data.npz"
    np.savez_compressed(path, ok=np.arange(1000), bad=np.array([P._Reduce("os", "getcwd", None)], dtype=object))
    assert "posix.getcwd" in offending(path)


def test_zip64_member(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as z:
        z.writestr("archive/version", b"3\n")
        with z.open("archive/data.pkl", "w", force_zip64=True) as fh:
            fh.write(EVIL)
    path = tmp_path / "m.pt"
    path.write_bytes(buf.getvalue())
    assert "os.system" in offending(path)
    assert [f for f in scan_path(path) if f.rule == "format"] == []
