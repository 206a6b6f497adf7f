"""The audit trail: records from the CLI and the runtime gate, concurrent writers, and ``guard log``."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_guard

from guardpolicy.audit.log import append_records, records_for
from guardpolicy.audit.query import LogFilter, parse_since, read_records
from guardpolicy.model import Decision, Finding, IndexRef, Location, PackageRef

REQS = "--extra-index-url http://evil.example/simple\nrequests==2.32.3 --hash=sha256:" + "ab" * 32 + "\nnumpy\nflask>=2\n"


def env_for(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ)
    env.pop("GUARD_POLICY", None)
    env.pop("GUARD_MODE", None)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def lines(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "requirements.txt").write_text(REQS)
    (tmp_path / "guard.toml").write_text(textwrap.dedent("""
        revision = 7

        [log]
        path = "audit/decisions.jsonl"

        [[waivers]]
        id = "W-7"
        rule = "unpinned"
        subject = "flask"
        reason = "constrained in CI"
        expires = 2099-01-01
    """))
    return tmp_path


def test_cli_check_appends_one_record_per_subject(project):
    proc = run_guard("check", "requirements.txt", "-f", "json", cwd=project, env=env_for(project))
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    log = project / "audit" / "decisions.jsonl"  # relative to the policy file that set it
    records = lines(log)
    assert [r["name"] for r in records] == ["http://evil.example/simple", "requests", "numpy", "flask"]
    assert len({r["decision_id"] for r in records}) == 1
    by = {r["name"]: r for r in records}
    for r in records:
        assert r["origin"] == "cli" and r["operation"] is None and r["mode"] == "enforce"
        assert r["run_decision"] == "deny"
        assert r["policy"]["digest"] == report["policy_digest"] and r["policy"]["revision"] == 7
        assert r["policy"]["bundle"] is None
        assert r["user"] and r["host"] and r["pid"] and r["tool"]["name"] == "guardpolicy"
        assert dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).tzinfo is not None
    assert by["http://evil.example/simple"]["decision"] == "deny" and by["http://evil.example/simple"]["kind"] == "index"
    assert {f["rule"] for f in by["http://evil.example/simple"]["findings"]} == {"source"}
    req = by["requests"]
    assert (req["decision"], req["version"], req["digest"], req["location"]) == ("allow", "2.32.3", "sha256:" + "ab" * 32, "requirements.txt:2")
    assert by["numpy"]["decision"] == "warn" and [f["rule"] for f in by["numpy"]["findings"]] == ["unpinned"]
    flask = by["flask"]
    assert flask["decision"] == "allow" and flask["findings"] == []
    assert len(flask["waivers_applied"]) == 1 and flask["waivers_applied"][0].startswith("W-7")
    # a second run appends, it never rewrites
    run_guard("check", "requirements.txt", cwd=project, env=env_for(project))
    again = lines(log)
    assert again[:4] == records and len(again) == 8 and again[4]["decision_id"] != records[0]["decision_id"]


def test_unreadable_lines_and_empty_checks_are_logged_too(tmp_path):
    (tmp_path / "guard.toml").write_text(f'[log]\npath = "{tmp_path / "log.jsonl"}"\n')
    (tmp_path / "requirements.txt").write_text("requests>=>2\n")
    (tmp_path / "empty.txt").write_text("# nothing\n")
    env = env_for(tmp_path)
    assert run_guard("check", "requirements.txt", cwd=tmp_path, env=env).returncode == 1
    assert run_guard("check", "empty.txt", cwd=tmp_path, env=env).returncode == 0
    bad, empty = lines(tmp_path / "log.jsonl")
    assert bad["kind"] == "input" and bad["decision"] == "deny" and bad["findings"][0]["rule"] == "invalid"
    assert bad["location"] == "requirements.txt:1"
    assert empty["subject"] is None and empty["decision"] == "allow"


def test_disabled_log_writes_nothing(tmp_path):
    (tmp_path / "guard.toml").write_text(f'[log]\nenabled = false\npath = "{tmp_path / "log.jsonl"}"\n')
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    assert run_guard("check", "requirements.txt", cwd=tmp_path, env=env_for(tmp_path)).returncode == 0
    assert not (tmp_path / "log.jsonl").exists()


def test_default_path_is_the_user_log_dir(tmp_path):
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    assert run_guard("check", "requirements.txt", cwd=tmp_path, env=env_for(tmp_path)).returncode == 0
    (record,) = lines(tmp_path / "state" / "guardpolicy" / "log" / "decisions.jsonl")
    assert record["name"] == "requests" and record["version"] == "2.32.3"


def test_unwritable_configured_log_warns_but_keeps_the_verdict(tmp_path):
    (tmp_path / "blocker").write_text("")
    (tmp_path / "guard.toml").write_text('[log]\npath = "blocker/log.jsonl"\n')
    (tmp_path / "requirements.txt").write_text("numpy\n")
    proc = run_guard("check", "requirements.txt", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 0 and "cannot write audit log" in proc.stderr and "Traceback" not in proc.stderr


RUNTIME = """
import sys
from guardpolicy.errors import PolicyViolation
from guardpolicy.model import IndexRef, PackageRef
from guardpolicy.runtime.gate import enforce
enforce([PackageRef("numpy")], "pip install numpy")
try:
    enforce([IndexRef("http://evil.example/simple", "extra-index-url"), PackageRef("requests", version="2.32.3")],
            "pip install requests")
except PolicyViolation:
    print("blocked")
"""


def test_unwritable_log_warns_once_per_process_and_never_changes_a_runtime_decision(tmp_path):
    (tmp_path / "blocker").write_text("")
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[log]\npath = "{tmp_path / "blocker" / "rt.jsonl"}"\n')
    proc = subprocess.run([sys.executable, "-c", RUNTIME], capture_output=True, text=True, cwd=tmp_path,
                          env=env_for(tmp_path, GUARD_POLICY=str(policy)), timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "blocked", proc.stderr  # two decisions, same verdicts
    assert proc.stderr.count("cannot write audit log") == 1, proc.stderr


def test_runtime_gate_decisions_are_logged(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[log]\npath = "{tmp_path / "rt.jsonl"}"\n')
    proc = subprocess.run([sys.executable, "-c", RUNTIME], capture_output=True, text=True, cwd=tmp_path,
                          env=env_for(tmp_path, GUARD_POLICY=str(policy)), timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "blocked", proc.stderr
    first, index, pkg = lines(tmp_path / "rt.jsonl")
    assert first["origin"] == "runtime" and first["operation"] == "pip install numpy" and first["decision"] == "warn"
    assert index["decision_id"] == pkg["decision_id"] != first["decision_id"]
    assert index["decision"] == "deny" and index["run_decision"] == "deny" and index["operation"] == "pip install requests"
    assert pkg["decision"] == "allow" and pkg["version"] == "2.32.3"


# ---------------------------------------------------------------- concurrency

WRITERS, DECISIONS, PER_DECISION = 6, 20, 3


def _writer(path: str, n: int) -> None:
    decision = Decision("deny", findings=tuple(
        Finding("unpinned", f"pkg{i}", f"writer {n} " + "x" * 6000, action="deny", location=Location("r.txt", i))
        for i in range(PER_DECISION)), checked=tuple(PackageRef(f"pkg{i}", location=Location("r.txt", i)) for i in range(PER_DECISION)))
    for _ in range(DECISIONS):
        append_records(Path(path), records_for(decision))


def test_concurrent_writers_never_tear_or_interleave(tmp_path):
    path = tmp_path / "concurrent.jsonl"
    ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    procs = [ctx.Process(target=_writer, args=(str(path), n)) for n in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    records = [r for _, r in read_records(path)]
    assert all(isinstance(r, dict) for r in records), "a torn line"
    assert len(records) == WRITERS * DECISIONS * PER_DECISION
    assert all(len(l) > 4096 for l in path.read_bytes().splitlines()), "lines must exceed PIPE_BUF to test the lock"
    # every decision's records are contiguous and complete
    runs, last = [], None
    for r in records:
        if r["decision_id"] != last:
            runs.append([])
            last = r["decision_id"]
        runs[-1].append(r)
    assert len(runs) == WRITERS * DECISIONS
    assert all([r["subject"] for r in run] == ["pkg0", "pkg1", "pkg2"] for run in runs)
    assert os.stat(path).st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- guard log


@pytest.fixture
def logged(project):
    env = env_for(project)
    run_guard("check", "requirements.txt", cwd=project, env=env)
    (project / "ok.txt").write_text("requests==2.32.3\n")
    run_guard("check", "ok.txt", cwd=project, env=env)
    return project, env


def test_guard_log_shows_and_filters(logged):
    project, env = logged

    def log(*args):
        proc = run_guard("log", *args, cwd=project, env=env)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.splitlines()

    assert len(log()) == 5
    (deny,) = log("--decision", "deny")
    assert "http://evil.example/simple" in deny and "source" in deny
    (unpinned,) = log("--rule", "unpinned")
    assert "numpy" in unpinned
    assert [json.loads(l)["location"] for l in log("--subject", "requests", "--json")] == ["requirements.txt:2", "ok.txt:1"]
    assert len(log("--subject", "Requests")) == 2
    assert log("--subject", "requests==9.9") == []
    assert len(log("--subject", "req*")) == 2
    assert len(log("--subject", "*py")) == 1
    assert len(log("--since", "1h")) == 5
    assert log("--since", "2999-01-01") == []
    (last,) = log("-n", "1", "--json")
    assert json.loads(last)["location"] == "ok.txt:1"
    assert log("--origin", "runtime") == []


def test_guard_log_skips_bad_lines_and_reports_errors(logged):
    project, env = logged
    path = project / "audit" / "decisions.jsonl"
    with open(path, "a") as fh:
        fh.write('{"torn": \n[1, 2]\n')
    proc = run_guard("log", "--json", cwd=project, env=env)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 5
    assert "decisions.jsonl:6: not JSON" in proc.stderr and "decisions.jsonl:7: not a JSON object" in proc.stderr
    proc = run_guard("log", "--since", "yesterday", cwd=project, env=env)
    assert proc.returncode == 2 and "--since" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_guard("log", "--path", str(project / "missing.jsonl"), cwd=project, env=env)
    assert proc.returncode == 0 and "no audit log" in proc.stderr and proc.stdout == ""


NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("30m", NOW - dt.timedelta(minutes=30)),
    ("2h", NOW - dt.timedelta(hours=2)),
    (" 7d ", NOW - dt.timedelta(days=7)),
    ("1w", NOW - dt.timedelta(weeks=1)),
    ("10s", NOW - dt.timedelta(seconds=10)),
    ("2026-11-01", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)),
    ("2026-11-01T10:30:00Z", dt.datetime(2026, 11, 1, 10, 30, tzinfo=dt.timezone.utc)),
    ("2026-11-01T10:30:00+02:00", dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.timezone.utc)),
])
def test_parse_since(text, expected):
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "5y", "-1d", "2026-13-01"])
def test_parse_since_rejects(text):
    with pytest.raises(ValueError):
        parse_since(text, now=NOW)


def test_log_filter_matching():
    rec = {"subject": "jinja2==2.11.3", "name": "jinja2", "decision": "deny", "origin": "cli",
           "time": "2026-11-21T11:00:00Z", "findings": [{"rule": "vulnerability"}]}
    assert LogFilter(subject="Jinja2").matches(rec)
    assert LogFilter(subject="jinja2==2.11.3").matches(rec)
    assert not LogFilter(subject="jinja").matches(rec)
    assert LogFilter(subject="jin*").matches(rec)
    assert LogFilter(rule="vulnerability", decision="deny", origin="cli").matches(rec)
    assert not LogFilter(rule="unpinned").matches(rec)
    assert LogFilter(since=NOW - dt.timedelta(hours=2)).matches(rec)
    assert not LogFilter(since=NOW).matches(rec)
    assert not LogFilter(since=NOW).matches({**rec, "time": "garbage"})
    assert not LogFilter(rule="x").matches({**rec, "findings": None})
    # pip's name rules (PEP 503): zope.interface, Zope_Interface and zope-interface are one project
    zope = {"subject": "Zope_Interface==6.0", "name": "Zope_Interface", "decision": "allow"}
    assert LogFilter(subject="zope.interface").matches(zope)
    assert LogFilter(subject="zope-interface==6.0").matches(zope)
    assert not LogFilter(subject="zope-interface==6.1").matches(zope)
    hub = {"subject": "hf:org/a_b@main", "name": "org/a_b", "decision": "warn"}
    assert LogFilter(subject="org/a_b").matches(hub) and not LogFilter(subject="org/a-b").matches(hub)


def test_policy_revision_prefers_the_newest_bundle_layer():
    from types import SimpleNamespace as NS

    from guardpolicy.audit.log import policy_revision

    org = NS(data={"revision": 3}, bundle={"url": "https://policy.example/org.toml", "revision": 12})
    team = NS(data={"revision": 5}, bundle=None)
    project = NS(data={}, bundle=None)
    assert policy_revision(NS(layers=(org, team, project), data={})) == (12, "https://policy.example/org.toml")
    assert policy_revision(NS(layers=(team, project), data={})) == (5, None)
    assert policy_revision(NS(layers=(), data={"revision": 1})) == (1, None)
    assert policy_revision(None) == (None, None)


def test_records_for_matches_name_version_findings_to_their_package():
    pkg = PackageRef("jinja2", specifier="==2.11.3", location=Location("r.txt", 2))
    other = PackageRef("jinja2", specifier="==2.11.3", location=Location("other.txt", 1))
    vuln = Finding("vulnerability", "jinja2==2.11.3", "bad", action="deny", location=Location("r.txt", 2))
    recs = records_for(Decision("deny", (vuln,), checked=(pkg, other, IndexRef("https://pypi.org/simple"))),
                       now="2026-01-01T00:00:00Z", decision_id="d")
    assert [(r["subject"], r["decision"], len(r["findings"])) for r in recs] == [
        ("jinja2", "deny", 1), ("jinja2", "allow", 0), ("https://pypi.org/simple", "allow", 0)]
    assert {r["decision_id"] for r in recs} == {"d"} and recs[0]["time"] == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize("decision", [
    Decision("deny", (Finding("vulnerability", "jinja2==2.11.3", "bad \u00e9\n\"x\"", action="deny",
                              location=Location("r.txt", 2)),),
             checked=(PackageRef("jinja2", specifier="==2.11.3", location=Location("r.txt", 2)),
                      IndexRef("https://pypi.org/simple"))),
    Decision("warn", (Finding("invalid", "r.txt", "unreadable line", action="warn", location=Location("r.txt", 9)),)),
    Decision("allow", ()),
])
def test_encode_decision_is_byte_identical_to_encoding_the_records(decision):
    from types import SimpleNamespace as NS

    from guardpolicy.audit.log import encode, encode_decision

    policy = NS(name="p", digest="sha256:x", layers=(), data={"revision": 3})
    fast = encode_decision(decision, None, policy, now="2026-01-01T00:00:00Z", decision_id="d")
    assert fast == encode(records_for(decision, None, policy, now="2026-01-01T00:00:00Z", decision_id="d"))
    assert all(json.loads(line)["decision_id"] == "d" for line in fast.splitlines())


def test_a_failing_observer_never_breaks_the_decision(capsys):
    import pluggy

    from guardpolicy import hookspecs
    from guardpolicy.audit import notify_decision

    class Broken:
        @hookspecs.hookimpl
        def guard_decision_made(self, decision, subjects, policy):
            raise RuntimeError("disk on fire")

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(Broken())
    notify_decision(Decision("allow"), None, pm=pm)
    assert "decision observer failed: RuntimeError: disk on fire" in capsys.readouterr().err


def test_decision_ids_are_random_version_4_uuids():
    import uuid

    from guardpolicy.audit.log import _uuid4

    ids = [_uuid4() for _ in range(500)]
    assert len(set(ids)) == 500
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


# ---------------------------------------------------------------- rotation ([log] max_size)


def test_default_log_is_size_capped_and_max_size_is_read_from_the_policy(tmp_path):
    from guardpolicy.audit.log import DEFAULT_MAX_SIZE, LogSettings
    from guardpolicy.policy import load_policy

    assert LogSettings.from_policy(None).max_size == DEFAULT_MAX_SIZE == 10 * 1024 * 1024
    for text, size in (("2MB", 2 * 1024 * 1024), ("512 KiB", 512 * 1024), ("0", 0), ("1gb", 1024 ** 3)):
        (tmp_path / "guard.toml").write_text(f'[log]\nmax_size = "{text}"\n')
        policy = load_policy(str(tmp_path / "guard.toml"), cwd=tmp_path, env={})
        assert LogSettings.from_policy(policy).max_size == size


def test_bad_max_size_is_a_policy_error_naming_file_and_line(tmp_path):
    (tmp_path / "guard.toml").write_text('[log]\nenabled = true\nmax_size = "ten megs"\n')
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    proc = run_guard("check", "requirements.txt", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 2 and "guard.toml:3" in proc.stderr and "max_size" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_log_rotates_to_dot_1_and_guard_log_reads_both(tmp_path):
    log = tmp_path / "audit.jsonl"
    (tmp_path / "guard.toml").write_text(f'[log]\npath = "{log}"\nmax_size = "3KB"\n')
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\nnumpy==2.1.0\n")
    env = env_for(tmp_path)
    for _ in range(6):
        assert run_guard("check", "requirements.txt", cwd=tmp_path, env=env).returncode == 0
    rotated = tmp_path / "audit.jsonl.1"
    assert rotated.exists() and log.exists()
    assert log.stat().st_size <= 3072 and rotated.stat().st_size <= 3072
    assert os.stat(log).st_mode & 0o777 == 0o600
    # one generation only: every rotation replaces .1 (bounded on disk)
    assert not (tmp_path / "audit.jsonl.2").exists()
    kept = len(lines(rotated)) + len(lines(log))
    proc = run_guard("log", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    shown = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(shown) == kept
    assert shown == lines(rotated) + lines(log)  # older generation first
    assert [r["time"] for r in shown] == sorted(r["time"] for r in shown)


def test_a_record_bigger_than_max_size_still_gets_written(tmp_path):
    path = tmp_path / "big.jsonl"
    decision = Decision("allow", checked=(PackageRef("x" * 3000),))
    append_records(path, records_for(decision), max_size=100)
    append_records(path, records_for(decision), max_size=100)
    assert len(lines(path)) == 1 and len(lines(Path(str(path) + ".1"))) == 1


ROTATE_AT = 1_500_000  # the writers below produce ~2.2 MB: exactly one rotation


def _rotating_writer(path: str, n: int) -> None:
    decision = Decision("deny", findings=tuple(
        Finding("unpinned", f"pkg{i}", f"writer {n} " + "x" * 6000, action="deny", location=Location("r.txt", i))
        for i in range(PER_DECISION)), checked=tuple(PackageRef(f"pkg{i}", location=Location("r.txt", i)) for i in range(PER_DECISION)))
    for _ in range(DECISIONS):
        append_records(Path(path), records_for(decision), max_size=ROTATE_AT)


def test_concurrent_writers_rotate_once_and_lose_nothing(tmp_path):
    path = tmp_path / "rotating.jsonl"
    ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    procs = [ctx.Process(target=_rotating_writer, args=(str(path), n)) for n in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rotated = Path(str(path) + ".1")
    # nobody wrote into the rotated file after the rename, nobody rotated twice
    assert rotated.stat().st_size <= ROTATE_AT and path.stat().st_size <= ROTATE_AT
    records = [r for f in (rotated, path) for _, r in read_records(f)]
    assert all(isinstance(r, dict) for r in records), "a torn line"
    assert len(records) == WRITERS * DECISIONS * PER_DECISION, "records lost in rotation"
    by_decision: dict = {}
    for r in records:
        by_decision.setdefault(r["decision_id"], []).append(r["subject"])
    assert len(by_decision) == WRITERS * DECISIONS
    assert all(subjects == ["pkg0", "pkg1", "pkg2"] for subjects in by_decision.values())


def test_a_failed_rotation_keeps_the_record_in_the_live_file(tmp_path):
    path = tmp_path / "log.jsonl"
    Path(str(path) + ".1").mkdir()  # os.replace(file, dir) fails
    (Path(str(path) + ".1") / "keep").write_text("x")
    decision = Decision("allow", checked=(PackageRef("x" * 300),))
    for _ in range(3):
        append_records(path, records_for(decision), max_size=200)
    assert len(lines(path)) == 3


def test_guard_scan_decisions_are_logged(tmp_path):
    import pickle

    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    (tmp_path / "guard.toml").write_text(f'[log]\npath = "{tmp_path / "scan.jsonl"}"\n')
    proc = run_guard("scan", "model.pkl", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    (record,) = lines(tmp_path / "scan.jsonl")
    assert record["origin"] == "cli" and record["operation"] == "guard scan model.pkl"
    assert record["kind"] == "file" and record["subject"].endswith("model.pkl")


def test_guard_log_ignores_a_dot_1_that_is_not_a_file(tmp_path):
    path = tmp_path / "log.jsonl"
    append_records(path, records_for(Decision("allow", checked=(PackageRef("a", version="1"),))))
    Path(str(path) + ".1").mkdir()
    proc = run_guard("log", "--path", str(path), "--json", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1, proc.stderr


def test_a_decision_about_thousands_of_subjects_is_written_in_parts_of_one_decision(tmp_path):
    """guard scan of a big folder: records go out in parts (flat memory), one decision id, one chain."""
    from guardpolicy.audit.log import WRITE_CHUNK, verify_chain, write_decision
    from guardpolicy.model import Decision, FileRef, Finding
    from guardpolicy.policy.model import Policy

    log = tmp_path / "decisions.jsonl"
    policy = Policy(data={"log": {"path": str(log)}}, digest="d")
    subjects = tuple(FileRef(path=f"/m/f{i}.pkl") for i in range(2 * WRITE_CHUNK + 7))
    stray = Finding(rule="invalid", subject="line 3", message="cannot parse", action="warn")
    write_decision(Decision("warn", findings=(stray,), checked=subjects, mode="enforce", policy_digest="d"),
                   None, policy)
    records = [r for _, r in read_records(log)]
    assert len(records) == len(subjects) + 1
    assert len({r["decision_id"] for r in records}) == 1 and len({r["time"] for r in records}) == 1
    assert sum(1 for r in records if r["subject"] == "line 3") == 1
    assert [r["subject"] for r in records if r["kind"] == "file"] == [s.path for s in subjects]
    count, problems = verify_chain([log])
    assert problems == [] and count == len(records)
