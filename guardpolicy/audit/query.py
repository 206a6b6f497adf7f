"""Reading the audit log back: records line by line, and the filters ``guard log`` applies.

Apart from ``audit.log`` (the writer every gated process imports) so that writing a decision
does not pay for the reader's classes.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional


@dataclass(frozen=True)
class BadLine:
    """A line of the log that is not a JSON object (a torn write from a crashed old tool, an edit)."""

    line: int
    reason: str


def read_records(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, record dict)`` or ``(line number, BadLine)`` for each non-empty line."""
    with open(path, "rb") as fh:
        for no, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                yield no, BadLine(no, f"not JSON ({exc})")
                continue
            if not isinstance(record, dict):
                yield no, BadLine(no, "not a JSON object")
                continue
            yield no, record


_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: Optional[_dt.datetime] = None) -> _dt.datetime:
    """``30m``, ``2h``, ``7d``, ``1w`` (ago), or an ISO date/datetime (UTC when naive) -> aware datetime.

    Raises ``ValueError`` with a readable message otherwise.
    """
    now = now or _dt.datetime.now(_dt.timezone.utc)
    m = _RELATIVE.match(text)
    if m:
        return now - _dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a time: {text!r} (use 30m, 2h, 7d, 1w, or an ISO date such as 2026-11-01)") from None
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def record_time(record: Mapping[str, Any]) -> Optional[_dt.datetime]:
    """The record's ``time`` as an aware datetime, or ``None`` when missing or malformed."""
    try:
        when = _dt.datetime.fromisoformat(str(record.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=_dt.timezone.utc)


def _pep503(text: str) -> str:
    """``text`` with the project-name part (before ``==`` / ``@``) PEP 503-normalised; lower-cased already.

    Hub ids and paths (a ``/`` or ``:`` in the name) are left alone: ``org/a_b`` and ``org/a-b`` differ.
    """
    name, sep, rest = text, "", ""
    for candidate in ("==", "@"):
        head, found, tail = text.partition(candidate)
        if found:
            name, sep, rest = head, candidate, tail
            break
    if "/" in name or ":" in name:
        return text
    return re.sub(r"[-_.]+", "-", name) + sep + rest


@dataclass(frozen=True)
class LogFilter:
    """What ``guard log`` keeps: every given criterion must hold (``None`` = any)."""

    decision: Optional[str] = None
    rule: Optional[str] = None
    subject: Optional[str] = None
    since: Optional[_dt.datetime] = None
    origin: Optional[str] = None

    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when ``record`` passes every criterion."""
        import fnmatch

        if self.decision and record.get("decision") != self.decision:
            return False
        if self.origin and record.get("origin") != self.origin:
            return False
        findings = record.get("findings")
        if self.rule and not any(isinstance(f, dict) and f.get("rule") == self.rule
                                 for f in (findings if isinstance(findings, list) else ())):
            return False
        if self.subject:
            pattern = self.subject.lower()
            names = [str(record.get(k) or "").lower() for k in ("subject", "name")]
            if "*" not in pattern and "?" not in pattern and "[" not in pattern:
                # package names compare as pip does (PEP 503: runs of -_. are one '-'); Hub ids have a '/'
                pattern, names = _pep503(pattern), [_pep503(n) for n in names]
                if not any(pattern == n or n.startswith(pattern + "==") or n.startswith(pattern + "@") for n in names):
                    return False
            elif not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                return False
        if self.since:
            when = record_time(record)
            if when is None or when < self.since:
                return False
        return True
