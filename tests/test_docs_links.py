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
