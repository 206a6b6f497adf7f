"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning (``github/codeql-action/upload-sarif``).

One run, tool ``guardpolicy``, ``tool.driver.rules`` from every known ``RuleInfo`` (so the
code-scanning UI shows each rule's help), one result per finding at its manifest line.
Waived findings are results with an ``external`` suppression, so the UI shows them as
dismissed rather than forgetting them. ``partialFingerprints`` hash what identifies a finding
across runs (rule, file, subject, advisory id) and not the line, so moving a requirement
does not reopen its alert. Shape: docs/output.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from ..model import Decision, Finding
from .facts import relative_path
from .interface import Format

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/guardpolicy/guardpolicy"
#: the ``partialFingerprints`` key; bump the suffix if the fingerprint recipe ever changes
FINGERPRINT_KEY = "guardpolicy/v1"
SRCROOT = "%SRCROOT%"
_LEVEL = {"deny": "error", "warn": "warning"}
_WORDS = re.compile(r"[^0-9A-Za-z]+")


def rule_name(rule_id: str) -> str:
    """``typosquat`` -> ``Typosquat``, ``unsafe-format`` -> ``UnsafeFormat`` (SARIF's PascalCase ``name``)."""
    return "".join(w[:1].upper() + w[1:] for w in _WORDS.split(rule_id) if w) or rule_id


def rule_descriptor(info, action: Optional[str] = None) -> dict:
    """One ``reportingDescriptor`` from a ``RuleInfo``: short/full description and help text + markdown."""
    summary = info.summary.strip() or info.id
    full = (info.help or info.summary).strip() or summary
    md = [f"**{info.id}**: {summary}", "", full]
    if info.options:
        md += ["", "Policy options under `[rules." + info.id + "]`:", ""]
        md += [f"- `{name}` (default `{opt.default!r}`): {opt.help}".rstrip(": ") for name, opt in sorted(info.options.items())]
    if info.example:
        md += ["", "Example:", "", "```", info.example, "```"]
    text = f"{summary}\n\n{full}" + (f"\n\nExample: {info.example}" if info.example else "")
    level = _LEVEL.get(action or info.default_action, "note")
    return {
        "id": info.id,
        "name": rule_name(info.id),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": "\n".join(md)},
        "defaultConfiguration": {"level": level, "enabled": (action or info.default_action) != "off"},
        "properties": {"tags": ["security", "supply-chain", *info.subjects]},
    }


def fingerprint(f: Finding, uri: str, occurrence: int = 0) -> str:
    """Stable across runs: rule, artifact, subject and the advisory id (never the line or wording).

    ``occurrence`` tells apart several findings with the same key (one rule flagging one index
    twice for different reasons), counted in report order, which is stable for the same input.
    """
    advisory = ""
    if f.details:
        advisory = str(f.details.get("id") or f.details.get("advisory") or "")
    key = "\x1f".join([f.rule, uri, f.subject, advisory] + ([str(occurrence)] if occurrence else []))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class SarifFormat(Format):
    """A SARIF 2.1.0 log with one run."""

    def __init__(self, *, cwd: Optional[str] = None, **kwargs):
        """Paths under ``cwd`` (default: the working directory) are written relative to ``%SRCROOT%``."""
        super().__init__(**kwargs)
        self.cwd = os.path.abspath(cwd or os.getcwd())

    def _location(self, f: Finding) -> tuple[dict, str]:
        """``(location, uri)``: a path under the working directory is relative to ``%SRCROOT%``."""
        if f.location and f.location.file:
            rel = relative_path(f.location.file, self.cwd)
            if rel is not None:
                # a URI reference: spaces, '#', '%' and non-ASCII in file names are percent-encoded
                rel = quote(rel.replace(os.sep, "/"), safe="/")
                artifact = {"uri": rel, "uriBaseId": SRCROOT}
                uri = rel
            elif os.path.isabs(f.location.file) or os.path.exists(f.location.file):
                uri = Path(os.path.abspath(f.location.file)).as_uri()
                artifact = {"uri": uri}
            else:  # a command-line target such as pypi:NAME: a URI with its own scheme
                uri = f.location.file
                artifact = {"uri": uri}
            physical = {"artifactLocation": artifact}
            if f.location.line:
                physical["region"] = {"startLine": int(f.location.line)}
            elif getattr(f.location, "offset", None) is not None:
                physical["region"] = {"byteOffset": int(f.location.offset)}
            return {"physicalLocation": physical}, uri
        # no file (a pypi:/hf: target): GitHub needs a location, so name the subject itself
        return {"physicalLocation": {"artifactLocation": {"uri": f.subject}}}, f.subject

    def _result(self, f: Finding, index: dict, seen: dict) -> dict:
        """One SARIF result for ``f``: rule index, level, message, location and a fingerprint unique per occurrence."""
        location, uri = self._location(f)
        base = fingerprint(f, uri)
        occurrence = seen.get(base, 0)
        seen[base] = occurrence + 1
        text = f.message + (f" Fix: {f.suggestion}" if f.suggestion else "")
        result = {
            "ruleId": f.rule,
            "level": _LEVEL.get(f.action or "warn", "note"),
            "message": {"text": text},
            "locations": [location],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, uri, occurrence)},
            "properties": {"subject": f.subject, "action": f.action},
        }
        if f.rule in index:
            result["ruleIndex"] = index[f.rule]
        if f.suggestion:
            result["properties"]["suggestion"] = f.suggestion
        if f.details:
            result["properties"]["details"] = json.loads(json.dumps(dict(f.details), default=str))
        if f.waived_by:
            result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": f"waiver {f.waived_by}"}]
        return result

    def document(self, decision: Decision) -> dict:
        """The SARIF log as a dict."""
        from .. import __version__
        from ..plugins import rule_infos

        infos = rule_infos()
        rules = []
        for rid in sorted(infos):
            action = self.policy.rule(rid).action if self.policy is not None else None
            rules.append(rule_descriptor(infos[rid], action))
        index = {r["id"]: i for i, r in enumerate(rules)}
        seen: dict = {}
        results = [self._result(f, index, seen) for f in (*decision.findings, *decision.waived)]
        run = {
            "tool": {"driver": {"name": "guardpolicy", "semanticVersion": __version__, "version": __version__,
                                "informationUri": INFORMATION_URI, "rules": rules}},
            "automationDetails": {"id": "guardpolicy/"},
            "originalUriBaseIds": {SRCROOT: {"uri": Path(self.cwd).as_uri().rstrip("/") + "/"}},
            "invocations": [{"executionSuccessful": True,
                             "properties": {"decision": decision.decision, "mode": decision.mode,
                                            "policyDigest": decision.policy_digest, "targets": list(self.targets)}}],
            "results": results,
        }
        return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}

    def format(self, decision: Decision) -> str:
        """Return indented SARIF JSON."""
        return json.dumps(self.document(decision), indent=2, ensure_ascii=False) + "\n"
