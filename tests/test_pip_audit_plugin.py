"""guardpolicy-pip-audit: OSV record logic, the offline database, the rule through the real CLI, and
pip-audit's real OsvService against a small OSV-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import guardpolicy_pip_audit  # noqa: E402,F401  (README's test command installs it: a missing plugin must fail, not skip)
import pytest
from conftest import run_guard
from guardpolicy_pip_audit.database import MAX_RECORD_BYTES, OsvDatabase, load_index
from guardpolicy_pip_audit.interface import Advisory, VulnerabilitySourceError
from guardpolicy_pip_audit.osv import (
    affects,
    cvss2_base_score,
    cvss3_base_score,
    fixed_versions,
    level_of_score,
    range_affects,
    severity_of,
)
from guardpolicy_pip_audit.service import PipAuditService, vulns_url
from guardpolicy_pip_audit.vulnerability import matching_ignore, pinned_version
from packaging.version import Version

from guardpolicy.model import PackageRef

OSV = Path(__file__).parent / "data" / "osv"
RECORDS = {p.stem: json.loads(p.read_text()) for p in OSV.glob("*.json")}
JINJA_210 = ["GHSA-462w-v97r-4m45", "GHSA-g3rq-g295-4j3m", "GHSA-h5c8-rqwp-cp95", "GHSA-h75v-3vvj-5mfj", "GHSA-q2x7-8rv6-6q7h"]


def env_for(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.pop("GUARD_POLICY", None)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Persisted database indexes go to a per-test cache folder, and no index survives between tests."""
    from guardpolicy_pip_audit import database

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    database._cache.clear()
    yield
    database._cache.clear()


# ---------------------------------------------------------------- CVSS and OSV logic

@pytest.mark.parametrize("vector, score", [
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
    ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N", 8.6),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N", 5.4),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L", 5.3),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
    ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
    ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
    ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6),
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O", 9.8),  # temporal metrics ignored: base score
])
def test_cvss3_base_score(vector, score):
    assert cvss3_base_score(vector) == score


@pytest.mark.parametrize("vector", ["CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CVSS:3.1/AV:N/AC:L",
                                    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "", "garbage"])
def test_cvss3_rejects(vector):
    assert cvss3_base_score(vector) is None


def test_cvss2_base_score():
    assert cvss2_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert cvss2_base_score("AV:N/AC:M/Au:N/C:N/I:P/A:N") == 4.3
    assert cvss2_base_score("AV:N/AC:L/Au:N/C:N/I:N/A:N") == 0.0
    assert cvss2_base_score("AV:N/AC:L") is None


@pytest.mark.parametrize("score, level", [(0.0, "none"), (0.1, "low"), (3.9, "low"), (4.0, "medium"), (6.9, "medium"),
                                          (7.0, "high"), (8.9, "high"), (9.0, "critical"), (10.0, "critical")])
def test_level_of_score(score, level):
    assert level_of_score(score) == level


def ev(*pairs):
    return [{k: v} for k, v in pairs]


@pytest.mark.parametrize("events, version, hit", [
    (ev(("introduced", "0"), ("fixed", "2.11.3")), "2.11.2", True),
    (ev(("introduced", "0"), ("fixed", "2.11.3")), "2.11.3", False),
    (ev(("introduced", "0"), ("fixed", "2.11.3")), "0.1", True),
    (ev(("introduced", "1.0"), ("last_affected", "1.2")), "1.2", True),
    (ev(("introduced", "1.0"), ("last_affected", "1.2")), "1.2.1", False),
    (ev(("introduced", "1.0"), ("last_affected", "1.2")), "0.9", False),
    (ev(("introduced", "2.0"), ("fixed", "2.2"), ("introduced", "1.0"), ("fixed", "1.5")), "1.7", False),
    (ev(("introduced", "2.0"), ("fixed", "2.2"), ("introduced", "1.0"), ("fixed", "1.5")), "2.1", True),
    (ev(("introduced", "2.0"), ("fixed", "2.2"), ("introduced", "1.0"), ("fixed", "1.5")), "1.0", True),
    (ev(("introduced", "1.0")), "99", True),
    (ev(("introduced", "1.0"), ("limit", "3.0")), "3.0", False),
    (ev(("introduced", "1.0"), ("fixed", "1.0")), "1.0", False),
    (ev(("introduced", "0"), ("fixed", "2.0")), "2.0rc1", True),
    (ev(("introduced", "0"), ("fixed", "not a version")), "5", True),
])
def test_range_affects(events, version, hit):
    assert range_affects(events, Version(version)) is hit


def test_affects_names_versions_withdrawn_and_ecosystems():
    r = RECORDS
    assert affects(r["GHSA-462w-v97r-4m45"], "Jinja2", "2.10")
    assert affects(r["GHSA-462w-v97r-4m45"], "jinja2", "2.10.0")  # listed "2.10" == 2.10.0 under PEP 440
    assert not affects(r["GHSA-462w-v97r-4m45"], "jinja2", "2.10.1")
    assert affects(r["GHSA-8q59-q68h-6hv4"], "pyyaml", "5.3.1") and affects(r["GHSA-8q59-q68h-6hv4"], "PyYAML", "5.3.1")
    assert not affects(r["GHSA-0000-wdrn-test"], "jinja2", "2.10"), "withdrawn"
    assert not affects(r["GHSA-35jh-r3h4-6jhm"], "jinja2", "1.0"), "npm record"
    assert not affects(r["GHSA-h5c8-rqwp-cp95"], "jinja2", "not-a-version")
    assert not affects({"id": "X", "affected": "nonsense"}, "jinja2", "1.0")


def test_fixed_versions():
    assert fixed_versions(RECORDS["GHSA-h5c8-rqwp-cp95"], "jinja2") == ("3.1.3",)
    assert fixed_versions(RECORDS["GHSA-h5c8-rqwp-cp95"], "jinja2", "3.1.3") == ()
    rec = {"affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [
        {"type": "ECOSYSTEM", "events": ev(("introduced", "0"), ("fixed", "1.10"), ("introduced", "2.0"), ("fixed", "2.5"))}]}]}
    assert fixed_versions(rec, "x", "1.2") == ("1.10", "2.5")


def test_severity_sources_in_order():
    assert severity_of(RECORDS["GHSA-8q59-q68h-6hv4"])[:2] == ("critical", 9.8)  # v3 vector beats the word
    level, score, vector = severity_of(RECORDS["GHSA-q2x7-8rv6-6q7h"], "jinja2")
    assert (level, score) == ("medium", None) and vector.startswith("CVSS:4.0")  # v4 is not scored: GHSA's word
    assert severity_of({"severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}]}) == ("high", 7.5, "AV:N/AC:L/Au:N/C:P/I:P/A:P")
    assert severity_of({"affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ecosystem_specific": {"severity": "LOW"}}]}, "x")[0] == "low"
    assert severity_of({}) == ("unknown", None, None)
    assert severity_of({"severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/bogus"}], "database_specific": {"severity": "HIGH"}})[0] == "high"


def test_pinned_version():
    assert pinned_version(PackageRef("a", specifier="==1.0")) == "1.0"
    assert pinned_version(PackageRef("a", specifier="===1.0-custom")) == "1.0-custom"
    assert pinned_version(PackageRef("a", version="2.0", specifier=">=1")) == "2.0"
    for spec in (">=1", "==1.*", "==1.0,!=1.1", "", "~=1.0"):
        assert pinned_version(PackageRef("a", specifier=spec)) is None
    assert pinned_version(PackageRef("a", specifier="==1.0", url="https://x/a.whl")) is None
    assert pinned_version(PackageRef(None, url="./local")) is None


def test_matching_ignore_by_alias_and_expiry():
    import datetime as dt

    adv = Advisory("GHSA-1", aliases=("CVE-2024-1", "PYSEC-1"))
    today = dt.date(2026, 6, 1)
    active, expired = matching_ignore(adv, [{"id": "cve-2024-1", "reason": "r"}], today)
    assert active and not expired
    active, expired = matching_ignore(adv, [{"id": "PYSEC-1", "reason": "r", "expires": dt.date(2026, 5, 31)}], today)
    assert not active and expired
    active, _ = matching_ignore(adv, [{"id": "GHSA-1", "reason": "r", "expires": "2026-06-01"}], today)
    assert active, "valid through its expiry day"
    assert matching_ignore(adv, [{"id": "GHSA-2", "reason": "r"}], today) == (None, None)


# ---------------------------------------------------------------- offline database

def make_zip(tmp_path: Path, extra: dict | None = None) -> Path:
    path = tmp_path / "all.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in OSV.glob("*.json"):
            zf.write(p, p.name)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def test_database_dir_and_zip_agree(tmp_path):
    from_dir = OsvDatabase(OSV).query("Jinja2", "2.10")
    from_zip = OsvDatabase(make_zip(tmp_path)).query("jinja2", "2.10")
    assert [a.id for a in from_dir] == [a.id for a in from_zip] == JINJA_210
    high = from_dir[0]
    assert (high.severity, high.score, high.fixed, high.aliases) == ("high", 8.6, ("2.10.1",), ("CVE-2019-10906", "PYSEC-2019-217"))
    assert OsvDatabase(OSV).query("jinja2", "3.1.5") == []
    assert OsvDatabase(OSV).query("unknown-package", "1.0") == []


def test_database_skips_hostile_members(tmp_path):
    big = b'{"id": "BIG", "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2"}}], "pad": "' + b"x" * MAX_RECORD_BYTES + b'"}'
    path = make_zip(tmp_path, {"broken.json": "{not json", "list.json": "[1]", "BIG.json": big, "readme.txt": "hi"})
    index, skipped = load_index(path)
    assert skipped == 2 and "BIG" not in {r["id"] for r in index["jinja2"]}
    assert [a.id for a in OsvDatabase(path).query("jinja2", "2.10")] == JINJA_210


def test_name_index_persists_and_follows_changes(tmp_path):
    from guardpolicy_pip_audit import database
    from guardpolicy_pip_audit.database import database_key, index_cache_dir

    path = make_zip(tmp_path)
    db = OsvDatabase(path)
    assert [a.id for a in db.query("pyyaml", "5.3.1")] == ["GHSA-8q59-q68h-6hv4"]
    cached = index_cache_dir() / f"{database_key(path)}.json"
    assert json.loads(cached.read_text())["pyyaml"] == ["GHSA-8q59-q68h-6hv4.json"]
    database._cache.clear()  # as a new process would start
    cached.write_text(json.dumps({"pyyaml": []}))  # proves the persisted index is what is read
    assert OsvDatabase(path).query("pyyaml", "5.3.1") == []
    cached.write_text("{corrupt")
    database._cache.clear()
    assert [a.id for a in OsvDatabase(path).query("pyyaml", "5.3.1")] == ["GHSA-8q59-q68h-6hv4"], "rebuilt"
    extra = dict(RECORDS["GHSA-8q59-q68h-6hv4"], id="GHSA-new0-0000-0000")
    make_zip(tmp_path, {"GHSA-new0-0000-0000.json": json.dumps(extra)})  # the database is updated
    assert [a.id for a in OsvDatabase(path).query("pyyaml", "5.3.1")] == ["GHSA-8q59-q68h-6hv4", "GHSA-new0-0000-0000"]


def test_folder_database_sees_new_records(tmp_path):
    folder = tmp_path / "osv"
    shutil.copytree(OSV, folder)
    assert OsvDatabase(folder).query("demo", "1.0") == []
    (folder / "sub").mkdir()
    (folder / "sub" / "PYSEC-9.json").write_text(json.dumps({"id": "PYSEC-9", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "Demo"}, "versions": ["1.0"]}]}))
    assert [a.id for a in OsvDatabase(folder).query("demo", "1.0")] == ["PYSEC-9"]


def test_database_errors_are_source_errors(tmp_path):
    (tmp_path / "fake.zip").write_text("not a zip")
    with pytest.raises(VulnerabilitySourceError, match="not a readable zip"):
        OsvDatabase(tmp_path / "fake.zip").query("jinja2", "1.0")
    with pytest.raises(VulnerabilitySourceError, match="not found"):
        OsvDatabase(tmp_path / "missing").query("jinja2", "1.0")


# ---------------------------------------------------------------- the rule through the real CLI

def check(tmp_path: Path, policy: str, reqs: str, *args):
    (tmp_path / "guard.toml").write_text(textwrap.dedent(policy))
    (tmp_path / "requirements.txt").write_text(reqs)
    proc = run_guard("check", "requirements.txt", "-f", "json", *args, cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    return proc.returncode, [f for f in report["findings"] if f["rule"] == "vulnerability"], report


def test_rule_reports_pinned_packages_from_the_database(tmp_path):
    rc, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{OSV}"\n',
                         "jinja2==2.10\npyyaml==5.3.1\nrequests>=2\nflask==3.0.0\n")
    assert rc == 1
    assert sorted(f["details"]["id"] for f in vulns if f["subject"] == "jinja2==2.10") == JINJA_210
    (yaml,) = [f for f in vulns if f["subject"] == "pyyaml==5.3.1"]
    assert yaml["action"] == "deny" and yaml["location"] == {"file": "requirements.txt", "line": 2}
    assert yaml["suggestion"] == "upgrade to pyyaml==5.4"
    assert yaml["message"].startswith("pyyaml==5.3.1: GHSA-8q59-q68h-6hv4 (CVE-2020-14343, PYSEC-2021-142), critical 9.8: ")
    assert yaml["message"].endswith("; fixed in 5.4")
    assert yaml["details"]["severity"] == "critical" and yaml["details"]["source"] == "osv-database"
    assert not [f for f in vulns if f["subject"].startswith(("requests", "flask"))]


def test_threshold_ignore_and_expired_ignore(tmp_path):
    policy = f"""
        [rules.vulnerability]
        database = "{OSV}"
        severity = "medium"
        ignore = [
          {{id = "CVE-2024-22195", reason = "we never call xmlattr", expires = 2099-01-01}},
          {{id = "GHSA-g3rq-g295-4j3m", reason = "urlize unused", expires = 2020-01-01}},
        ]
    """
    _, vulns, _ = check(tmp_path, policy, "jinja2==2.10\n")
    ids = sorted(f["details"]["id"] for f in vulns)
    assert ids == ["GHSA-462w-v97r-4m45", "GHSA-g3rq-g295-4j3m", "GHSA-h75v-3vvj-5mfj", "GHSA-q2x7-8rv6-6q7h"]
    (expired,) = [f for f in vulns if f["details"]["id"] == "GHSA-g3rq-g295-4j3m"]
    assert "ignore entry for GHSA-g3rq-g295-4j3m expired on 2020-01-01: urlize unused" in expired["message"]
    _, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{OSV}"\nseverity = "high"\n', "jinja2==2.10\npyyaml==5.3.1\n")
    assert sorted(f["details"]["id"] for f in vulns) == ["GHSA-462w-v97r-4m45", "GHSA-8q59-q68h-6hv4"]
    _, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{OSV}"\nseverity = "critical"\n', "jinja2==2.10\n")
    assert vulns == []


def test_unknown_severity_option(tmp_path):
    db = tmp_path / "db"
    db.mkdir()
    (db / "PYSEC-0.json").write_text(json.dumps({"id": "PYSEC-0", "summary": "no severity given", "affected": [
        {"package": {"ecosystem": "PyPI", "name": "demo"}, "versions": ["1.0"]}]}))
    base = '[rules.vulnerability]\ndatabase = "db"\nseverity = "high"\n'
    _, vulns, _ = check(tmp_path, base + 'unknown_severity = "medium"\n', "demo==1.0\n")
    assert vulns == []
    _, vulns, _ = check(tmp_path, base, "demo==1.0\n")  # default: unknown counts as high
    (f,) = vulns
    assert f["details"]["severity"] == "unknown" and "no fixed version published" in f["message"]
    assert "no fix yet" in f["suggestion"]


def test_waivers_and_warn_action_apply(tmp_path):
    policy = f"""
        [rules.vulnerability]
        database = "{OSV}"
        action = "warn"

        [[waivers]]
        rule = "vulnerability"
        subject = "pyyaml==5.3.1"
        reason = "only safe_load is used"
        expires = 2099-01-01
    """
    rc, vulns, report = check(tmp_path, policy, "jinja2==3.1.4\npyyaml==5.3.1\n")
    assert rc == 0
    (only,) = vulns
    assert only["details"]["id"] == "GHSA-q2x7-8rv6-6q7h" and only["action"] == "warn"
    assert [w["details"]["id"] for w in report["waived"]] == ["GHSA-8q59-q68h-6hv4"]


def test_no_database_and_offline_means_no_lookup(tmp_path):
    rc, vulns, _ = check(tmp_path, 'mode = "enforce"\n', "jinja2==2.10\n")
    assert rc == 0 and vulns == []


def test_broken_database_is_a_finding_not_a_silent_allow(tmp_path):
    (tmp_path / "osv.zip").write_text("not a zip")
    rc, vulns, _ = check(tmp_path, '[rules.vulnerability]\ndatabase = "osv.zip"\n', "jinja2==2.10\npyyaml==5.3.1\n")
    assert rc == 1
    (f,) = vulns  # reported once, not once per package
    assert f["message"].startswith("vulnerabilities not checked: ") and "osv.zip" in f["message"]
    # the fix is about the database: --online has nothing to do with an offline database
    assert "database" in f["suggestion"] and "--online" not in f["suggestion"]


def test_database_path_is_relative_to_the_policy_file(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    shutil.copytree(OSV, conf / "osv")
    (conf / "policy.toml").write_text('[rules.vulnerability]\ndatabase = "osv"\n')
    (tmp_path / "requirements.txt").write_text("pyyaml==5.3.1\n")
    proc = run_guard("check", "requirements.txt", "--policy", str(conf / "policy.toml"), cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 1 and "GHSA-8q59-q68h-6hv4" in proc.stdout


@pytest.mark.parametrize("table, needle", [
    ('severity = "severe"', "one of 'low', 'medium', 'high', 'critical'"),
    ('ignore = [{id = "GHSA-1"}]', "reason = string (required)"),
    ('ignore = [{id = "GHSA-1", reason = "r", until = 2026-01-01}]', "array of tables"),
    ('ignore = [{id = "GHSA-1", reason = "r", expires = "soon"}]', "expires = date"),
    ('service = "esms"', "one of 'osv', 'pypi'"),
    ('timeout = "15"', "expected integer"),
])
def test_bad_options_are_policy_errors_with_file_and_line(tmp_path, table, needle):
    (tmp_path / "guard.toml").write_text(f"mode = \"enforce\"\n\n[rules.vulnerability]\n{table}\n")
    (tmp_path / "requirements.txt").write_text("jinja2==2.10\n")
    proc = run_guard("check", "requirements.txt", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "guard.toml:4:" in proc.stderr and needle in proc.stderr, proc.stderr


# ---------------------------------------------------------------- online: pip-audit's OsvService, local OSV server

class _OsvHandler(BaseHTTPRequestHandler):
    """POST /v1/query and GET /v1/vulns/<id> over the records in tests/data/osv."""

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.calls.append(("query", body))
        if self.path != "/v1/query":
            return self._send(404, {})
        name, version = body["package"]["name"], body["version"]
        vulns = [r for r in RECORDS.values() if affects(r, name, version)]
        self._send(200, {"vulns": vulns} if vulns else {})

    def do_GET(self):
        self.server.calls.append(("get", self.path))
        vid = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/v1/vulns/") and vid in RECORDS and not self.server.hide_records:
            return self._send(200, RECORDS[vid])
        self._send(404, {"message": "Bug not found."})


@pytest.fixture
def osv_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OsvHandler)
    server.calls = []
    server.hide_records = False
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_online_uses_pip_audit_osv_service_only_when_asked(tmp_path, osv_server):
    url = f"http://127.0.0.1:{osv_server.server_port}/v1/query"
    policy = f'[rules.vulnerability]\nosv_url = "{url}"\ncache_dir = "{tmp_path / "cache"}"\ntimeout = 10\n'
    rc, vulns, _ = check(tmp_path, policy, "jinja2==3.1.4\npyyaml==6.0.1\nrequests>=2\n")
    assert rc == 0 and vulns == [] and osv_server.calls == [], "no network without --online"
    rc, vulns, _ = check(tmp_path, policy, "jinja2==3.1.4\npyyaml==6.0.1\nrequests>=2\n", "--online")
    assert rc == 1
    (f,) = vulns
    assert f["details"]["id"] == "GHSA-q2x7-8rv6-6q7h" and f["details"]["source"] == "pip-audit:osv"
    assert f["details"]["severity"] == "medium" and f["details"]["fixed"] == ["3.1.5"]
    assert f["suggestion"] == "upgrade to jinja2==3.1.5"
    queried = sorted(c[1]["package"]["name"] for c in osv_server.calls if c[0] == "query")
    assert queried == ["jinja2", "pyyaml"], "only pinned packages are looked up"
    assert ("get", "/v1/vulns/GHSA-q2x7-8rv6-6q7h") in osv_server.calls


def test_adapter_contract_with_pip_audit(tmp_path, osv_server):
    service = PipAuditService(osv_url=f"http://127.0.0.1:{osv_server.server_port}/v1/query", cache_dir=str(tmp_path / "c"))
    advisories = service.query("PyYAML", "5.3.1")
    (adv,) = advisories
    assert (adv.id, adv.severity, adv.score, adv.fixed) == ("GHSA-8q59-q68h-6hv4", "critical", 9.8, ("5.4",))
    assert set(adv.aliases) == {"CVE-2020-14343", "PYSEC-2021-142"}
    assert service.query("jinja2", "not-a-version") == []
    assert vulns_url("https://api.osv.dev/v1/query", "X-1") == "https://api.osv.dev/v1/vulns/X-1"
    assert vulns_url("http://h/osv/v1/query/", "X") == "http://h/osv/v1/vulns/X"


def test_adapter_without_records_keeps_pip_audit_view(tmp_path, osv_server):
    osv_server.hide_records = True
    service = PipAuditService(osv_url=f"http://127.0.0.1:{osv_server.server_port}/v1/query", cache_dir=str(tmp_path / "c"))
    (adv,) = service.query("jinja2", "3.1.4")
    assert (adv.id, adv.severity, adv.score, adv.fixed) == ("CVE-2024-56326", "unknown", None, ("3.1.5",))
    assert adv.aliases == ("GHSA-q2x7-8rv6-6q7h",)


def test_unreachable_service_is_one_finding(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    policy = f'[rules.vulnerability]\nosv_url = "http://127.0.0.1:{port}/v1/query"\ncache_dir = "{tmp_path / "c"}"\ntimeout = 5\n'
    rc, vulns, _ = check(tmp_path, policy, "jinja2==3.1.4\npyyaml==6.0.1\n", "--online")
    assert rc == 1
    (f,) = vulns
    assert f["message"].startswith("vulnerabilities not checked: pip-audit:osv")
    assert "osv_url" in f["suggestion"] and "database" in f["suggestion"]


def test_online_service_only_on_an_explicit_check_unless_the_policy_says_always():
    from guardpolicy_pip_audit.vulnerability import use_online_service

    from guardpolicy.engine import CheckOptions

    cli_online = CheckOptions(offline=False, origin="cli")
    pip_hook = CheckOptions(offline=False, origin="runtime-pip")
    assert use_online_service("check", cli_online)
    assert not use_online_service("check", pip_hook)
    assert not use_online_service("check", CheckOptions(offline=True, origin="cli"))
    assert use_online_service("always", pip_hook)
    assert not use_online_service("never", cli_online)


def test_database_without_osv_records_is_an_error_not_an_empty_database(tmp_path):
    """An empty folder (a volume that was not mounted), a zip of something else, or only broken
    records must not read as 'no known vulnerabilities'."""
    (tmp_path / "empty").mkdir()
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("README.txt", "not advisories")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "A.json").write_text("{truncated")
    (broken / "B.json").write_text(json.dumps({"id": "NPM-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]}))
    for db in (tmp_path / "empty", tmp_path / "other.zip", broken):
        with pytest.raises(VulnerabilitySourceError, match="no PyPI OSV records"):
            OsvDatabase(db).query("jinja2", "2.10")
    rc, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{tmp_path / "empty"}"\n', "jinja2==2.10\n")
    assert rc == 1 and vulns[0]["message"].startswith("vulnerabilities not checked: ") and "no PyPI OSV records" in vulns[0]["message"]


def _with_pysec_twins(tmp_path: Path) -> Path:
    """OSV's PyPI all.zip holds a PYSEC record beside the GHSA one for most advisories (they alias each other)."""
    folder = tmp_path / "osv-twins"
    shutil.copytree(OSV, folder)
    ghsa = RECORDS["GHSA-462w-v97r-4m45"]
    twin = {"id": "PYSEC-2019-217", "modified": ghsa["modified"], "published": ghsa["published"],
            "aliases": ["CVE-2019-10906", "GHSA-462w-v97r-4m45"], "details": ghsa["details"],
            "affected": [{"package": {"ecosystem": "PyPI", "name": "jinja2", "purl": "pkg:pypi/jinja2"},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.10.1"}]}]}]}
    (folder / "PYSEC-2019-217.json").write_text(json.dumps(twin))
    return folder


def test_advisories_sharing_an_alias_are_one_finding_as_in_pip_audit(tmp_path):
    """pip-audit collapses results that share an alias; so must the rule (else every advisory shows twice,
    and the PYSEC twin, which has no severity, passes a severity threshold the GHSA record does not)."""
    db = _with_pysec_twins(tmp_path)
    _, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{db}"\n', "jinja2==2.10\n")
    assert sorted(f["details"]["id"] for f in vulns) == JINJA_210
    (merged,) = [f for f in vulns if f["details"]["id"] == "GHSA-462w-v97r-4m45"]
    assert set(merged["details"]["aliases"]) == {"CVE-2019-10906", "PYSEC-2019-217"}
    assert merged["details"]["severity"] == "high"
    # the threshold judges the merged advisory by the GHSA record's severity
    _, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{db}"\nseverity = "critical"\n', "jinja2==2.10\n")
    assert vulns == []
    # ignoring either id silences the one advisory
    _, vulns, _ = check(tmp_path, f'[rules.vulnerability]\ndatabase = "{db}"\n'
                                  'ignore = [{id = "PYSEC-2019-217", reason = "sandbox unused"}]\n', "jinja2==2.10\n")
    assert "GHSA-462w-v97r-4m45" not in {f["details"]["id"] for f in vulns} and len(vulns) == 4


def test_collapse_aliases_is_transitive_and_prefers_a_scored_ghsa():
    from guardpolicy_pip_audit.vulnerability import collapse_aliases

    a = Advisory("PYSEC-1", aliases=("CVE-1",))
    b = Advisory("GHSA-b", aliases=("CVE-1",), severity="medium", fixed=("2.0",))
    c = Advisory("OSV-c", aliases=("GHSA-b",))
    d = Advisory("GHSA-d", severity="low")
    out = collapse_aliases([a, b, c, d])
    assert [x.id for x in out] == ["GHSA-b", "GHSA-d"]
    assert set(out[0].aliases) == {"CVE-1", "PYSEC-1", "OSV-c"} and out[0].severity == "medium" and out[0].fixed == ("2.0",)
    assert collapse_aliases([]) == [] and collapse_aliases([d]) == [d]
