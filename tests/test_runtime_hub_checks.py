"""The pure helpers behind the Hub patches (guardpolicy.runtime.hub_checks) and file quarantine."""

from __future__ import annotations

import os

import pytest

from guardpolicy.model import ModelRef
from guardpolicy.policy.model import Policy
from guardpolicy.runtime import filescan
from guardpolicy.runtime.hub_checks import (
    commit_from_path,
    format_by_name,
    is_commit,
    join_repo_path,
    lock_commit_findings,
    lock_entry,
    lock_file_findings,
    lock_name_findings,
    lock_path,
    name_findings,
    needs_scan,
    parse_fs_path,
    parse_lock,
    requested_revision,
    resolved_commit,
    walk_files,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "fedcba9876543210fedcba9876543210fedcba98"


def policy(**hub) -> Policy:
    return Policy(data={"hub": hub} if hub else {})


@pytest.mark.parametrize("rev,ok", [(SHA, True), (SHA.upper(), False), (SHA[:39], False), ("main", False),
                                    (None, False), ("v1.0", False), (SHA + "0", False), (123, False)])
def test_is_commit(rev, ok):
    assert is_commit(rev) is ok


def test_requested_revision_of_resolved_revision():
    import huggingface_hub as hf
    RR = getattr(hf, "ResolvedRevision", None)
    if RR is None:
        pytest.skip("huggingface_hub < 2 has no ResolvedRevision")
    floating = RR(SHA, None, "a/b")
    assert str(floating) == "main" and requested_revision(floating) is None  # resolved from main: floats
    assert resolved_commit(floating) == SHA
    pinned = RR(SHA, SHA, "a/b")
    assert requested_revision(pinned) == SHA
    tag = RR(SHA, "v1", "a/b")
    assert requested_revision(tag) == "v1"
    assert requested_revision(None) is None and requested_revision("main") == "main"
    assert resolved_commit("main") is None and resolved_commit(SHA) == SHA


@pytest.mark.parametrize("name,fmt", [("model.safetensors", "safetensors"), ("pytorch_model.bin", "torch"),
                                      ("sub/x.PT", "torch"), ("a.ckpt", "torch"), ("w.pkl", "pickle"),
                                      ("m.joblib", "joblib"), ("x.npz", "numpy"), ("tf_model.h5", "hdf5"),
                                      ("m.gguf", "gguf"), ("m.onnx", "onnx"), ("config.json", None),
                                      ("README.md", None), ("tokenizer.model", None), ("bin", None)])
def test_format_by_name(name, fmt):
    assert format_by_name(name) == fmt


def test_join_repo_path():
    assert join_repo_path("config.json") == "config.json"
    assert join_repo_path("config.json", "unet/") == "unet/config.json"
    assert join_repo_path("a\\b.bin") == "a/b.bin"


def test_name_findings_follow_allowed_formats_and_families():
    ref = ModelRef("acme/x", revision=SHA)
    files = ["config.json", "model.safetensors", "pytorch_model.bin", "w.pkl", "m.onnx"]
    assert name_findings(ref, files, policy()) == []  # no allowed_formats: any (pickles scanned later)
    found = name_findings(ref, files, policy(allowed_formats=["safetensors", "onnx"]))
    assert [f.details["path"] for f in found] == ["pytorch_model.bin", "w.pkl"]
    assert all(f.rule == "format" for f in found)
    assert found[0].subject == f"hf:acme/x@{SHA}/pytorch_model.bin"
    assert "pickle-based" in found[0].message
    # the scanner's family name 'pickle' covers torch and joblib
    assert name_findings(ref, files, policy(allowed_formats=["safetensors", "onnx", "pickle"])) == []


def test_needs_scan():
    assert needs_scan("pytorch_model.bin", policy())
    assert not needs_scan("pytorch_model.bin", policy(scan_pickles=False))
    assert not needs_scan("model.safetensors", policy())


def test_commit_from_path():
    assert commit_from_path(f"/c/models--a--b/snapshots/{SHA}/sub/x.bin") == SHA
    assert commit_from_path(f"/c/models--a--b/snapshots/{SHA}") == SHA  # a returned snapshot folder
    assert commit_from_path("/local/dir/x.bin") is None
    assert commit_from_path("/c/snapshots/main/x.bin") is None


@pytest.mark.parametrize("path,rev,expected", [
    ("acme/tiny/config.json", None, ("model", "acme/tiny", None, "config.json")),
    ("hf://acme/tiny@main/a/b.txt", None, ("model", "acme/tiny", "main", "a/b.txt")),
    (f"datasets/acme/data@{SHA}/train.csv", None, ("dataset", "acme/data", SHA, "train.csv")),
    ("spaces/acme/app", None, ("space", "acme/app", None, "")),
    ("acme/tiny@refs%2Fpr%2F1/x", None, ("model", "acme/tiny", "refs/pr/1", "x")),
    ("acme/tiny@refs/pr/1/x", None, ("model", "acme/tiny", "refs/pr/1", "x")),
    ("acme/tiny/x", SHA, ("model", "acme/tiny", SHA, "x")),
    ("buckets/acme/b/x", None, None),
    ("acme", None, None),
])
def test_parse_fs_path(path, rev, expected):
    assert parse_fs_path(path, rev) == expected


def test_walk_files_skips_bookkeeping(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".cache" / "huggingface").mkdir(parents=True)
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "sub" / "b.bin").write_bytes(b"x")
    (tmp_path / ".cache" / "huggingface" / "meta").write_text("m")
    assert [rel for rel, _ in walk_files(str(tmp_path))] == ["a.json", "sub/b.bin"]


LOCK_TOML = {
    "version": 1,
    "repo": [{"id": "Acme/Tiny", "kind": "model", "commit": SHA,
              "files": [{"path": "config.json", "size": 2, "sha256": "a" * 64}]},
             {"id": "acme/data", "kind": "dataset", "commit": SHA2, "files": []}],
}


def test_parse_lock_guard_lock_format_and_tables():
    lock = parse_lock(LOCK_TOML)
    entry = lock_entry(lock, ModelRef("acme/tiny"))  # ids compare case-insensitively, like the Hub
    assert entry["commit"] == SHA and entry["files"]["config.json"]["sha256"] == "a" * 64
    assert lock_entry(lock, ModelRef("acme/data", repo_type="dataset"))["commit"] == SHA2
    assert lock_entry(lock, ModelRef("acme/data")) is None  # a model of that name is not locked
    tables = parse_lock({"repos": {"hf:datasets/acme/d": {"commit": SHA, "files": {"x.csv": {"sha256": "b" * 64}}}}})
    assert lock_entry(tables, ModelRef("acme/d", repo_type="dataset"))["files"]["x.csv"]["sha256"] == "b" * 64
    assert lock_entry(None, ModelRef("acme/tiny")) is None


def test_lock_findings():
    ref = ModelRef("acme/tiny", revision=SHA)
    entry = parse_lock(LOCK_TOML)[("model", "acme/tiny")]
    assert lock_commit_findings(ref, SHA, entry) == []
    assert lock_commit_findings(ref, None, entry) == []  # unknown yet: checked after the download
    (moved,) = lock_commit_findings(ref, SHA2, entry)
    assert moved.rule == "digest" and SHA in moved.message and SHA2 in moved.message
    assert lock_name_findings(ref, ["config.json"], entry) == []
    (extra,) = lock_name_findings(ref, ["config.json", "evil.bin"], entry)
    assert "evil.bin is not in guard.lock" in extra.message
    assert lock_file_findings(ref, "config.json", "a" * 64, entry) == []
    (bad,) = lock_file_findings(ref, "config.json", "c" * 64, entry)
    assert bad.details == {"expected": "a" * 64, "actual": "c" * 64}
    assert lock_file_findings(ref, "x", "c" * 64, None) == []


def test_lock_path_relative_to_the_policy_file(tmp_path):
    from guardpolicy.policy.model import Layer

    layer = Layer(name=str(tmp_path / "guard.toml"), path=str(tmp_path / "guard.toml"), data={})
    p = Policy(data={"hub": {"lock": "locks/guard.lock"}}, layers=(layer,),
               provenance={"hub.lock": str(tmp_path / "guard.toml")})
    assert lock_path(p) == str(tmp_path / "locks" / "guard.lock")
    assert lock_path(Policy(data={"hub": {"lock": "/abs/guard.lock"}})) == "/abs/guard.lock"
    assert lock_path(Policy(data={})) is None


def test_quarantine_moves_the_blob_and_removes_the_link(tmp_path, monkeypatch):
    monkeypatch.setenv("GUARDPOLICY_QUARANTINE", str(tmp_path / "q"))
    blob = tmp_path / "blobs" / "abc"
    blob.parent.mkdir()
    blob.write_bytes(b"evil")
    snap = tmp_path / "snapshots" / SHA
    snap.mkdir(parents=True)
    link = snap / "model.bin"
    os.symlink(os.path.relpath(blob, snap), link)
    dest = filescan.quarantine(str(link))
    assert dest and os.path.exists(dest) and dest.endswith("-model.bin")
    assert not blob.exists() and not os.path.lexists(link)
    assert open(dest, "rb").read() == b"evil"
    assert filescan.quarantine(str(link)) is None  # already gone


def test_scan_file_fails_closed_without_a_scanner(tmp_path, monkeypatch):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x80\x04N.")
    filescan.forget()
    monkeypatch.setattr(filescan, "_scanner", lambda: None)
    (finding,) = filescan.scan_file(str(f), Policy(data={}))
    assert finding.rule == "pickle" and "cannot be scanned" in finding.message
    filescan.forget()


def test_scan_file_fails_closed_when_the_scanner_crashes(tmp_path, monkeypatch):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x80\x04N.")
    filescan.forget()

    def broken(path, policy=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(filescan, "_scanner", lambda: broken)
    (finding,) = filescan.scan_file(str(f), Policy(data={}))
    assert finding.rule == "pickle" and "scanning failed (RuntimeError: boom)" in finding.message
    filescan.forget()


def test_scan_file_findings_name_the_file_asked_about_even_from_the_content_cache(tmp_path, monkeypatch):
    # results are cached by content digest: a second file with the same bytes must not be reported
    # under the first file's name (nor a waiver for the first one apply to it by name)
    import guardpolicy.scan  # noqa: F401
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    evil = b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85q\x01Rq\x02."
    a, b = tmp_path / "a.pkl", tmp_path / "b.pkl"
    a.write_bytes(evil)
    b.write_bytes(evil)
    filescan.forget()
    policy = Policy(data={})
    assert {f.subject for f in filescan.scan_file(str(a), policy)} == {str(a)}
    found = filescan.scan_file(str(b), policy)
    assert found and {f.subject for f in found} == {str(b)}
    assert {f.location.file for f in found if f.location} <= {str(b)}
    assert {f.subject for f in filescan.scan_file(str(b), policy, subject="hf:acme/x@main/b.pkl")} == {"hf:acme/x@main/b.pkl"}
    filescan.forget()


@pytest.mark.parametrize("url,endpoint,expected", [
    ("http://127.0.0.1:5/acme/tiny/resolve/main/config.json", None,
     ("http://127.0.0.1:5", "model", "acme/tiny", "main", "config.json")),
    ("https://m.example/hf/datasets/acme/d/resolve/refs%2Fpr%2F1/a/b.csv?download=true", "https://m.example/hf",
     ("https://m.example/hf", "dataset", "acme/d", "refs/pr/1", "a/b.csv")),
    (f"https://huggingface.co/gpt2/resolve/{SHA}/x.bin", "https://huggingface.co",
     ("https://huggingface.co", "model", "gpt2", SHA, "x.bin")),
    ("https://example.com/file.bin", None, None),
    ("https://huggingface.co/a/b/c/resolve/main/x", None, None),
    ("not a url", None, None),
])
def test_parse_resolve_url(url, endpoint, expected):
    from guardpolicy.runtime.hub_checks import parse_resolve_url

    assert parse_resolve_url(url, endpoint) == expected


def test_gate_renamed_maps_subjects_and_location_files_only_where_listed():
    from guardpolicy.model import Finding, Location
    from guardpolicy.runtime.gate import renamed

    names = {"/cache/blob": "hf:acme/x@main/w.bin"}
    a = Finding(rule="pickle", subject="/cache/blob", message="m", location=Location("/cache/blob"))
    b = Finding(rule="pickle", subject="/cache/blob", message="m")  # no location
    c = Finding(rule="digest", subject="hf:acme/x@main/w.bin", message="m", location=Location("guard.lock", 3))
    d = Finding(rule="pickle", subject="/elsewhere", message="m", location=Location("/elsewhere"))
    out = renamed([a, b, c, d], names)
    assert [f.subject for f in out] == ["hf:acme/x@main/w.bin"] * 3 + ["/elsewhere"]
    assert out[0].location == Location("hf:acme/x@main/w.bin")
    assert out[1].location is None
    assert out[2] is c and out[3] is d  # untouched findings are the same objects
    assert renamed([], names) == []


def _enforce_env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    filescan.forget()


def test_enforce_file_judges_a_file_ref_and_names_the_file_asked_about(tmp_path, monkeypatch):
    import guardpolicy.scan  # noqa: F401
    from guardpolicy.errors import PolicyViolation

    _enforce_env(tmp_path, monkeypatch)
    evil = tmp_path / "blob"
    evil.write_bytes(b"\x80\x02cos\nsystem\nX\x02\x00\x00\x00idq\x00\x85q\x01Rq\x02.")
    ref = ModelRef("acme/x", revision=SHA)
    with pytest.raises(PolicyViolation) as info:
        filescan.enforce_file(str(evil), "test", Policy(data={}), subject=f"hf:acme/x@{SHA}/w.bin", model=ref)
    decision = info.value.decision
    assert {f.subject for f in decision.findings} == {f"hf:acme/x@{SHA}/w.bin"}
    (file_ref,) = decision.checked
    assert file_ref.path == str(evil) and file_ref.model == ref
    assert file_ref.extra["sha256"] == filescan.file_digest(str(evil))
    filescan.forget()


def test_enforce_file_remembers_clean_bytes_and_still_judges_the_callers_findings(tmp_path, monkeypatch):
    import guardpolicy.scan  # noqa: F401
    from guardpolicy.errors import PolicyViolation
    from guardpolicy.model import Finding

    _enforce_env(tmp_path, monkeypatch)
    clean = tmp_path / "clean.txt"
    clean.write_text("hello\n")
    policy = Policy(data={})
    first = filescan.enforce_file(str(clean), "test", policy, subject="a")
    assert first is not None and not first.denied and len(first.checked) == 1
    assert filescan.enforce_file(str(clean), "test", policy, subject="b") is None  # known clean: no rule runs
    lock = Finding(rule="digest", subject="b", message="sha256 differs from guard.lock")
    with pytest.raises(PolicyViolation) as info:
        filescan.enforce_file(str(clean), "test", policy, subject="b", findings=[lock])
    assert [f.rule for f in info.value.decision.findings] == ["digest"]
    assert info.value.decision.checked == ()  # the bytes were not judged again
    filescan.forget()


def test_enforce_file_fails_closed_without_a_scanner(tmp_path, monkeypatch):
    from guardpolicy.errors import PolicyViolation

    _enforce_env(tmp_path, monkeypatch)
    monkeypatch.setattr(filescan, "_scanner", lambda: None)
    f = tmp_path / "w.safetensors"
    f.write_bytes(b"\x00" * 16)
    with pytest.raises(PolicyViolation) as info:
        filescan.enforce_file(str(f), "test", Policy(data={}), subject="hf:acme/x@main/w.safetensors")
    (finding,) = info.value.decision.findings
    assert finding.rule == "pickle" and "cannot be scanned" in finding.message
    assert finding.subject == "hf:acme/x@main/w.safetensors"
    # nothing was remembered as clean
    monkeypatch.undo()
    _enforce_env(tmp_path, monkeypatch)
    assert not filescan.is_known_clean(filescan.file_digest(str(f)), Policy(data={}))
    filescan.forget()
