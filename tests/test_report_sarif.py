"""``--format sarif``: the real CLI on a real requirements file, validated against the SARIF 2.1.0 schema."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import jsonschema
import pytest
from conftest import run_guard

from guardpolicy.model import Decision, Finding, Location
from guardpolicy.report.sarif import SarifFormat, fingerprint, rule_name

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
OSV = Path(__file__).parent / "data" / "osv"

REQS = """\
--extra-index-url http://evil.example/simple
jinja2==2.11.3
reqeusts
flask>=2
"""


def has_plugin() -> bool:
    """The first-party plugin is installed by README's test command: missing, the test fails."""
    import guardpolicy_pip_audit  # noqa: F401

    return True


def isolated_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.pop("GUARD_POLICY", None)
    env.pop("GUARD_MODE", None)
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


@pytest.fixture
def project(tmp_path):
    (tmp_path / "requirements.txt").write_text(REQS)
    policy = textwrap.dedent("""
        [[waivers]]
        rule = "unpinned"
        subject = "flask"
        reason = "pinned by the constraints file in CI"
        expires = 2099-12-31
    """)
    if has_plugin():
        policy += f'\n[rules.vulnerability]\ndatabase = "{OSV}"\n'
    (tmp_path / "guard.toml").write_text(policy)
    return tmp_path


def sarif_of(project: Path) -> dict:
    proc = run_guard("check", "requirements.txt", "-f", "sarif", cwd=project, env=isolated_env(project))
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def test_real_output_validates_against_the_sarif_schema(project):
    doc = sarif_of(project)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    assert doc["version"] == "2.1.0"


def test_rules_results_and_locations_are_what_github_code_scanning_reads(project):
    doc = sarif_of(project)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert {"unpinned", "source", "typosquat", "invalid"} <= set(ids)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"].startswith(f"**{rule['id']}**")
        assert rule["name"] == rule_name(rule["id"])
    results = run["results"]
    by_rule = {}
    for r in results:
        assert r["ruleId"] == ids[r["ruleIndex"]]
        assert r["level"] in ("error", "warning")
        assert r["partialFingerprints"]["guardpolicy/v1"]
        (loc,) = r["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art == {"uri": "requirements.txt", "uriBaseId": "%SRCROOT%"}
        by_rule.setdefault(r["ruleId"], []).append(r)
    source = by_rule["source"]
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in source} == {1}
    assert all(r["level"] == "error" for r in source)
    (reqeusts,) = [r for r in by_rule["unpinned"] if "suppressions" not in r]
    assert reqeusts["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert reqeusts["level"] == "warning" and "Fix:" in reqeusts["message"]["text"]
    (waived,) = [r for r in by_rule["unpinned"] if "suppressions" in r]
    assert waived["properties"]["subject"] == "flask"
    assert waived["suppressions"][0]["kind"] == "external"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    if has_plugin():
        vuln_ids = {r["properties"]["details"]["id"] for r in by_rule["vulnerability"]}
        assert "GHSA-h5c8-rqwp-cp95" in vuln_ids
        assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] == 2 for r in by_rule["vulnerability"])


def test_fingerprints_are_stable_across_runs_and_line_moves(project):
    first = sarif_of(project)["runs"][0]["results"]
    again = sarif_of(project)["runs"][0]["results"]
    prints = sorted(r["partialFingerprints"]["guardpolicy/v1"] for r in first)
    assert prints == sorted(r["partialFingerprints"]["guardpolicy/v1"] for r in again)
    assert len(set(prints)) == len(prints), "two results share a fingerprint"
    (project / "requirements.txt").write_text("# pinned deps\n\n" + REQS)
    moved = sarif_of(project)["runs"][0]["results"]
    assert prints == sorted(r["partialFingerprints"]["guardpolicy/v1"] for r in moved)
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in moved)
    assert lines == sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] + 2 for r in first)


def test_fingerprint_separates_advisories_and_ignores_wording():
    a = Finding("vulnerability", "jinja2==2.11.3", "text one", details={"id": "GHSA-1"})
    b = Finding("vulnerability", "jinja2==2.11.3", "text one", details={"id": "GHSA-2"})
    c = Finding("vulnerability", "jinja2==2.11.3", "other words", details={"id": "GHSA-1"})
    assert fingerprint(a, "r.txt") != fingerprint(b, "r.txt")
    assert fingerprint(a, "r.txt") == fingerprint(c, "r.txt")
    assert fingerprint(a, "r.txt") != fingerprint(a, "other/r.txt")


def test_targets_without_a_file_and_files_outside_cwd_still_have_locations(tmp_path):
    outside = tmp_path / "elsewhere" / "reqs.txt"
    decision = Decision("deny", findings=(
        Finding("typosquat", "reqeusts", "looks like requests", action="deny"),
        Finding("unpinned", "flask", "not pinned", action="warn", location=Location(str(outside), 4)),
    ))
    cwd = tmp_path / "project"
    cwd.mkdir()
    doc = SarifFormat(cwd=str(cwd)).document(decision)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    first, second = doc["runs"][0]["results"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "reqeusts"}
    assert second["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == outside.as_uri()
    assert second["locations"][0]["physicalLocation"]["region"] == {"startLine": 4}


def test_schema_rejects_a_broken_log(project):
    doc = sarif_of(project)
    del doc["runs"][0]["tool"]["driver"]["name"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SCHEMA).validate(doc)


@pytest.mark.parametrize("rule_id, name", [("typosquat", "Typosquat"), ("unsafe-format", "UnsafeFormat"),
                                           ("hub_scan", "HubScan"), ("x", "X")])
def test_rule_name(rule_id, name):
    assert rule_name(rule_id) == name
