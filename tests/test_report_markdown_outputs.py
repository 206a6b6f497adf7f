"""``--format markdown`` and ``--output FORMAT=PATH`` (several reports from one run), on the real CLI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
from conftest import run_guard
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from guardpolicy.model import Decision, Finding, Location, PackageRef
from guardpolicy.report.markdown import MarkdownFormat, cell, code

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
REQS = "--extra-index-url http://evil.example/simple\nrequests==2.32.3\nnumpy\nflask>=2\n"


def env_for(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.pop("GUARD_POLICY", None)
    env.update(XDG_STATE_HOME=str(tmp_path / "state"), XDG_CONFIG_HOME=str(tmp_path / "config"))
    return env


def test_markdown_from_the_real_cli(tmp_path):
    (tmp_path / "requirements.txt").write_text(REQS)
    proc = run_guard("check", "requirements.txt", "-f", "markdown", cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 1, proc.stderr
    md = proc.stdout
    assert md.startswith("### :x: guard: DENY\n")
    rows = [l for l in md.splitlines() if l.startswith("| :")]
    denied = [r for r in rows if r.startswith("| :x: deny")]
    warned = [r for r in rows if r.startswith("| :warning: warn")]
    assert len(denied) == 2 and len(warned) == 2
    assert rows.index(denied[-1]) < rows.index(warned[0]), "deny rows come first"
    assert "| `unpinned` | `flask` | requirements.txt:4 | flask is not pinned (&gt;=2) |" in md
    assert "<details><summary>Checked (4)</summary>" in md
    assert re.search(r"\| `requests(==2\.32\.3)?` \| package \| :white_check_mark: allow \|", md)
    assert "4 checked, 2 denied, 2 warnings" in md


def test_markdown_escapes_table_breakers():
    f = Finding("invalid", "a|b`c", "bad | line\nwith <script>", action="deny", location=Location("r.txt", 1),
                suggestion="fix | it")
    md = MarkdownFormat().format(Decision("deny", (f,), checked=(PackageRef("x"),)))
    (row,) = [l for l in md.splitlines() if l.startswith("| :x:")]
    cells = re.split(r"(?<!\\)\|", row)[1:-1]
    assert len(cells) == 6, cells  # no stray separators
    assert cells[4].strip() == "bad \\| line with &lt;script&gt;"
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert cell("a\\|") == "a\\\\\\|" and code("x`y") == "`` x`y ``" and code("xy") == "`xy`"


def test_markdown_allow_and_warn_mode():
    md = MarkdownFormat().format(Decision("allow", mode="warn"))
    assert md.startswith("### :white_check_mark: guard: ALLOW") and "(mode: **warn**)" in md


def test_several_outputs_from_one_run(tmp_path):
    (tmp_path / "requirements.txt").write_text(REQS)
    proc = run_guard("check", "requirements.txt", "--output", "sarif=reports/guard.sarif",
                     "-o", "cyclonedx=reports/bom.cdx.json", "-o", "markdown=summary.md", "-o", "json=out.json",
                     cwd=tmp_path, env=env_for(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.rstrip().splitlines()[-1].startswith("DENY: 4 checked"), "terminal text still on stdout"
    sarif = json.loads((tmp_path / "reports" / "guard.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    bom = (tmp_path / "reports" / "bom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom) is None
    assert (tmp_path / "summary.md").read_text().startswith("### :x: guard: DENY")
    report = json.loads((tmp_path / "out.json").read_text())
    # one decision behind every file
    assert report["decision"] == "deny"
    assert len(sarif["runs"][0]["results"]) == len(report["findings"]) + len(report["waived"])
    assert "\x1b[" not in (tmp_path / "summary.md").read_text()


def test_output_and_format_errors_are_one_line_exit_2(tmp_path):
    (tmp_path / "requirements.txt").write_text("requests==2.32.3\n")
    env = env_for(tmp_path)
    for args, needle in [(["-o", "sarif"], "expected FORMAT=PATH"),
                         (["-o", "=x.sarif"], "expected FORMAT=PATH"),
                         (["-o", "yaml=x.yaml"], "unknown format 'yaml'"),
                         (["-f", "xml"], "unknown format 'xml'")]:
        proc = run_guard("check", "requirements.txt", *args, cwd=tmp_path, env=env)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    (tmp_path / "blocker").write_text("a file where a folder is needed")
    proc = run_guard("check", "requirements.txt", "-o", "sarif=blocker/x.sarif", cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "blocker/x.sarif" in proc.stderr and "Traceback" not in proc.stderr
