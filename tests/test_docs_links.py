"""Every relative link in README.md and docs/*.md points at a file (and heading) that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    """The heading anchors of one Markdown file (code blocks skipped)."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def _links(path: Path):
    """(target, anchor) for each relative link outside code blocks."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for m in LINK.finditer(text):
        target = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        yield file_part, anchor


def test_slug_matches_github():
    assert _slug("Release age (rule `release-age`)") == "release-age-rule-release-age"
    assert _slug("Build dependencies: the `[build]` section") == "build-dependencies-the-build-section"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    broken = []
    for file_part, anchor in _links(doc):
        target = (doc.parent / file_part).resolve() if file_part else doc
        if not target.exists():
            broken.append(f"{file_part}: no such file")
        elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
            broken.append(f"{file_part}#{anchor}: no such heading")
    assert not broken, f"{doc.name}: {broken}"


README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_test_command_is_what_ci_runs():
    blocks = re.findall(r"^```sh\n(.*?)\n```", README, re.M | re.S)
    test_cmd = next(b for b in blocks if "pytest" in b)
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_cmd in ci_lines


def test_readme_names_every_subcommand():
    from guardpolicy.cli import COMMANDS

    missing = [name for name in COMMANDS if f"| `guard {name}" not in README]
    assert not missing, f"README's command table lacks: {missing}"


def _readme_rule_ids():
    table = README.split("## Rules", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z][a-z-]*)` \|", table, re.M)


def test_readme_rule_table_lists_rules():
    ids = _readme_rule_ids()
    assert "typosquat" in ids and "malicious" in ids and len(ids) >= 15


@pytest.mark.parametrize("rule", _readme_rule_ids())
def test_readme_rules_are_explained(rule):
    from conftest import run_guard

    if rule == "vulnerability":
        import guardpolicy_pip_audit  # noqa: F401  (installed by README's test command)
    r = run_guard("policy", "explain", rule)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{rule}:")
