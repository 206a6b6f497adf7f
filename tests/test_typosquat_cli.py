"""The ``typosquat`` rule through the real ``guard check`` command."""

from __future__ import annotations

import json

from conftest import run_guard


def test_typosquat_denied_with_suggestion():
    proc = run_guard("check", "pypi:reqeusts")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "typosquat" in proc.stdout
    assert "did you mean 'requests'" in proc.stdout


def test_popular_name_passes():
    proc = run_guard("check", "pypi:requests==2.32.3")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "typosquat" not in proc.stdout


def test_unpinned_popular_name_is_only_a_warning():
    proc = run_guard("check", "pypi:requests")
    assert proc.returncode == 0
    assert "typosquat" not in proc.stdout


def test_json_shape_and_known_malicious():
    proc = run_guard("check", "--format", "json", "pypi:crypt==1.0", "pypi:python3-dateutil==2.9",
                     "pypi:numpy==2.0.0")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["decision"] == "deny"
    by_subject = {f["subject"]: f for f in out["findings"] if f["rule"] == "typosquat"}
    assert set(by_subject) == {"crypt==1.0", "python3-dateutil==2.9"}
    malicious = [f for f in out["findings"] if f["rule"] == "malicious"]
    assert [f["subject"] for f in malicious] == ["crypt==1.0"]
    assert malicious[0]["details"]["known_malicious"] is True
    assert by_subject["python3-dateutil==2.9"]["suggestion"].startswith("did you mean 'python-dateutil'")
    assert by_subject["python3-dateutil==2.9"]["details"]["target"] == "python-dateutil"


def test_batch_of_a_thousand_names_in_one_call():
    from guardpolicy.similarity import data

    names = list(data.pypi_top()[:995]) + ["reqeusts", "colourama", "djanga", "urlib3", "matlibplot"]
    proc = run_guard("check", "--format", "json", *[f"pypi:{n}==1.0" for n in names])
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    flagged = sorted(f["subject"] for f in out["findings"] if f["rule"] == "typosquat")
    assert flagged == sorted(f"{n}==1.0" for n in ["reqeusts", "colourama", "djanga", "urlib3", "matlibplot"])


def test_policy_allow_in_file(tmp_path):
    (tmp_path / "guard.toml").write_text('extends = ["default"]\nallow = ["reqeusts"]\n', encoding="utf-8")
    proc = run_guard("check", "pypi:reqeusts==1.0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_requirements_file_findings_carry_lines(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("requests==2.32.3\nreqeusts==1.0\n# comment\njeIlyfish==0.1\nflask-cors==4.0.0\n", encoding="utf-8")
    proc = run_guard("check", "--format", "json", str(req))
    assert proc.returncode == 1, proc.stderr
    found = {f["subject"].split("==")[0]: f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "typosquat"}
    assert set(found) == {"reqeusts", "jeIlyfish"}
    assert found["reqeusts"]["location"]["line"] == 2
    assert found["jeIlyfish"]["location"]["line"] == 4
    assert found["jeIlyfish"]["details"]["target"] == "jellyfish"
