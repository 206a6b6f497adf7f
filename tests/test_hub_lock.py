"""``guard lock`` / ``guard check guard.lock`` / ``guard verify`` against the fake Hub (real client, real CLI)."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
import tomllib

# the real huggingface_hub client and guard CLI subprocesses against the fake Hub server
pytestmark = [pytest.mark.slow, pytest.mark.network]

import huggingface_hub  # noqa: E402,F401  (a runtime dependency: a failed import fails)

from guardpolicy.hashing import sha256_file, sha256_files
from guardpolicy.lockfile import Lock, LockedFile, LockedRepo, LockError, dumps_lock, parse_lock, safe_relpath

SHA = "0123456789abcdef0123456789abcdef01234567"
WEIGHTS = os.urandom(3000)
FILES = {"config.json": b'{"model_type": "bert"}', "model.safetensors": WEIGHTS, "sub/tok.txt": b"a b c"}


@pytest.fixture
def hub(fakehub):
    fakehub.add_repo("acme/tiny", FILES, tags=("v1",), security={"scansDone": True, "filesWithIssues": []})
    fakehub.add_repo("acme/data", {"train.csv": b"x,y\n"}, repo_type="dataset")
    return fakehub


@pytest.fixture
def env(hub, tmp_path):
    """HF_ENDPOINT at the fake Hub, and a guard.toml in tmp_path (the cwd of the CLI) allowing it."""
    (tmp_path / "guard.toml").write_text(
        f'extends = ["default"]\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n')
    e = dict(os.environ, HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hfhome"), HF_HUB_DISABLE_TELEMETRY="1")
    e.pop("GUARD_POLICY", None)
    return e


@pytest.fixture
def policy(hub, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text(f'extends = ["default"]\n[sources]\nhub_endpoints = ["{hub.url}"]\nallow_http = true\n')
    return p


def test_lock_writes_commit_and_sha256(guard, hub, env, tmp_path):
    sha = hub._repos[("model", "acme/tiny")].branches["main"]
    r = guard("lock", "hf:acme/tiny@v1", "hf:datasets/acme/data", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    data = tomllib.loads((tmp_path / "guard.lock").read_text())
    assert data["version"] == 1
    (model,) = [x for x in data["repo"] if x["kind"] == "model"]
    assert (model["id"], model["revision"], model["commit"], model["endpoint"]) == ("acme/tiny", "v1", sha, hub.url)
    files = {f["path"]: f for f in model["files"]}
    assert set(files) == set(FILES)
    for path, content in FILES.items():
        assert files[path]["sha256"] == hashlib.sha256(content).hexdigest() and files[path]["size"] == len(content)
    assert files["model.safetensors"]["sha256_from"] == "lfs" and files["config.json"]["sha256_from"] == "download"
    (ds,) = [x for x in data["repo"] if x["kind"] == "dataset"]
    assert ds["id"] == "acme/data" and "revision" not in ds
    # LFS files were not downloaded: their sha256 is the Hub's LFS oid
    assert not any("model.safetensors" in p for m, p in hub.requests if m == "GET")


def test_lock_merges_and_relocks_moved_branch(guard, hub, env, tmp_path):
    assert guard("lock", "hf:acme/tiny@main", "hf:datasets/acme/data", cwd=tmp_path, env=env).returncode == 0
    new = hub.commit("acme/tiny", {"config.json": b"{}"}, replace=False)
    r = guard("lock", "guard.lock", cwd=tmp_path, env=env)  # re-lock what was requested
    assert r.returncode == 0, r.stderr
    data = tomllib.loads((tmp_path / "guard.lock").read_text())
    assert len(data["repo"]) == 2
    assert [x["commit"] for x in data["repo"] if x["id"] == "acme/tiny"] == [new]


def test_lock_errors_are_one_line(guard, hub, env, tmp_path):
    r = guard("lock", "hf:acme/nope@main", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "acme/nope" in r.stderr and "Traceback" not in r.stderr
    r = guard("lock", "hf:acme/tiny@no-such-branch", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = guard("lock", "requirements.txt", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "not a Hub reference" in r.stderr
    assert not (tmp_path / "guard.lock").exists()


def test_lock_refuses_disallowed_endpoint_without_requests(guard, hub, env, tmp_path):
    r = guard("lock", "hf:acme/tiny@v1", "--policy", "default", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "not allowed by the policy" in r.stderr and hub.requests == []


def test_lock_include(guard, hub, env, tmp_path):
    assert guard("lock", "hf:acme/tiny@v1", "--include", "*.json", cwd=tmp_path, env=env).returncode == 0
    data = tomllib.loads((tmp_path / "guard.lock").read_text())
    assert [f["path"] for f in data["repo"][0]["files"]] == ["config.json"]


def test_check_lock_is_pinned_and_rechecked(guard, hub, env, policy, tmp_path):
    assert guard("lock", "hf:acme/tiny@v1", cwd=tmp_path, env=env).returncode == 0
    r = guard("check", "guard.lock", "--policy", policy, "-f", "json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["findings"] == []
    hub.set_security("acme/tiny", {"scansDone": True, "filesWithIssues": [{"path": "model.safetensors", "level": "unsafe"}]})
    r = guard("check", "guard.lock", "--policy", policy, "--online", "-f", "json", cwd=tmp_path, env=env)
    assert r.returncode == 1
    (f,) = json.loads(r.stdout)["findings"]
    assert f["rule"] == "hub-scan" and f["location"]["file"] == "guard.lock" and f["location"]["line"]
    r = guard("check", "guard.lock", "--policy", "default", cwd=tmp_path, env=env)
    assert r.returncode == 1 and "[source]" in r.stdout  # the lock records the (fake) endpoint


def test_check_lock_under_another_name_is_read_as_a_lock(guard, hub, env, policy, tmp_path):
    # `guard check ci/models.lock`: a guard lock is told by content, not only by the name guard.lock
    assert guard("lock", "hf:acme/tiny@v1", cwd=tmp_path, env=env).returncode == 0
    for name in ("models.lock", "hub-lock.toml"):
        (tmp_path / name).write_text((tmp_path / "guard.lock").read_text())
        r = guard("check", name, "--policy", policy, "-f", "json", cwd=tmp_path, env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert json.loads(r.stdout)["findings"] == []
    # a uv.lock under another name is still a uv lock, not a guard lock
    from guardpolicy.sources.hub import is_lock_file

    (tmp_path / "other.lock").write_text('version = 1\n\n[[package]]\nname = "x"\nversion = "1"\n')
    assert not is_lock_file(tmp_path / "other.lock")
    assert is_lock_file(tmp_path / "models.lock")


def download(hub, tmp_path, rev="v1"):
    from huggingface_hub import snapshot_download

    return snapshot_download("acme/tiny", revision=rev, endpoint=hub.url, cache_dir=tmp_path / "cache")


def test_verify_clean_tampered_missing_unexpected(guard, hub, env, policy, tmp_path):
    assert guard("lock", "hf:acme/tiny@v1", cwd=tmp_path, env=env).returncode == 0
    snap = download(hub, tmp_path)
    r = guard("verify", snap, "--lock", "guard.lock", "--policy", policy, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # tamper: the snapshot file is a symlink into blobs/; replace it with other bytes
    target = os.path.join(snap, "model.safetensors")
    os.unlink(target)
    with open(target, "wb") as fh:
        fh.write(b"X" + WEIGHTS[1:])
    os.unlink(os.path.join(snap, "sub", "tok.txt"))
    with open(os.path.join(snap, "extra.pkl"), "wb") as fh:
        fh.write(b"\x80\x04N.")
    r = guard("verify", snap, "--lock", "guard.lock", "--policy", policy, "-f", "json", cwd=tmp_path, env=env)
    assert r.returncode == 1
    everything = json.loads(r.stdout)["findings"]
    # the tampered weights no longer parse as safetensors: also "unrecognised binary content" (a warning)
    assert all(f["rule"] == "digest" or (f["rule"] == "format" and f["action"] == "warn") for f in everything)
    found = [f for f in everything if f["rule"] == "digest"]
    by = {os.path.relpath(f["subject"], snap): f for f in found}
    assert set(by) == {"model.safetensors", os.path.join("sub", "tok.txt"), "extra.pkl"}
    assert by["model.safetensors"]["details"]["expected_sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert "missing" in by[os.path.join("sub", "tok.txt")]["message"]
    assert "unexpected" in by["extra.pkl"]["message"]
    r = guard("verify", snap, "--lock", "guard.lock", "--partial", "--policy", policy, "-f", "json", cwd=tmp_path, env=env)
    assert {os.path.basename(f["subject"]) for f in json.loads(r.stdout)["findings"]} == {"model.safetensors", "extra.pkl"}


def test_verify_unexpected_file_with_a_name_that_is_not_utf8(hub, env, policy, tmp_path):
    import subprocess
    import sys

    assert subprocess.run([sys.executable, "-m", "guardpolicy", "lock", "hf:acme/tiny@v1"], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120).returncode == 0
    snap = download(hub, tmp_path)
    with open(os.path.join(os.fsencode(snap), b"x\xff.bin"), "wb") as fh:
        fh.write(b"1")
    for fmt in ("text", "json"):
        r = subprocess.run([sys.executable, "-m", "guardpolicy", "verify", snap, "--lock", "guard.lock", "--policy",
                            str(policy), "-f", fmt], cwd=tmp_path, env=env, capture_output=True, timeout=120)
        out, err = r.stdout.decode("utf-8"), r.stderr.decode("utf-8")  # valid UTF-8 whatever the names
        assert r.returncode == 1 and "Traceback" not in err and "observer failed" not in err, out + err
        assert "x\\xff.bin" in out.replace("\\\\", "\\"), out


def test_verify_size_change_single_file_and_snapshot_commit(guard, hub, env, policy, tmp_path):
    assert guard("lock", "hf:acme/tiny@v1", cwd=tmp_path, env=env).returncode == 0
    d = tmp_path / "local"
    d.mkdir()
    (d / "config.json").write_bytes(FILES["config.json"] + b" ")
    r = guard("verify", d / "config.json", "--lock", "guard.lock", "--policy", policy, cwd=tmp_path, env=env)
    assert r.returncode == 1 and "size" in r.stdout
    (d / "config.json").write_bytes(FILES["config.json"])
    r = guard("verify", d / "config.json", "--lock", "guard.lock", "--policy", policy, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout
    # a snapshot of another commit than the locked one
    hub.commit("acme/tiny", {"config.json": b"{}"}, replace=False)
    snap = download(hub, tmp_path, rev="main")
    r = guard("verify", snap, "--lock", "guard.lock", "--policy", policy, cwd=tmp_path, env=env)
    assert r.returncode == 1 and "pins acme/tiny" in r.stdout


def test_verify_usage_errors(guard, hub, env, tmp_path):
    r = guard("verify", tmp_path, "--lock", "missing.lock", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "missing.lock" in r.stderr
    (tmp_path / "bad.lock").write_text('version = 1\n[[repo]]\nid = "a/b"\ncommit = "main"\n')
    r = guard("verify", tmp_path, "--lock", "bad.lock", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "bad.lock:2:" in r.stderr and "40-hex" in r.stderr
    lock = Lock((LockedRepo("a/b", "model", SHA), LockedRepo("c/d", "model", SHA[::-1])))
    (tmp_path / "two.lock").write_text(dumps_lock(lock))
    (tmp_path / "empty").mkdir()
    r = guard("verify", tmp_path / "empty", "--lock", "two.lock", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "--repo" in r.stderr
    r = guard("verify", tmp_path / "empty", "--lock", "two.lock", "--repo", "x/y", cwd=tmp_path, env=env)
    assert r.returncode == 2 and "not in the lock" in r.stderr


# -- lock file format (pure) -------------------------------------------------------------------

def test_lock_roundtrip():
    lock = Lock((LockedRepo("acme/tiny", "model", SHA, "https://huggingface.co", "main",
                            (LockedFile("b.bin", 3, "a" * 64, "lfs"), LockedFile("a.json", 2, "b" * 64, "download"))),))
    text = dumps_lock(lock)
    back = parse_lock(text, "guard.lock")
    assert [f.path for f in back.repos[0].files] == ["a.json", "b.bin"]
    assert back.repos[0].line == text.splitlines().index("[[repo]]") + 1
    ref = back.repos[0].to_model_ref("guard.lock")
    assert ref.revision == SHA and ref.files == ("a.json", "b.bin") and ref.extra["requested_revision"] == "main"


@pytest.mark.parametrize("body, why", [
    ("version = 2\n", "unsupported lock version"),
    ("version = 1\nfoo = 1\n", "unknown top-level"),
    ("[[repo]]\nid = 'bad id'\ncommit = '" + SHA + "'\n", "not a valid Hub"),
    ("[[repo]]\nid = 'a/b'\nkind = 'thing'\ncommit = '" + SHA + "'\n", "kind must be"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA.upper() + "'\n", "40-hex"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA + "'\nextra = 1\n", "unknown key"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA + "'\n[[repo.files]]\npath = '../x'\nsize = 1\nsha256 = '" + "a" * 64 + "'\n", "relative"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA + "'\n[[repo.files]]\npath = 'x'\nsize = -1\nsha256 = '" + "a" * 64 + "'\n", "size"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA + "'\n[[repo.files]]\npath = 'x'\nsize = 1\nsha256 = 'abc'\n", "sha256"),
    ("[[repo]]\nid = 'a/b'\ncommit = '" + SHA + "'\n[[repo.files]]\npath = 'x'\nsize = 1\nsha256 = '" + "a" * 64
     + "'\n[[repo.files]]\npath = 'x'\nsize = 1\nsha256 = '" + "a" * 64 + "'\n", "twice"),
    ("[[repo]\n", "not valid TOML"),
])
def test_lock_parse_errors(body, why):
    with pytest.raises(LockError, match=why) as info:
        parse_lock(body, "guard.lock")
    assert str(info.value).startswith("guard.lock")


@pytest.mark.parametrize("path, ok", [("a", True), ("a/b.bin", True), ("../a", False), ("/etc/passwd", False),
                                      ("a/../../b", False), ("", False), ("a//b", True), ("C:/x", False),
                                      ("a\\b", False), ("./a", True)])
def test_safe_relpath(path, ok):
    # PurePosixPath collapses "a//b" and "./a" to safe forms; ".." anywhere is refused
    assert safe_relpath(path) is ok


def test_hashing_matches_hashlib(tmp_path):
    blobs = {"empty": b"", "small": b"abc", "big": os.urandom((1 << 20) * 3 + 17)}
    for name, data in blobs.items():
        (tmp_path / name).write_bytes(data)
        assert sha256_file(tmp_path / name) == hashlib.sha256(data).hexdigest()
        assert sha256_file(tmp_path / name, buffer_size=7) == hashlib.sha256(data).hexdigest()
    got = sha256_files([tmp_path / n for n in blobs] + [tmp_path / "absent"], jobs=3)
    assert got[str(tmp_path / "big")] == hashlib.sha256(blobs["big"]).hexdigest()
    assert isinstance(got[str(tmp_path / "absent")], OSError)


@pytest.mark.parametrize("extra_info, why", [
    ({"siblings": 5}, "cannot read"),          # the client itself chokes on the answer
    ({"sha": 12}, "no valid commit id"),       # a commit id that is not 40 hex digits
    ({"sha": "../../etc"}, "no valid commit id"),
])
def test_a_hub_answer_guard_cannot_read_is_one_line_not_a_traceback(guard, fakehub, tmp_path, extra_info, why):
    # a broken mirror or proxy in front of the Hub: guard lock and guard check --online say so in one line
    fakehub.add_repo("acme/odd", {"config.json": b"{}"}, extra_info=extra_info)
    (tmp_path / "guard.toml").write_text(
        f'extends = ["default"]\n[sources]\nhub_endpoints = ["{fakehub.url}"]\nallow_http = true\n')
    e = dict(os.environ, HF_ENDPOINT=fakehub.url, HF_HOME=str(tmp_path / "hfhome"), HF_HUB_DISABLE_TELEMETRY="1")
    e.pop("GUARD_POLICY", None)
    r = guard("lock", "hf:acme/odd@main", cwd=tmp_path, env=e)
    assert r.returncode == 2 and "Traceback" not in r.stderr and why in r.stderr, r.stderr
    assert not (tmp_path / "guard.lock").exists()
    r = guard("check", "--online", "hf:acme/odd@main", cwd=tmp_path, env=e)
    assert "Traceback" not in r.stderr and why in r.stdout, r.stdout + r.stderr


def test_write_lock_refuses_what_it_could_not_read_back(tmp_path):
    # whatever a Hub (or a mirror) listed, guard.lock is only written when guard can read it back
    bad = Lock(repos=(LockedRepo("acme/x", "model", "a" * 40, None, "main",
                                 (LockedFile("../../etc/cron.d/x", 1, "b" * 64, "lfs"),)),))
    out = tmp_path / "guard.lock"
    with pytest.raises(LockError, match="must be relative"):
        from guardpolicy.lockfile import write_lock

        write_lock(out, bad)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_lock_of_a_repo_listing_a_hostile_path_is_one_line(guard, fakehub, tmp_path):
    fakehub.add_repo("acme/odd", {"config.json": b"{}", "../escape.txt": b"x"})
    (tmp_path / "guard.toml").write_text(
        f'extends = ["default"]\n[sources]\nhub_endpoints = ["{fakehub.url}"]\nallow_http = true\n')
    e = dict(os.environ, HF_ENDPOINT=fakehub.url, HF_HOME=str(tmp_path / "hfhome"), HF_HUB_DISABLE_TELEMETRY="1")
    e.pop("GUARD_POLICY", None)
    r = guard("lock", "hf:acme/odd@main", cwd=tmp_path, env=e)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert "escape.txt" in r.stderr and not (tmp_path / "guard.lock").exists()
