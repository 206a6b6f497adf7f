"""Pure helpers of guardpolicy.runtime.pip (conversion of pip objects) and the [build] policy view."""

from __future__ import annotations

import datetime as _dt
from types import SimpleNamespace as NS

import pytest

from guardpolicy.model import IndexRef
from guardpolicy.runtime import pip as gp


@pytest.mark.parametrize("filename,version", [
    ("goodpkg-1.0-py3-none-any.whl", "1.0"),
    ("my_pkg-2.0.post1-1-cp311-cp311-linux_x86_64.whl", "2.0.post1"),
    ("bad.whl", None),
    ("my-pkg-1.2.3.tar.gz", "1.2.3"),
    ("pkg-1.0.zip", "1.0"),
    ("pkg-dev.tar.gz", None),
    ("README.txt", None),
])
def test_version_from_filename(filename, version):
    assert gp.version_from_filename(filename, None) == version


@pytest.mark.parametrize("page,name,base", [
    ("http://127.0.0.1:8799/simple/goodpkg/", "goodpkg", "http://127.0.0.1:8799/simple"),
    ("https://pypi.org/simple/Zope.Interface/", "zope-interface", "https://pypi.org/simple"),
    ("https://host/links.html", "goodpkg", "https://host/links.html"),
    ("https://host/simple/other/", "goodpkg", "https://host/simple/other"),
])
def test_index_base(page, name, base):
    assert gp.index_base(page, name) == base


def test_url_of_handles_pip23_index_content_and_str():
    assert gp.url_of("http://x/simple/a/") == "http://x/simple/a/"
    assert gp.url_of(NS(url="http://x/simple/a/")) == "http://x/simple/a/"
    assert gp.url_of(None) is None and gp.url_of(NS(url=None)) is None


def _link(url, comes_from=None, hash_name=None, hash=None, upload_time=None):
    return NS(url=url, filename=url.rsplit("/", 1)[-1].split("#")[0], comes_from=comes_from, hash_name=hash_name,
              hash=hash, upload_time=upload_time)


def test_link_origin_kinds():
    assert gp.link_origin(_link("http://h/files/a-1.whl", "http://h/simple/a/")) == ("http://h/simple/a/", "index-url")
    assert gp.link_origin(_link("file:///wheels/a-1.whl")) == ("file:///wheels", "find-links")
    assert gp.link_origin(_link("https://h/a-1.whl")) is None
    assert gp.link_origin(None) is None


def _ireq(name, spec="", link=None, original=None, user_supplied=False, constraint=False, hash_options=None,
          comes_from=None):
    from packaging.requirements import Requirement

    req = Requirement(f"{name}{spec}") if name else None
    return NS(name=name, req=req, link=link, original_link=original, user_supplied=user_supplied, constraint=constraint,
              hash_options=hash_options or {}, comes_from=comes_from, markers=None, extras=set(), editable=False)


def test_package_from_index_found_ireq():
    link = _link("http://h/files/evilpkg-1.0-py3-none-any.whl", "http://h/simple/evilpkg/", "sha256", "ab" * 32)
    parent = NS(name="badparent")
    pkg = gp.package_from_ireq(_ireq("evilpkg", link=link, comes_from=parent), indexes=(IndexRef("http://h/simple"),))
    assert (pkg.name, pkg.version, pkg.url, pkg.specifier) == ("evilpkg", "1.0", None, "")
    assert pkg.hashes == ("sha256:" + "ab" * 32,)
    assert pkg.extra["index"] == "http://h/simple" and pkg.extra["required_by"] == "badparent"
    assert pkg.extra["link"] == "http://h/files/evilpkg-1.0-py3-none-any.whl"


def test_package_from_direct_url_keeps_url():
    link = _link("https://h/x-1.0.tar.gz")
    pkg = gp.package_from_ireq(_ireq(None, link=link, original=link, user_supplied=True), root=True)
    # judged by the name its file carries, before anything builds it (issue 14)
    assert pkg.url == "https://h/x-1.0.tar.gz" and pkg.name == "x" and pkg.version == "1.0"
    assert pkg.extra["root"] is True and pkg.extra["name_from"] == "sdist file name or PKG-INFO"


def test_package_hash_options_and_upload_time():
    t = _dt.datetime(2026, 1, 2, tzinfo=_dt.timezone.utc)
    link = _link("http://h/files/a-1.0-py3-none-any.whl", "http://h/simple/a/", upload_time=t)
    pkg = gp.package_from_ireq(_ireq("a", "==1.0", link=link, hash_options={"sha256": ["cc"]}), build=True)
    assert pkg.hashes == ("sha256:cc",) and pkg.specifier == "==1.0"
    assert pkg.extra["upload_time"] == t.isoformat() and pkg.extra["build_requirement"] is True


def test_upload_time_from_json_capture():
    gp.UPLOAD_TIMES["http://h/files/z-1.0-py3-none-any.whl"] = "2020-01-01T00:00:00Z"
    assert gp.upload_time_of(_link("http://h/files/z-1.0-py3-none-any.whl#sha256=00")) == "2020-01-01T00:00:00Z"


def test_configured_indexes():
    finder = NS(index_urls=["https://a/simple", "https://b/simple"], find_links=["/w"], trusted_hosts=iter(["b"]))
    refs = gp.configured_indexes(finder)
    assert [(r.url, r.kind) for r in refs] == [("https://a/simple", "index-url"), ("https://b/simple", "extra-index-url"),
                                               ("/w", "find-links"), ("b", "trusted-host")]
    assert gp.configured_indexes(None) == ()


def test_build_policy_view_relaxes_pins_only():
    from guardpolicy.policy.model import Policy

    strict = Policy(data={"rules": {"unpinned": {"action": "deny"}, "typosquat": {"action": "deny"}}}, digest="d")
    view = gp.policy_for_build(strict)
    assert view.rule("unpinned").action == "off" and view.rule("unhashed").action == "off"
    assert view.rule("typosquat").action == "deny"
    assert view.digest != strict.digest and strict.rule("unpinned").action == "deny"
    pinned = gp.policy_for_build(Policy(data={"build": {"require_pins": True, "min_release_age": "1d"},
                                              "rules": {"unpinned": {"action": "deny"}}}, digest="d"))
    assert pinned.rule("unpinned").action == "deny" and pinned.rule("release-age").get("min_release_age") == "1d"


def test_in_build_env(monkeypatch):
    monkeypatch.delenv(gp.BUILD_ENV_VAR, raising=False)
    assert not gp.in_build_env()
    monkeypatch.setenv(gp.BUILD_ENV_VAR, "1")
    assert gp.in_build_env()


def test_finding_line_does_not_repeat_subject():
    from guardpolicy.model import Finding

    assert gp.finding_line(Finding("denylist", "a==1", "a==1 is denied")) == "[denylist] a==1 is denied"
    assert gp.finding_line(Finding("source", "a", "bad index")) == "[source] a: bad index"


@pytest.fixture
def age_policy(tmp_path, monkeypatch):
    """The process policy (gate.get_policy) set to a file with release-age 3d."""
    from guardpolicy.runtime import gate

    def use(extra):
        path = tmp_path / "p.toml"
        path.write_text('extends = ["default"]\n' + extra)
        monkeypatch.setenv("GUARD_POLICY", str(path))
        monkeypatch.delenv("GUARD_MODE", raising=False)
        gate.reset()

    yield use
    gate.reset()


def _cand(version, uploaded):
    return NS(version=version, link=_link(f"http://h/files/p-{version}-py3-none-any.whl", "http://h/simple/p/",
                                          upload_time=uploaded))


def test_hold_back_drops_too_new_versions(age_policy, capsys):
    age_policy('[rules.release-age]\nmin_release_age = "3d"\n')
    now = _dt.datetime(2026, 11, 21, tzinfo=_dt.timezone.utc)
    old, new, unknown = _cand("1.0", now - _dt.timedelta(days=30)), _cand("1.1", now - _dt.timedelta(hours=2)), _cand("0.9", None)
    assert gp.hold_back([old, new, unknown], "p", now=now) == [old, unknown]
    assert "guard: holding back p 1.1: uploaded 2h ago" in capsys.readouterr().err
    # only too-new versions: unchanged, so the gate explains instead of "no matching distribution"
    assert gp.hold_back([new], "p", now=now) == [new]


@pytest.mark.parametrize("extra", ['', '[rules.release-age]\nmin_release_age = "3d"\naction = "warn"\n',
                                   'mode = "warn"\n[rules.release-age]\nmin_release_age = "3d"\n'])
def test_hold_back_only_when_enforced(age_policy, extra):
    age_policy(extra)
    now = _dt.datetime(2026, 11, 21, tzinfo=_dt.timezone.utc)
    cands = [_cand("1.0", now - _dt.timedelta(days=30)), _cand("1.1", now - _dt.timedelta(hours=2))]
    assert gp.hold_back(cands, "p", now=now) == cands


def test_pip_error_hint_fits_the_failure():
    """A denial suggests a waiver; a policy that cannot load must not (there is nothing to waive): fix the policy."""
    from guardpolicy.errors import PolicyViolation
    from guardpolicy.model import Decision, Finding

    denied = Decision("deny", findings=(Finding("denylist", "evilpkg", "evilpkg matches", action="deny"),))
    err = gp.pip_error(PolicyViolation("blocked", decision=denied), "pip install evilpkg")
    assert "waive it" in str(err.hint_stmt)
    broken = gp.pip_error(PolicyViolation("guard: policy error, refusing gated operations: /p.toml:2: bad"),
                          "pip install goodpkg")
    assert "waive" not in str(broken.hint_stmt) and "requirement" not in str(broken.hint_stmt)
    assert "guard policy validate" in str(broken.hint_stmt)
    assert "/p.toml:2: bad" in str(broken.message)
