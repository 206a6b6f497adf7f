"""The engine folds findings under actions, waivers and mode."""

from __future__ import annotations

import datetime as dt
import json

from guardpolicy.engine import Engine, decide
from guardpolicy.model import Finding, Location, PackageRef
from guardpolicy.policy import load_policy


def _policy(tmp_path, body: str):
    p = tmp_path / "guard.toml"
    p.write_text(body)
    return load_policy(str(p))


def test_unpinned_is_warning_by_default(tmp_path):
    policy = load_policy("default")
    d = Engine(policy).decide([PackageRef("requests", ">=2")])
    assert d.decision == "warn"
    assert [f.rule for f in d.findings] == ["unpinned"]


def test_strict_denies_unpinned_and_unhashed():
    d = Engine(load_policy("strict")).decide([PackageRef("requests", ">=2")])
    assert d.decision == "deny"
    assert {f.rule for f in d.findings} == {"unpinned", "unhashed"}


def test_warn_mode_downgrades_denials(tmp_path):
    policy = _policy(tmp_path, 'mode = "warn"\n')
    d = decide([Finding("source", "x", "bad", action="deny")], policy)
    assert d.decision == "warn" and d.findings[0].action == "warn"


def test_off_mode_allows_everything(tmp_path):
    policy = _policy(tmp_path, 'mode = "off"\n')
    d = Engine(policy).decide([PackageRef("requests", ">=2")])
    assert d.decision == "allow" and not d.findings


def test_waiver_and_its_expiry(tmp_path):
    policy = _policy(tmp_path, '[[waivers]]\nrule = "unpinned"\nsubject = "req*"\nreason = "SEC-1"\nexpires = 2027-01-31\n')
    f = Finding("unpinned", "requests", "not pinned", location=Location("r.txt", 1))
    d = decide([f], policy, today=dt.date(2026, 12, 1))
    assert d.decision == "allow" and d.waived and d.waived[0].waived_by
    d = decide([f], policy, today=dt.date(2027, 2, 1))
    assert d.decision == "warn" and "expired" in d.findings[0].message


def test_denylist_matches_specifier(tmp_path):
    policy = _policy(tmp_path, 'deny = ["urllib3<1.26.5", "evilpkg"]\n')
    e = Engine(policy)
    assert e.decide([PackageRef("urllib3", "==1.26.4", version="1.26.4")]).decision == "deny"
    assert e.decide([PackageRef("urllib3", "==1.26.5", version="1.26.5")]).decision == "allow"
    assert e.decide([PackageRef("EvilPkg", "==1.0", version="1.0")]).decision == "deny"


def test_cli_json_shape_and_exit_codes(tmp_path, guard):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy==1.26.4\n--extra-index-url https://mirror.example/simple\n")
    r = guard("check", req, "--format", "json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["decision"] == "deny"
    f = out["findings"][0]
    assert set(f) >= {"rule", "action", "subject", "message", "location", "suggestion"}
    assert f["location"] == {"file": str(req), "line": 2}
    r = guard("check", "pypi:numpy==1.26.4")
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_policy_error_is_one_line(tmp_path, guard):
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "enforce"\n[rules.unpinned]\nactoin = "deny"\n')
    r = guard("check", "pypi:numpy==1.0", "--policy", bad)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert f"{bad}:3: rules.unpinned.actoin" in r.stderr


class _CrashingRule:
    """A rule plugin with a bug: it raises on one package name."""

    from guardpolicy.rules import RuleInfo as _RuleInfo

    RULE = _RuleInfo(id="unpinned", summary="crashes", help="", default_action="warn", example="")

    from guardpolicy.hookspecs import hookimpl as _hookimpl

    @staticmethod
    @_hookimpl
    def guard_check_package(package, policy, context):
        if package.name == "boom":
            raise ValueError("Invalid IPv6 URL")
        return [Finding("unpinned", package.subject, "fine")]


class _WorkingRule:
    """A rule that always reports, to show its findings survive a neighbour's crash."""

    from guardpolicy.hookspecs import hookimpl as _hookimpl

    @staticmethod
    @_hookimpl
    def guard_check_package(package, policy, context):
        return [Finding("typosquat", package.subject, "looks like something")]


def test_a_crashing_rule_fails_closed_and_keeps_other_findings():
    import pluggy

    from guardpolicy import hookspecs

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(_WorkingRule, name="works")
    pm.register(_CrashingRule, name="crashes")
    loc = Location("r.txt", 3)
    d = Engine(load_policy("default"), pm=pm).decide([PackageRef("boom", "==1", version="1", location=loc),
                                                       PackageRef("ok", "==1", version="1")])
    got = [(f.rule, f.subject, f.action, f.location) for f in d.findings]
    assert ("typosquat", "boom==1", "deny", None) in got  # the working rule's finding is not lost
    crash = [f for f in d.findings if f.subject == "boom==1" and f.rule == "unpinned"]
    assert crash and crash[0].action == "warn"  # the policy's action is still the ceiling
    assert "ValueError: Invalid IPv6 URL" in crash[0].message and crash[0].location == loc
    assert ("unpinned", "ok==1", "warn", None) in got  # other subjects unaffected


def test_readme_main_job_passes_on_the_default_policy(guard):
    """README's first command: `guard check requirements.txt` in the repository, no config."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    r = guard("check", "requirements.txt", cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("ALLOW")
