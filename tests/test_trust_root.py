"""The organization's policy cannot be escaped: the floor (system and user policy) stays beneath
every project policy, environment variable and command-line override, which may tighten it only.

Each test is an attack from issue 13 on real files: a cloned repository's guard.toml, a policy
planted in a shared parent folder by another uid, a vendored subfolder's [tool.guard],
GUARD_POLICY / GUARD_MODE / GUARD_CONFIG_DIR, and locks that leaked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import run_guard

from guardpolicy.errors import PolicyError
from guardpolicy.policy import load_policy
from guardpolicy.policy.trust import SYSTEM_DIR, floor_dirs, untrusted_reason

ORG = 'extends = ["default"]\ndeny = ["evilpkg"]\n'
LAX = 'extends = []\nmode = "off"\n'


@pytest.fixture
def org(tmp_path, monkeypatch):
    """A user policy (the floor) that denies evilpkg, and a cloned repository below tmp_path."""
    conf = tmp_path / "userconf"
    conf.mkdir()
    (conf / "guard.toml").write_text(ORG, encoding="utf-8")
    monkeypatch.setenv("GUARD_CONFIG_DIR", str(conf))
    repo = tmp_path / "work" / "repo"
    (repo / ".git").mkdir(parents=True)
    return repo


def check(repo, *args, env=None):
    proc = run_guard("check", "pypi:evilpkg==1.0", "--format", "json", *args, cwd=repo, env=env)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def test_without_a_project_policy_the_floor_denies(org):
    proc = check(org)
    assert proc.returncode == 1 and "evilpkg" in proc.stdout


@pytest.mark.parametrize("name, text", [("guard.toml", LAX), ("pyproject.toml", '[tool.guard]\nextends = []\nmode = "off"\n')])
def test_a_cloned_repositorys_policy_cannot_replace_the_floor(org, name, text):
    (org / name).write_text(text, encoding="utf-8")
    proc = check(org)
    # the loosening layer is left out, named; the floor applies and the org's evilpkg stays denied
    assert proc.returncode == 1 and "evilpkg" in proc.stdout, proc.stdout + proc.stderr
    assert f"ignoring policy {org / name}" in proc.stderr and "the floor" in proc.stderr and "mode lowers" in proc.stderr
    assert f"project policy {org / name} layered on user policy" in proc.stderr


def test_a_project_policy_may_tighten_the_floor(org):
    (org / "guard.toml").write_text('deny = ["otherpkg"]\n[rules.unpinned]\naction = "deny"\n', encoding="utf-8")
    proc = run_guard("check", "pypi:evilpkg==1.0", "pypi:otherpkg==1.0", "pypi:requests", "--format", "json", cwd=org)
    assert proc.returncode == 1, proc.stderr
    denied = {(f["rule"], f["subject"]) for f in json.loads(proc.stdout)["findings"] if f["action"] == "deny"}
    assert {("denylist", "evilpkg==1.0"), ("denylist", "otherpkg==1.0"), ("unpinned", "requests")} <= denied


def test_project_waivers_and_allow_entries_need_the_floors_permission(org, tmp_path):
    (org / "guard.toml").write_text('allow = ["reqeusts"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=org)
    assert proc.returncode == 1 and "ignoring policy" in proc.stderr and "allow adds 'reqeusts'" in proc.stderr
    conf = tmp_path / "userconf" / "guard.toml"
    conf.write_text(ORG + 'allowed_waivers = ["typosquat:reqeusts", "malicious:reqeusts"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=org)
    assert proc.returncode == 0, proc.stderr


def test_guard_policy_and_the_command_line_are_layered_on_the_floor(org, tmp_path):
    lax = tmp_path / "lax.toml"
    lax.write_text(LAX, encoding="utf-8")
    env = {**os.environ, "GUARD_POLICY": str(lax)}
    proc = check(org, env=env)
    assert proc.returncode == 1 and f"ignoring policy {lax}" in proc.stderr
    assert check(org, "--policy", str(lax)).returncode == 1
    proc = check(org, "--policy", "research")                        # a looser shipped policy: left out too
    assert proc.returncode == 1 and "ignoring policy" in proc.stderr and "research.toml" in proc.stderr
    # naming a shipped policy the floor already extends changes nothing
    assert check(org, env={**os.environ, "GUARD_POLICY": "default"}).returncode == 1
    assert check(org, "--policy", "strict").returncode == 1          # tightening is fine


def test_guard_mode_cannot_switch_the_floor_off(org):
    proc = check(org, env={**os.environ, "GUARD_MODE": "off"})
    assert proc.returncode == 1 and "evilpkg" in proc.stdout
    proc = check(org, "--mode", "warn")
    assert proc.returncode == 1 and "--mode warn ignored" in proc.stderr


def test_a_floor_that_allows_the_mode_override_allows_it(org, tmp_path):
    (tmp_path / "userconf" / "guard.toml").write_text(ORG + "allow_mode_override = true\n", encoding="utf-8")
    assert check(org, env={**os.environ, "GUARD_MODE": "warn"}).returncode == 0


def test_the_upward_search_stops_at_the_repository_root(tmp_path, monkeypatch):
    monkeypatch.delenv("GUARD_POLICY", raising=False)
    (tmp_path / "guard.toml").write_text(LAX, encoding="utf-8")      # above the clone: not its policy
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "requirements.txt").write_text("reqeusts==1.0\n", encoding="utf-8")
    proc = run_guard("check", "requirements.txt", cwd=repo)
    assert proc.returncode == 1, proc.stdout + proc.stderr          # default policy, not mode off


def test_a_vendored_subfolder_cannot_loosen_the_projects_policy(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    vendored = repo / "vendor" / "lib"
    (repo / ".git").mkdir(parents=True)
    vendored.mkdir(parents=True)
    (repo / "guard.toml").write_text(ORG, encoding="utf-8")
    (vendored / "pyproject.toml").write_text('[tool.guard]\nmode = "off"\n', encoding="utf-8")
    proc = check(vendored)
    assert proc.returncode == 1 and f"ignoring policy {vendored / 'pyproject.toml'}" in proc.stderr
    (vendored / "pyproject.toml").write_text('[tool.guard]\ndeny = ["vendoredbad"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:evilpkg==1.0", "pypi:vendoredbad==1.0", "--format", "json", cwd=vendored)
    assert {f["subject"] for f in json.loads(proc.stdout)["findings"]} >= {"evilpkg==1.0", "vendoredbad==1.0"}


def test_a_world_writable_project_policy_is_ignored(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    policy = repo / "guard.toml"
    policy.write_text(LAX, encoding="utf-8")
    policy.chmod(0o666)
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=repo)         # mode off would allow it
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"ignoring project policy {policy}: writable by others" in proc.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file to another uid")
def test_a_policy_planted_by_another_user_in_a_shared_parent_is_ignored(tmp_path):
    shared = tmp_path / "srv-builds"                                  # like /tmp or /srv/builds
    project = shared / "alice" / "project"
    project.mkdir(parents=True)
    planted = shared / "guard.toml"
    planted.write_text(LAX, encoding="utf-8")
    os.chown(planted, 65534, 65534)                                   # nobody's file
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=project)      # mode off would allow it
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"ignoring project policy {planted}: owned by uid 65534" in proc.stderr
    # the same for a floor file someone else owns
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "guard.toml").write_text(LAX, encoding="utf-8")
    os.chown(conf / "guard.toml", 65534, 65534)
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=project, env={**os.environ, "GUARD_CONFIG_DIR": str(conf)})
    assert "ignoring user policy" in proc.stderr and proc.returncode == 1


def test_environment_variables_can_add_floor_folders_but_not_remove_them(tmp_path):
    env = {"GUARD_SYSTEM_CONFIG_DIR": str(tmp_path / "empty"), "GUARD_CONFIG_DIR": str(tmp_path / "empty2"),
           "XDG_CONFIG_HOME": str(tmp_path / "empty3")}
    folders = [str(f) for f, _ in floor_dirs(env)]
    assert str(SYSTEM_DIR) in folders and str(tmp_path / "empty") in folders
    import pwd

    home = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".config" / "guard"
    assert str(home) in folders and str(tmp_path / "empty2") in folders


def test_untrusted_reason(tmp_path):
    mine = tmp_path / "f.toml"
    mine.write_text("", encoding="utf-8")
    mine.chmod(0o644)
    assert untrusted_reason(mine) is None
    mine.chmod(0o664)
    assert "writable by others" in untrusted_reason(mine)


# ---- locks without gaps -----------------------------------------------------------------------

def _layers(tmp_path, org_text, project_text):
    (tmp_path / "org.toml").write_text(org_text, encoding="utf-8")
    proj = tmp_path / "proj.toml"
    proj.write_text('extends = ["org.toml"]\n' + project_text, encoding="utf-8")
    return proj


@pytest.mark.parametrize("project_text, why", [
    ('[rules.denylist]\naction = "off"\n', "rule denylist action lowers"),     # locking the list locks its rule
    ('mode = "off"\n', "mode lowers"),                                       # a locked rule puts a floor under mode
    ('mode = "warn"\n', "mode lowers"),
])
def test_locks_have_no_gaps(tmp_path, project_text, why):
    proj = _layers(tmp_path, 'extends = ["default"]\nlocked = ["deny", "typosquat"]\ndeny = ["evilpkg"]\n', project_text)
    with pytest.raises(PolicyError) as exc:
        load_policy(str(proj), env={}, floor=False)
    assert why in exc.value.message and str(proj) in exc.value.file


def test_a_locked_rule_ignores_guard_mode_off(tmp_path):
    proj = _layers(tmp_path, 'extends = ["default"]\nlocked = ["typosquat"]\n', "")
    policy = load_policy(str(proj), env={"GUARD_MODE": "off"}, floor=False)
    assert policy.mode == "enforce" and "GUARD_MODE=off ignored" in policy.mode_source


def test_moving_the_system_config_dir_does_not_drop_the_administrators_keys(tmp_path):
    from guardpolicy.policy.bundles import key_files

    files = [str(p) for p in key_files({"GUARD_SYSTEM_CONFIG_DIR": str(tmp_path / "empty")})]
    assert str(SYSTEM_DIR / "trusted_keys") in files and str(tmp_path / "empty" / "trusted_keys") in files


# ---- bounds -----------------------------------------------------------------------------------

def test_a_diamond_of_extends_is_walked_once_per_file(tmp_path):
    import time

    n = 22
    for i in range(n):
        parents = [f'"l{j}.toml"' for j in (i + 1, i + 2) if j < n] or ['"default"']
        (tmp_path / f"l{i}.toml").write_text(f"extends = [{', '.join(parents)}]\n", encoding="utf-8")
    started = time.monotonic()
    policy = load_policy(str(tmp_path / "l0.toml"), env={}, floor=False)
    # (not a timing assertion: before memoising this took 18 s; 2**20 walks would never finish here)
    assert len([layer for layer in policy.layers if layer.path and Path(layer.path).parent == tmp_path]) == n
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("length, why", [(200, "nested more than"), (1000, "nested more than")])
def test_long_extends_chains_fail_with_one_line(tmp_path, length, why):
    for i in range(length):
        (tmp_path / f"c{i}.toml").write_text(f'extends = ["c{i + 1}.toml"]\n' if i < length - 1 else "", encoding="utf-8")
    proc = run_guard("check", "pypi:requests==2.0", "--policy", tmp_path / "c0.toml", cwd=tmp_path)
    assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_too_many_files_and_a_too_long_name_are_clear_errors(tmp_path):
    names = [f"w{i}.toml" for i in range(80)]
    for name in names:
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "top.toml").write_text("extends = [" + ", ".join(f'"{n}"' for n in names) + "]\n", encoding="utf-8")
    with pytest.raises(PolicyError) as exc:
        load_policy(str(tmp_path / "top.toml"), env={}, floor=False)
    assert "more than 64 files" in exc.value.message
    (tmp_path / "long.toml").write_text('extends = ["' + "a" * 5000 + '.toml"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:requests==2.0", "--policy", tmp_path / "long.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "5005 characters" in proc.stderr and "internal error" not in proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "devzero", "grown"])
def test_verify_hashes_only_regular_files_and_at_most_the_locked_size(tmp_path, kind):
    import hashlib

    empty = hashlib.sha256(b"").hexdigest()
    lock = tmp_path / "guard.lock"
    lock.write_text('version = 1\n\n[[repo]]\nid = "acme/tiny"\nkind = "model"\nendpoint = "https://huggingface.co"\n'
                    f'revision = "main"\ncommit = "{"a" * 40}"\n\n[[repo.files]]\npath = "empty.txt"\nsize = 0\n'
                    f'sha256 = "{empty}"\nsha256_from = "download"\n', encoding="utf-8")
    snap = tmp_path / "snap"
    snap.mkdir()
    target = snap / "empty.txt"
    if kind == "fifo":
        os.mkfifo(target)                         # opening it for reading would block forever
    elif kind == "devzero":
        target.symlink_to("/dev/zero")            # reading it never ends
    else:
        target.write_bytes(b"")
    proc = run_guard("verify", snap, "--lock", lock, "--format", "json", cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    if kind == "grown":
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (f,) = json.loads(proc.stdout)["findings"]
    assert f["rule"] == "digest" and "not a regular file" in f["message"]


def test_sha256_file_reads_at_most_max_bytes(tmp_path):
    import hashlib

    from guardpolicy.hashing import sha256_file

    p = tmp_path / "f"
    p.write_bytes(b"x" * 1000)
    assert sha256_file(p, max_bytes=10) == hashlib.sha256(b"x" * 10).hexdigest()
    assert sha256_file(p) == hashlib.sha256(b"x" * 1000).hexdigest()
    with pytest.raises(OSError, match="not a regular file"):
        sha256_file("/dev/zero")              # a device never ends: refused before the first read


# ---- caches: the user's alone, rows authenticated ---------------------------------------------

def test_cache_files_are_private_and_rows_are_authenticated(tmp_path):
    import sqlite3
    import stat as st_

    from guardpolicy.model import PackageRef
    from guardpolicy.runtime.cache import DecisionCache

    folder = tmp_path / "cache"
    c = DecisionCache(folder / "decisions.sqlite3")
    assert c.store_allowed([PackageRef("goodpkg", version="1.0")], "pol") == 1
    assert st_.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert st_.S_IMODE(os.stat(folder / "decisions.sqlite3").st_mode) == 0o600
    assert st_.S_IMODE(os.stat(folder / "cache.key").st_mode) == 0o600
    c.close()
    # another process writes a row for a package it wants through: the key fields are public facts
    from guardpolicy.runtime.cache import subject_key

    evil = PackageRef("evilpkg", version="1.0")
    with sqlite3.connect(folder / "decisions.sqlite3") as db:
        db.execute("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?)",
                   (*subject_key(evil), "pol", "allow", 1e9))
        db.execute("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?)",
                   (*subject_key(PackageRef("evil2", version="1.0")), "pol", "allow:" + "0" * 64, 1e9))
    fresh = DecisionCache(folder / "decisions.sqlite3")
    assert fresh.is_allowed(PackageRef("goodpkg", version="1.0"), "pol")
    assert not fresh.is_allowed(evil, "pol")
    assert not fresh.is_allowed(PackageRef("evil2", version="1.0"), "pol")
    fresh.close()
    # a row copied from another user's cache (another key) does not verify either
    other = DecisionCache(tmp_path / "other" / "decisions.sqlite3")
    other.store_allowed([PackageRef("copied", version="1.0")], "pol")
    other.close()
    with sqlite3.connect(tmp_path / "other" / "decisions.sqlite3") as src, \
            sqlite3.connect(folder / "decisions.sqlite3") as dst:
        dst.executemany("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?)", src.execute("SELECT * FROM decisions"))
    assert not DecisionCache(folder / "decisions.sqlite3").is_allowed(PackageRef("copied", version="1.0"), "pol")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give files to another uid")
def test_a_cache_another_user_created_is_never_trusted(tmp_path, capsys):
    from guardpolicy.model import PackageRef
    from guardpolicy.runtime.cache import DecisionCache

    shared = tmp_path / "shared-cache"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    c = DecisionCache(shared / "decisions.sqlite3")
    assert c.store_allowed([PackageRef("x", version="1")], "pol") == 0    # a folder others may write: off
    assert "decision cache off" in capsys.readouterr().err
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    db = mine / "decisions.sqlite3"
    db.write_bytes(b"")
    os.chown(db, 65534, 65534)
    db.chmod(0o666)
    c = DecisionCache(db)
    assert not c.is_allowed(PackageRef("x", version="1"), "pol") and c.errors == 1
    link = tmp_path / "linked"
    link.mkdir(mode=0o700)
    (link / "decisions.sqlite3").symlink_to(tmp_path / "elsewhere.sqlite3")
    assert DecisionCache(link / "decisions.sqlite3").store_allowed([PackageRef("x", version="1")], "pol") == 0
    assert not (tmp_path / "elsewhere.sqlite3").exists()


# ---- the audit log: no symlinks, no torn records -----------------------------------------------

def test_a_symlink_planted_at_the_log_path_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    log = tmp_path / "shared" / "decisions.jsonl"
    log.parent.mkdir()
    log.symlink_to(victim)
    policy = tmp_path / "guard.toml"
    policy.write_text(f'[log]\npath = "{log}"\n', encoding="utf-8")
    proc = run_guard("check", "pypi:requests==2.32.3", "--policy", policy, cwd=tmp_path)
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert "Traceback" not in proc.stderr and str(log) in proc.stderr, proc.stderr


def test_a_full_disk_leaves_no_torn_record(tmp_path):
    import subprocess
    import sys

    log = tmp_path / "decisions.jsonl"
    log.write_bytes(b'{"seq": 1}\n')
    code = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # a write past the limit fails with EFBIG, like ENOSPC
resource.setrlimit(resource.RLIMIT_FSIZE, (40, 40))
from pathlib import Path
from guardpolicy.audit.log import append_bytes
try:
    append_bytes(Path({str(log)!r}), b'{{"a record": "' + b"x" * 100 + b'"}}\\n')
except OSError as exc:
    print("refused", exc.errno)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "refused" in proc.stdout, proc.stdout + proc.stderr
    assert log.read_bytes() == b'{"seq": 1}\n'                 # the torn tail was cut


# ---- remote fetches have a deadline; cached metadata is checked before use -------------------------

@pytest.fixture
def trickle_server():
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802 (http.server API)
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):              # one byte every half second: never a read timeout
                    self.wfile.write(b"#")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow  # waits out the (shortened) deadline
def test_a_trickling_bundle_server_is_abandoned_at_the_deadline(tmp_path, trickle_server):
    import time

    proj = tmp_path / "guard.toml"
    proj.write_text(f'extends = ["{trickle_server}/org.toml"]\n', encoding="utf-8")
    started = time.monotonic()
    proc = run_guard("check", "pypi:requests==2.0", "--policy", proj, cwd=tmp_path,
                     env={**os.environ, "GUARD_BUNDLE_DEADLINE": "2"})
    took = time.monotonic() - started
    assert proc.returncode == 2 and "gave up after 2s" in proc.stderr, proc.stderr
    assert took < 30  # (not a timing test: without the deadline this never returns)


@pytest.mark.parametrize("field, value", [("expires", "soon"), ("confirmed_at", "yesterday"), ("max_age", "7d"),
                                          ("revision", "12")])
def test_cached_bundle_metadata_of_the_wrong_type_is_ignored_not_a_crash(tmp_path, field, value):
    import hashlib

    from guardpolicy.policy.bundles import cache_root

    url = "https://bundles.example/org.toml"
    env = {**os.environ, "GUARD_OFFLINE": "1", "GUARD_CACHE_DIR": str(tmp_path / "cache")}
    folder = cache_root(env) / hashlib.sha256(url.encode()).hexdigest()[:24]
    folder.mkdir(parents=True)
    body = b'deny = ["evilpkg"]\n'
    (folder / "bundle-x.toml").write_bytes(body)
    meta = {"url": url, "file": "bundle-x.toml", "sha256": hashlib.sha256(body).hexdigest(), "revision": 1,
            "confirmed_at": 1e12, "max_age": 604800, "expires": None, field: value}
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    proj = tmp_path / "guard.toml"
    proj.write_text(f'extends = ["{url}"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:evilpkg==1.0", "--policy", proj, cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert f"its meta.json has {field}" in proc.stderr and "not cached" in proc.stderr, proc.stderr


def test_guard_log_survives_records_of_the_wrong_types_and_escapes_control_characters(tmp_path):
    log = tmp_path / "decisions.jsonl"
    log.write_text(json.dumps({"time": "2026-12-01T00:00:00Z", "decision": "deny", "subject": "x\x1b[31mRED\nALLOW",
                               "findings": "oops", "waivers_applied": 5, "rule": ["a"]}) + "\n" +
                   json.dumps({"time": 7, "decision": "allow", "subject": {"a": 1},
                               "findings": [{"rule": 3, "message": None}]}) + "\n", encoding="utf-8")
    for extra in ((), ("--rule", "a"), ("--subject", "x*"), ("--since", "2020-01-01"), ("--json",)):
        proc = run_guard("log", "--path", log, *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
        if "--json" not in extra:
            assert "\x1b" not in proc.stdout and "ALLOW" not in proc.stdout.replace("\\nALLOW", "")
    assert "x\\x1b[31mRED" in run_guard("log", "--path", log, cwd=tmp_path).stdout


def test_the_audit_log_is_a_hash_chain_that_guard_log_verify_checks(tmp_path):
    from guardpolicy.audit.log import append_bytes

    log = tmp_path / "decisions.jsonl"
    for i in range(6):
        append_bytes(log, json.dumps({"subject": f"pkg{i}", "decision": "allow"}).encode() + b"\n", max_size=400)
    assert (tmp_path / "decisions.jsonl.1").exists()                # rotated: the chain crosses files
    ok = run_guard("log", "--path", log, "--verify", cwd=tmp_path)
    assert ok.returncode == 0 and "the chain is intact" in ok.stdout, ok.stdout + ok.stderr
    seqs = [json.loads(line)["seq"] for f in (tmp_path / "decisions.jsonl.1", log) for line in f.read_text().splitlines()]
    assert seqs == list(range(1, 7))
    # an edit in the middle breaks the chain at the next line
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = [lines[0].replace('"allow"', '"deny"')] + lines[1:]
    log.write_text("".join(edited), encoding="utf-8")
    bad = run_guard("log", "--path", log, "--verify", cwd=tmp_path)
    assert bad.returncode == 1 and "BROKEN" in bad.stdout and "prev does not match" in bad.stderr
    # a deleted line breaks it too
    log.write_text("".join(lines[:1] + lines[2:]), encoding="utf-8")
    assert run_guard("log", "--path", log, "--verify", cwd=tmp_path).returncode == 1


def test_policy_show_and_hook_status_list_every_layer_with_owner_and_digest(org):
    import hashlib

    (org / "guard.toml").write_text('deny = ["more"]\n', encoding="utf-8")
    proc = run_guard("policy", "show", "--format", "json", cwd=org)
    layers = json.loads(proc.stdout)["layers"]
    user = next(l for l in layers if l["path"] and l["path"].endswith("userconf/guard.toml"))
    assert user["digest"] == hashlib.sha256(ORG.encode()).hexdigest() and user["owner"]
    assert [l["path"] for l in layers if l["path"]][-1] == str(org / "guard.toml")      # the project on top
    status = run_guard("hook", "status", cwd=org)
    assert "layers:" in status.stdout and str(org / "guard.toml") in status.stdout and "sha256" in status.stdout


def test_the_chain_holds_across_records_longer_than_the_first_tail_read(tmp_path):
    from guardpolicy.audit.log import append_bytes, verify_chain

    log = tmp_path / "decisions.jsonl"
    append_bytes(log, json.dumps({"subject": "big", "pad": "x" * 10_000}).encode() + b"\n")
    append_bytes(log, json.dumps({"subject": "small"}).encode() + b"\n")
    count, problems = verify_chain([log])
    assert count == 2 and problems == []
    assert [json.loads(line)["seq"] for line in log.read_text().splitlines()] == [1, 2]
