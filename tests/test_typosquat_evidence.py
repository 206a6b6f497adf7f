"""Evidence grades a typosquat match: the resolution it sits in, and (online) what the index says.

Real packages one edit or one version away from popular names (httpx2, httpcore2, py-cpuinfo2,
pyg-lib, python-flint, automata-lib) must never be refused; the squats of the same shapes must
still be caught.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import ROOT, run_guard

from guardpolicy.engine import CheckOptions, Engine
from guardpolicy.model import IndexRef, PackageRef
from guardpolicy.policy import load_policy

REAL = ["httpx2", "httpcore2", "py-cpuinfo2", "pyg-lib", "python-flint", "automata-lib"]


@pytest.fixture(scope="module")
def default_policy():
    return load_policy("default", env={})


def judge(policy, *packages, online=False, now=None):
    """The decision over ``packages``; online checks ask the index, with "now" pinned for the age checks."""
    if not online and now is None:
        return Engine(policy, CheckOptions()).decide(list(packages))
    from guardpolicy.engine import CheckContext, decide
    from guardpolicy.rules import typosquat

    ctx = CheckContext(CheckOptions(offline=not online), subjects=list(packages), cache={"now": now})
    raw = [f for p in packages for f in typosquat.guard_check_package(p, policy, ctx) or ()]
    return decide(raw, policy)


def pkg(name, version="1.0", **extra):
    return PackageRef(name=name, specifier=f"=={version}", version=version, extra=extra)


@pytest.mark.parametrize("name", REAL)
def test_real_packages_near_popular_names_are_never_denied_offline(default_policy, name):
    decision = judge(default_policy, pkg(name))
    assert decision.decision != "deny", [f.message for f in decision.findings]
    (f,) = [f for f in decision.findings if f.rule == "typosquat"]
    assert f.action == "warn" and f.details["strength"] == "weak" and f.details["evidence"] in f.message


def test_a_popular_parent_in_the_resolution_clears_the_name(default_policy):
    decision = judge(default_policy, pkg("huggingface-hub", "2.4.0", requires=("httpx2", "httpcore2", "requests")),
                     pkg("httpx2"), pkg("httpcore2"))
    assert decision.decision == "allow" and not decision.findings
    notes = {n.subject: n for n in decision.notes}
    assert set(notes) == {"httpx2==1.0", "httpcore2==1.0"}
    assert notes["httpx2==1.0"].details["required_by"] == "huggingface-hub"
    assert notes["httpx2==1.0"].action == "info" and "required by huggingface-hub" in notes["httpx2==1.0"].message


def test_trust_flows_down_the_graph_but_not_from_unknown_roots(default_policy):
    # popular -> obscure-mid -> py-cpuinfo2: vouched for through the chain
    chain = judge(default_policy, pkg("langchain-core", requires=("obscure-mid",)),
                  pkg("obscure-mid", required_by=("langchain-core",)), pkg("py-cpuinfo2", required_by="obscure-mid"))
    (note,) = chain.notes
    assert note.details["required_by_chain"] == ["langchain-core", "obscure-mid"]
    # nobody popular above it: a strong squat stays denied, whoever requires it
    bad = judge(default_policy, pkg("obscure-root", requires=("reqeusts",)), pkg("reqeusts"))
    assert bad.decision == "deny" and not bad.notes
    # the user's own root (a requirement line) vouches for nothing
    assert judge(default_policy, pkg("reqeusts", required_by="-r requirements.txt (line 1)")).decision == "deny"


def test_a_squat_parent_vouches_for_nothing(default_policy):
    # reqeusts is not popular: what it requires is judged on its own
    d = judge(default_policy, pkg("reqeusts", requires=("urlib3",)), pkg("urlib3"))
    assert {f.subject for f in d.findings if f.action == "deny"} == {"reqeusts==1.0", "urlib3==1.0"}


UV_LOCK = '''version = 1
requires-python = ">=3.10"

[[package]]
name = "myproject"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "huggingface-hub" }, { name = "reqeusts" }]

[[package]]
name = "huggingface-hub"
version = "2.4.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "httpx2" }]

[[package]]
name = "httpx2"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "reqeusts"
version = "1.0.0"
source = { registry = "https://pypi.org/simple" }
'''


def test_uv_lock_context_through_the_cli_and_json(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK, encoding="utf-8")
    proc = run_guard("check", lock, "--format", "json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    # the project's own root requires reqeusts: still denied; httpx2 is cleared by huggingface-hub
    assert proc.returncode == 1
    assert [(f["subject"], f["action"]) for f in report["findings"] if f["rule"] == "typosquat"] == \
        [("reqeusts==1.0.0", "deny")]
    (note,) = report["notes"]
    assert note["subject"] == "httpx2==1.0.0" and note["details"]["required_by"] == "huggingface-hub"


def test_pip_report_requires_dist_is_context(tmp_path):
    report = {"version": "1", "install": [
        {"metadata": {"name": "huggingface_hub", "version": "2.4.0",
                      "requires_dist": ["httpx2>=1", "pyyaml; extra == 'yaml'"]}, "requested": True,
         "download_info": {"url": "https://files.pythonhosted.org/x/huggingface_hub-2.4.0-py3-none-any.whl",
                           "archive_info": {"hashes": {"sha256": "0" * 64}}}},
        {"metadata": {"name": "httpx2", "version": "1.0"},
         "download_info": {"url": "https://files.pythonhosted.org/x/httpx2-1.0-py3-none-any.whl",
                           "archive_info": {"hashes": {"sha256": "1" * 64}}}},
    ]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    proc = run_guard("check", path, "--format", "json", cwd=tmp_path)
    out = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [f for f in out["findings"] if f["rule"] == "typosquat"]
    assert [n["details"]["required_by"] for n in out["notes"]] == ["huggingface-hub"]


def test_uv_compile_via_comments_are_the_resolvers_word():
    from guardpolicy.cli.install import parse_compiled

    text = ("huggingface-hub==2.4.0 \\\n    --hash=sha256:aa\n    # via -r requirements.in\n"
            "httpx2==1.0 \\\n    --hash=sha256:bb\n    # via\n    #   huggingface-hub\n    #   -r requirements.in\n")
    hub, httpx2 = parse_compiled(text, ())
    assert "required_by" not in hub.extra
    assert httpx2.extra["required_by"] == ("huggingface-hub",)


def test_this_projects_own_locks_pass_the_default_policy(tmp_path):
    for lock in ("requirements/test.lock", "requirements.txt"):
        proc = run_guard("check", ROOT / lock, "--format", "json", cwd=tmp_path)
        report = json.loads(proc.stdout)
        assert proc.returncode == 0, (lock, [f["message"] for f in report["findings"] if f["action"] == "deny"])


# ---- online: the index's own metadata confirms or refutes a weak match ------------------------

NOW = _dt.datetime(2026, 12, 6, tzinfo=_dt.timezone.utc)


def _page(name, uploads):
    return {"meta": {"api-version": "1.1"}, "name": name, "files": [
        {"filename": f"{name.replace('-', '_')}-{v}-py3-none-any.whl", "url": "x", "hashes": {}, "upload-time": t}
        for v, t in uploads]}


@pytest.fixture
def json_index():
    """A PEP 691 index on 127.0.0.1: an established weak look-alike, a brand-new one, and nothing else."""
    pages = {
        "python-flint": _page("python-flint", [("0.1", "2019-03-01T00:00:00Z"), ("0.5", "2022-01-01T00:00:00Z"),
                                               ("0.6", "2024-06-01T00:00:00Z")]),
        "acqusition": _page("acqusition", [("1.0", "2026-12-03T08:00:00Z")]),
    }
    hits = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            name = self.path.strip("/").split("/")[-1]
            hits.append(name)
            page = pages.get(name)
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.end_headers()
            if page:
                self.wfile.write(json.dumps(page).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    server.hits = hits
    server.url = f"http://127.0.0.1:{server.server_address[1]}/simple"
    yield server
    server.shutdown()
    server.server_close()


def _on(index_url, name):
    return PackageRef(name=name, specifier="==1.0", version="1.0", indexes=(IndexRef(index_url, "index-url"),))


def test_online_an_established_project_is_cleared_and_a_new_one_denied(default_policy, json_index, monkeypatch, tmp_path):
    monkeypatch.setenv("GUARD_CACHE_DIR", str(tmp_path / "cache"))
    d = judge(default_policy, _on(json_index.url, "python-flint"), _on(json_index.url, "acqusition"),
              _on(json_index.url, "pyg-lib"), online=True, now=NOW)
    by = {f.subject: f for f in (*d.findings, *d.notes)}
    assert by["python-flint==1.0"].action == "info" and "established project" in by["python-flint==1.0"].message
    assert by["acqusition==1.0"].action == "deny" and "new project" in by["acqusition==1.0"].message
    assert by["pyg-lib==1.0"].action == "warn" and "no project of this name" in by["pyg-lib==1.0"].message
    # strong matches are never looked up; answers are remembered on disk
    judge(default_policy, _on(json_index.url, "reqeusts"), online=True, now=NOW)
    assert "reqeusts" not in json_index.hits
    before = len(json_index.hits)
    judge(default_policy, _on(json_index.url, "python-flint"), online=True, now=NOW)
    assert len(json_index.hits) == before


def test_offline_never_asks_the_index(default_policy, json_index):
    d = judge(default_policy, _on(json_index.url, "acqusition"), now=NOW)
    assert d.findings[0].action == "warn" and json_index.hits == []


def test_an_unreachable_index_leaves_the_offline_verdict(default_policy, monkeypatch, tmp_path):
    monkeypatch.setenv("GUARD_CACHE_DIR", str(tmp_path / "cache"))
    d = judge(default_policy, _on("http://127.0.0.1:9/simple", "acqusition"), online=True, now=NOW)
    assert d.findings[0].action == "warn"
