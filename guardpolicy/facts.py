"""Small pure functions that read facts off subjects and decisions.

Shared by the report formats (SARIF, CycloneDX, markdown) and the audit log, so every
output names versions, revisions, digests and per-subject verdicts the same way.
Stdlib-only: the runtime audit log uses it.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

from .model import Decision, FileRef, Finding, IndexRef, ModelRef, PackageRef, Subject

_PIN = re.compile(r"^\s*===?\s*([^,;\s*]+)\s*$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_SHA_KEYS = ("sha256", "digest", "sha")


def subject_kind(subject: Subject) -> str:
    """``package`` | ``index`` | ``model`` | ``dataset`` | ``space`` | ``file``."""
    if isinstance(subject, PackageRef):
        return "package"
    if isinstance(subject, IndexRef):
        return "index"
    if isinstance(subject, ModelRef):
        return subject.repo_type if subject.repo_type in ("dataset", "space") else "model"
    return "file"


def subject_name(subject: Subject) -> str:
    """The bare name: package name (or URL), index URL, repo id, or file path."""
    if isinstance(subject, PackageRef):
        return subject.name or subject.url or "<unnamed>"
    if isinstance(subject, IndexRef):
        return subject.url
    if isinstance(subject, ModelRef):
        return subject.repo_id
    return subject.subject  # the path, printable even when the file name is not UTF-8


def pinned_version(specifier) -> Optional[str]:
    """The version of an exact pin (``==1.2.3`` or ``===1.2.3``, no wildcard, nothing else), else ``None``.

    ``specifier`` is the text of a specifier set, or a parsed ``packaging`` ``SpecifierSet``
    (the requirement parsers' case: its single item's operator and version are read, so
    ``===`` takes any version text, as pip does).
    """
    if specifier is None or isinstance(specifier, str):
        m = _PIN.match(specifier or "")
        return m.group(1) if m else None
    items = list(specifier)
    if len(items) == 1 and items[0].version.strip() and (
            items[0].operator == "===" or (items[0].operator == "==" and "*" not in items[0].version)):
        return items[0].version
    return None


def subject_version(subject: Subject) -> Optional[str]:
    """A package's resolved or exactly pinned version; ``None`` for anything else."""
    if isinstance(subject, PackageRef):
        return subject.version or pinned_version(subject.specifier)
    return None


def subject_revision(subject: Subject) -> Optional[str]:
    """A Hub reference's revision: the resolved commit (``extra['sha']``) when known, else as written."""
    model = subject.model if isinstance(subject, FileRef) else subject
    if isinstance(model, ModelRef):
        return model.extra.get("sha") or model.revision
    return None


def split_hash(text: str) -> tuple[str, str]:
    """``"sha256:abc"`` -> ``("sha256", "abc")``; a bare 64-hex string is taken as sha256."""
    if ":" in text:
        algo, _, hexdigest = text.partition(":")
        return algo.lower(), hexdigest.lower()
    if "=" in text:
        algo, _, hexdigest = text.partition("=")
        return algo.lower(), hexdigest.lower()
    return "sha256", text.lower()


def subject_digest(subject: Subject) -> Optional[str]:
    """``algo:hex`` identifying the artifact's content: first package hash, file sha256, or model commit."""
    if isinstance(subject, PackageRef):
        return "%s:%s" % split_hash(subject.hashes[0]) if subject.hashes else None
    if isinstance(subject, FileRef):
        for key in _SHA_KEYS:
            value = subject.extra.get(key)
            if isinstance(value, str) and value:
                return "%s:%s" % split_hash(value) if ":" in value else f"sha256:{value.lower()}"
        return None
    if isinstance(subject, ModelRef):
        rev = subject_revision(subject)
        return f"git:{rev}" if rev and _HEX40.match(rev) else None
    return None


def subject_keys(subject: Subject) -> set[str]:
    """The strings findings may use to name ``subject``: its ``subject``, and ``name==version`` for a pinned package."""
    keys = {subject.subject}
    version = subject_version(subject)
    if isinstance(subject, PackageRef) and subject.name and version:
        keys.add(f"{subject.name}=={version}")
    return keys


def findings_for(subject: Subject, findings: Iterable[Finding]) -> list[Finding]:
    """The findings about ``subject``: a matching subject string, and same file when both have a location."""
    if not findings:  # the usual case on the runtime hot path (a clean allow): skip the key set
        return []
    keys = subject_keys(subject)
    out = []
    for f in findings:
        if f.subject not in keys:
            continue
        if f.location and subject.location and f.location.file != subject.location.file:
            continue
        out.append(f)
    return out


def verdict_of(findings: Sequence[Finding]) -> str:
    """``deny`` if any finding denies, ``warn`` if any counts, else ``allow``."""
    if any(f.action == "deny" for f in findings):
        return "deny"
    return "warn" if findings else "allow"


def unmatched_findings(decision: Decision) -> list[Finding]:
    """Findings (counted or waived) about no checked subject: unreadable input lines, mostly."""
    if not decision.findings and not decision.waived:
        return []
    subjects = set().union(*(subject_keys(s) for s in decision.checked)) if decision.checked else set()
    return [f for f in (*decision.findings, *decision.waived) if f.subject not in subjects]


def relative_path(path: str, cwd: str) -> Optional[str]:
    """``path`` relative to ``cwd`` with ``/`` separators, or ``None`` when it lies outside ``cwd``."""
    import os

    full = os.path.abspath(os.path.join(cwd, path))
    try:
        rel = os.path.relpath(full, cwd)
    except ValueError:  # another drive on Windows
        return None
    if rel == ".." or rel.startswith(".." + os.sep):
        return None
    return rel.replace(os.sep, "/")
