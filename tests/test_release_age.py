"""Rule release-age: durations, upload-time parsing, decisions with known/unknown/looked-up ages."""

from __future__ import annotations

import datetime as _dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from guardpolicy.durations import parse_duration
from guardpolicy.engine import CheckContext, CheckOptions
from guardpolicy.model import IndexRef, PackageRef
from guardpolicy.policy.model import Policy, RuleSettings
from guardpolicy.rules import release_age as ra

NOW = _dt.datetime(2026, 11, 21, 12, 0, tzinfo=_dt.timezone.utc)


@pytest.mark.parametrize("text,seconds", [("3d", 259200), ("12h", 43200), ("90m", 5400), ("30s", 30), ("1w", 604800),
                                          ("0", 0), (" 2D ", 172800), ("1.5h", 5400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "3", "d", "3 days", "-1d", "3d4h", 3])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("value,expected", [
    ("2026-01-02T03:04:05Z", _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.timezone.utc)),
    ("2026-01-02T03:04:05.123456+00:00", _dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=_dt.timezone.utc)),
    ("2026-01-02T03:04:05", _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.timezone.utc)),
    ("garbage", None), ("", None), (None, None), (12, None),
])
def test_parse_time(value, expected):
    assert ra.parse_time(value) == expected


def test_human_age():
    assert [ra.human_age(s) for s in (5, 120, 7200, 3 * 86400, 15 * 86400, -3)] == ["5s", "2m", "2h", "3d", "2w", "0s"]


def policy(**opts):
    return Policy(data={"rules": {"release-age": opts}}, rule_defaults={"release-age": RuleSettings(
        action="deny", options={k: o.default for k, o in ra.RULE.options.items()})})


def check(pkg, pol, offline=True):
    ctx = CheckContext(CheckOptions(offline=offline))
    ctx.cache["now"] = NOW
    return ra.guard_check_package(package=pkg, policy=pol, context=ctx) or []


def pkg(upload=None, **kw):
    extra = {"upload_time": upload} if upload else {}
    return PackageRef(kw.pop("name", "newpkg"), "==1.0", version=kw.pop("version", "1.0"), extra=extra, **kw)


def test_disabled_without_min_age():
    assert check(pkg("2026-11-21T11:00:00Z"), policy()) == []


def test_fresh_upload_denied_with_fix():
    (f,) = check(pkg("2026-11-21T10:00:00Z"), policy(min_release_age="3d"))
    assert f.rule == "release-age" and f.action is None  # the engine applies the rule's action
    assert "uploaded 2h ago" in f.message and "requires 3d" in f.message
    assert "2026-11-24 10:00 UTC" in f.suggestion


def test_old_enough_passes():
    assert check(pkg("2026-11-18T11:59:00Z"), policy(min_release_age="3d")) == []


def test_unknown_age_follows_option():
    (f,) = check(pkg(), policy(min_release_age="3d"))
    assert f.action == "warn" and "unknown" in f.message
    (f,) = check(pkg(), policy(min_release_age="3d", unknown_age="deny"))
    assert f.action == "deny"
    assert check(pkg(), policy(min_release_age="3d", unknown_age="off")) == []
    (f,) = check(pkg(), policy(min_release_age="3d", unknown_age="dney"))
    assert f.action == "deny" and "unknown_age" in f.message


def test_unresolved_and_direct_urls_skipped():
    assert check(PackageRef("x", ">=1"), policy(min_release_age="3d")) == []
    assert check(PackageRef("x", version="1", url="https://h/x.whl"), policy(min_release_age="3d")) == []


def test_invalid_duration_is_a_deny_naming_the_key():
    (f,) = check(pkg("2026-11-21T10:00:00Z"), policy(min_release_age="soon"))
    assert f.action == "deny" and "min_release_age" in f.suggestion


def test_rule_off_means_nothing():
    pol = Policy(data={"rules": {"release-age": {"action": "off", "min_release_age": "3d"}}})
    assert check(pkg(), pol) == []


@pytest.fixture
def json_index():
    """A PEP 691 JSON index on 127.0.0.1 answering for project 'newpkg'."""
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            if self.path.rstrip("/") != "/simple/newpkg":
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": "newpkg", "files": [
                {"filename": "newpkg-1.0-py3-none-any.whl", "url": "x", "hashes": {}, "upload-time": "2026-11-21T11:00:00Z"},
                {"filename": "newpkg-1.0.tar.gz", "url": "y", "hashes": {}, "upload-time": "2026-11-21T10:30:00Z"},
                {"filename": "newpkg-0.9-py3-none-any.whl", "url": "z", "hashes": {}, "upload-time": "2020-01-01T00:00:00Z"},
            ]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    server.shutdown()
    server.server_close()


def test_lookup_on_index_json_api_when_online(json_index):
    assert ra.lookup_upload_time(json_index, "newpkg", "1.0") == "2026-11-21T10:30:00+00:00"
    assert ra.lookup_upload_time(json_index, "missing", "1.0") is None
    p = PackageRef("newpkg", "==1.0", version="1.0", indexes=(IndexRef(json_index),))
    (f,) = check(p, policy(min_release_age="1d"), offline=False)
    assert "uploaded 1h ago" in f.message
    (f,) = check(p, policy(min_release_age="1d"), offline=True)  # offline: no look-up, age unknown
    assert "unknown" in f.message
    old = PackageRef("newpkg", "==0.9", version="0.9", indexes=(IndexRef(json_index),))
    assert check(old, policy(min_release_age="1d"), offline=False) == []


def test_index_for_prefers_where_pip_found_it():
    assert ra.index_for(PackageRef("a", extra={"index": "http://i/simple"})) == "http://i/simple"
    assert ra.index_for(PackageRef("a", indexes=(IndexRef("/local", "find-links"), IndexRef("https://m/simple")))) == "https://m/simple"
    assert ra.index_for(PackageRef("a")) == "https://pypi.org/simple"
