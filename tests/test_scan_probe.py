"""Issue 15: any byte stream is probed as a pickle, broken streams are judged on what they named,
and content guard cannot read or recognise is a finding (warn by default, deny under strict).

Everything here loads what it scans with the real ``pickle`` first, so each case is one a loader
really runs; the scan goes through the public API and the real ``guard scan`` CLI.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
from conftest import run_guard

from guardpolicy import scan_path
from guardpolicy.scan.detect import sniff

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))


class Marker:
    """``__reduce__`` to ``os.getpid``: harmless to run, named like any os.* payload."""

    def __reduce__(self):
        return (os.getpid, ())


class Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def rules(path):
    return {(f.rule, f.action) for f in scan_path(path)}


def globals_named(path):
    return {f"{g['module']}.{g['name']}" for f in scan_path(path) if f.rule == "pickle"
            for g in f.details.get("globals", ())}


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_a_pickle_without_its_proto_header_still_loads_and_is_caught(tmp_path, protocol):
    data = pickle.dumps(Marker(), protocol)[2:]
    assert pickle.loads(data) == os.getpid()  # the loader does not need the header
    path = tmp_path / "model.bin"
    path.write_bytes(data)
    assert sniff(data) == "pickle"
    assert "posix.getpid" in globals_named(path) or "os.getpid" in globals_named(path)


@pytest.mark.parametrize("lead", [
    b"\x88",                    # NEWTRUE, popped
    b"\x89",                    # NEWFALSE
    b"M\x01\x00",               # BININT2
    b"\x8a\x01\x05",            # LONG1
    b"\x8c\x03abc",             # SHORT_BINUNICODE
    b"\x95" + struct.pack("<Q", 0),  # an empty FRAME
    b"\x96" + struct.pack("<Q", 1) + b"x",  # BYTEARRAY8
])
def test_a_stream_starting_with_a_newer_opcode_is_a_pickle(tmp_path, lead):
    body = pickle.dumps(Marker(), 4)[2:]
    pop = b"" if lead.startswith(b"\x95") else b"0"  # POP the leading value (a FRAME pushes nothing)
    data = lead + pop + body
    assert pickle.loads(data) == os.getpid()
    path = tmp_path / "weights.dat"
    path.write_bytes(data)
    assert {"posix.getpid", "os.getpid"} & globals_named(path)


def test_a_stream_that_names_exec_and_then_breaks_is_denied(tmp_path):
    data = b"cbuiltins\nexec\n" + b"\xff\xfe not a pickle any more"
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(data)  # the import already happened when it fails
    path = tmp_path / "broken.pkl"
    path.write_bytes(data)
    found = scan_path(path)
    assert any(f.rule == "pickle" and "builtins.exec" in f.message and "dangerous" in f.message for f in found)
    assert any(f.rule == "format" and f.details.get("kind") == "unreadable" for f in found)


def test_a_payload_that_runs_before_the_stream_breaks_is_denied(tmp_path):
    """nullifAI: the object is built (payload run) before the corrupt tail makes the load fail."""
    data = pickle.dumps(Evil(), 2)[:-1] + b"\x00\x00garbage"
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(data)
    assert "posix.system" in globals_named(path) or "os.system" in globals_named(path)


def test_a_second_pickle_without_header_after_a_benign_one_is_scanned(tmp_path):
    data = pickle.dumps({"step": 1}, 2) + pickle.dumps(Marker(), 4)[2:]
    path = tmp_path / "two.pkl"
    path.write_bytes(data)
    assert {"posix.getpid", "os.getpid"} & globals_named(path)


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_unrecognised_binary_is_a_warning_by_default_and_denied_under_strict(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(7, 256)) * 64)
    assert sniff(path.read_bytes()) == "unknown"
    assert rules(path) == {("format", "warn")}
    res = run_guard("scan", path, cwd=tmp_path)
    assert res.returncode == 0 and "unrecognised binary content" in res.stdout, res.stdout + res.stderr
    res = run_guard("scan", path, "--policy", "strict", cwd=tmp_path)
    assert res.returncode == 1 and "unrecognised binary content" in res.stdout, res.stdout + res.stderr


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_a_truncated_benign_pickle_is_only_a_warning(tmp_path):
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(list(range(50)), 4)[:-10])
    assert rules(path) == {("format", "warn")}
    assert run_guard("scan", path, cwd=tmp_path).returncode == 0
    assert run_guard("scan", path, "--policy", "strict", cwd=tmp_path).returncode == 1


def _sentencepiece() -> bytes:
    """A minimal SentencePiece ModelProto: pieces <unk>, <s>, ▁the with scores and types."""
    out = b""
    for piece, score, kind in (("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("\u2581the", -3.5, 1)):
        raw = piece.encode()
        entry = b"\x0a" + bytes([len(raw)]) + raw + b"\x15" + struct.pack("<f", score) + b"\x18" + bytes([kind])
        out += b"\x0a" + bytes([len(entry)]) + entry
    return out + b"\x12\x04\x08\x01\x10\x01"  # trainer_spec


@pytest.mark.parametrize("name,data", [
    ("logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(200)),
    ("voice.wav", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200)),
    ("model.tflite", b"\x1c\x00\x00\x00TFL3" + bytes(200)),
    ("tokenizer.model", _sentencepiece()),
    ("README.md", "# a model card\n\nwith text only, ünïcode too\n".encode()),
])
def test_everyday_non_model_files_are_not_unrecognised(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    assert scan_path(path) == []


def test_flax_msgpack_weights_are_data(tmp_path):
    msgpack = pytest.importorskip("msgpack")
    path = tmp_path / "flax_model.msgpack"
    path.write_bytes(msgpack.packb({"params": {"dense": {"kernel": [0.5] * 64, "bias": [0.0] * 8}}}))
    assert sniff(path.read_bytes()) == "msgpack" and scan_path(path) == []


def test_random_bytes_never_pass_silently(tmp_path):
    for i in range(20):
        path = tmp_path / f"r{i}.bin"
        path.write_bytes(os.urandom(4096))
        assert scan_path(path), "random bytes must never come out clean"


@pytest.fixture
def hostile(tmp_path):
    folder = tmp_path / "my models #1"
    folder.mkdir()
    path = folder / "evil model%.pkl"
    path.write_bytes(b"JUNK" + pickle.dumps(Evil(), 2))  # a pickle after 4 bytes of junk: offset 4
    return tmp_path, path


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "cyclonedx", "text"])
@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_guard_scan_writes_every_report_format(hostile, fmt):
    cwd, path = hostile
    res = run_guard("scan", path, "--format", fmt, cwd=cwd)
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
    assert res.stdout.strip()
    if fmt in ("json", "sarif", "cyclonedx"):
        json.loads(res.stdout)


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_sarif_file_findings_carry_byte_offsets_and_encoded_uris(hostile):
    import jsonschema

    cwd, path = hostile
    res = run_guard("scan", path, "--format", "sarif", cwd=cwd)
    doc = json.loads(res.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    results = doc["runs"][0]["results"]
    locations = [r["locations"][0]["physicalLocation"] for r in results]
    assert all(loc["artifactLocation"]["uri"] == "my%20models%20%231/evil%20model%25.pkl" for loc in locations)
    assert any(loc.get("region", {}).get("byteOffset", -1) >= 4 for loc in locations)


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_an_unknown_report_format_is_a_usage_error(hostile):
    cwd, path = hostile
    res = run_guard("scan", path, "--format", "yaml", cwd=cwd)
    assert res.returncode == 2 and "unknown format 'yaml'" in res.stderr


def _corpus(folder, n=300, evil_at=(0, 151, 299)):
    folder.mkdir()
    for i in range(n):
        obj = Evil() if i in evil_at else {"i": i, "w": [0.5] * 8}
        (folder / f"f{i:04d}.pkl").write_bytes(pickle.dumps(obj, 4))
    return folder


def test_many_files_are_split_over_workers_with_the_same_findings(tmp_path):
    from guardpolicy.cli.scan import scan_files
    from guardpolicy.scan.api import iter_files
    from guardpolicy.scan.containers import Scanner

    files = list(iter_files(str(_corpus(tmp_path / "many"))))
    serial = scan_files(files, Scanner(), True, None, "warn", workers=1)
    parallel = scan_files(files, Scanner(), True, None, "warn", workers=3)
    assert [(f.rule, f.subject, f.message) for f in parallel] == [(f.rule, f.subject, f.message) for f in serial]
    assert {os.path.basename(f.subject) for f in parallel} == {"f0000.pkl", "f0151.pkl", "f0299.pkl"}


def test_a_worker_that_dies_costs_time_not_findings(tmp_path, monkeypatch):
    from guardpolicy.cli import scan as cli_scan
    from guardpolicy.scan.api import iter_files
    from guardpolicy.scan.containers import Scanner

    files = list(iter_files(str(_corpus(tmp_path / "many"))))
    parent, real = os.getpid(), cli_scan.scan_one

    def dies_in_workers(*args):
        if os.getpid() != parent:
            os._exit(3)
        return real(*args)

    monkeypatch.setattr(cli_scan, "scan_one", dies_in_workers)
    found = cli_scan.scan_files(files, Scanner(), True, None, "warn", workers=3)
    assert {os.path.basename(f.subject) for f in found} == {"f0000.pkl", "f0151.pkl", "f0299.pkl"}


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_guard_scan_of_a_folder_finds_every_hostile_file(tmp_path):
    folder = _corpus(tmp_path / "many")
    res = run_guard("scan", folder, "--format", "json", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    denied = {os.path.basename(f["subject"]) for f in doc["findings"] if f["action"] == "deny"}
    assert denied == {"f0000.pkl", "f0151.pkl", "f0299.pkl"}


@pytest.mark.slow  # runs the guard CLI in subprocesses
def test_strict_allows_everyday_data_files_but_not_unknown_binaries(tmp_path):
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert run_guard("scan", png, "--policy", "strict", cwd=tmp_path).returncode == 0
    blob = tmp_path / "blob.bin"
    blob.write_bytes(bytes(range(7, 256)) * 8)
    assert run_guard("scan", blob, "--policy", "strict", cwd=tmp_path).returncode == 1


def test_a_folder_with_more_files_than_the_limit_is_not_passed(tmp_path):
    from guardpolicy.scan.limits import ScanLimits

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(5):
        (folder / f"f{i}.txt").write_text("plain text\n")
    assert scan_path(folder, limits=ScanLimits(max_files=10)) == []
    found = scan_path(folder, limits=ScanLimits(max_files=3))
    assert [f.subject for f in found] == [str(folder)] and "not fully scanned" in found[0].message
    assert found[0].action is None  # the rule's action: denied, never a warning
