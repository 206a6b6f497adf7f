"""Read OSV records (https://ossf.github.io/osv-schema/): does a record affect a version, what fixes it, how bad is it.

Pure functions over the parsed JSON, so the offline database and the online adapter judge
records the same way.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping, Optional

from packaging.version import InvalidVersion, Version

from .interface import Advisory

LEVELS = ("none", "low", "medium", "high", "critical")
#: GitHub advisory database words (``database_specific.severity``) -> our levels
_WORDS = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical", "none": "none"}
_CANON = re.compile(r"[-_.]+")


def canonical(name: str) -> str:
    """PEP 503 name."""
    return _CANON.sub("-", name).lower()


def _version(text: Any) -> Optional[Version]:
    try:
        return Version(str(text))
    except (InvalidVersion, TypeError):
        return None


def pypi_affected(record: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    """The record's ``affected`` entries for PyPI package ``name`` (compared as PEP 503 names)."""
    want = canonical(name)
    out = []
    for entry in record.get("affected") or ():
        pkg = (entry.get("package") or {}) if isinstance(entry, dict) else {}
        if isinstance(pkg, dict) and pkg.get("ecosystem") == "PyPI" and canonical(str(pkg.get("name", ""))) == want:
            out.append(entry)
    return out


def range_affects(events: Iterable[Mapping[str, Any]], version: Version) -> bool:
    """OSV range evaluation: sorted events; ``introduced`` opens, ``fixed`` (exclusive) and ``last_affected`` (inclusive) close."""
    points = []
    for e in events:
        if not isinstance(e, dict):
            continue
        for kind in ("introduced", "fixed", "last_affected", "limit"):
            if kind in e:
                v = Version("0") if kind == "introduced" and str(e[kind]) == "0" else _version(e[kind])
                if v is not None:
                    points.append((v, kind))
    # at equal versions, closing events sort after "introduced" so `introduced X, fixed X` is empty
    order = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}
    affected = False
    for v, kind in sorted(points, key=lambda p: (p[0], order[p[1]])):
        if kind == "introduced" and version >= v:
            affected = True
        elif kind == "fixed" and version >= v:
            affected = False
        elif kind == "last_affected" and version > v:
            affected = False
        elif kind == "limit" and version >= v:
            affected = False
    return affected


def affects(record: Mapping[str, Any], name: str, version: str) -> bool:
    """True when the (not withdrawn) record affects PyPI ``name==version``."""
    if record.get("withdrawn"):
        return False
    v = _version(version)
    for entry in pypi_affected(record, name):
        listed = entry.get("versions") or ()
        if version in listed or (v is not None and any(_version(x) == v for x in listed)):
            return True
        if v is None:
            continue
        for r in entry.get("ranges") or ():
            if isinstance(r, dict) and r.get("type") in ("ECOSYSTEM", "SEMVER") and range_affects(r.get("events") or (), v):
                return True
    return False


def fixed_versions(record: Mapping[str, Any], name: str, version: Optional[str] = None) -> tuple[str, ...]:
    """Every ``fixed`` version for PyPI ``name`` (above ``version`` when given), ascending."""
    v = _version(version) if version else None
    found = set()
    for entry in pypi_affected(record, name):
        for r in entry.get("ranges") or ():
            for e in (r.get("events") or ()) if isinstance(r, dict) else ():
                fx = _version(e.get("fixed")) if isinstance(e, dict) and "fixed" in e else None
                if fx is not None and (v is None or fx > v):
                    found.add(fx)
    return tuple(str(x) for x in sorted(found))


# ---------------------------------------------------------------- CVSS

_V3 = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_V3_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V2 = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
}


def _metrics(vector: str) -> dict:
    out = {}
    for part in vector.split("/"):
        if ":" in part:
            k, _, v = part.partition(":")
            out[k.strip()] = v.strip()
    return out


def _roundup(x: float) -> float:
    """CVSS 3.1 Roundup: the smallest one-decimal number >= x (with the spec's float guard)."""
    i = round(x * 100000)
    return i / 100000.0 if i % 10000 == 0 else (math.floor(i / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> Optional[float]:
    """Base score of a ``CVSS:3.0/...`` or ``CVSS:3.1/...`` vector; ``None`` when it is not a valid v3 base vector."""
    m = _metrics(vector)
    if not str(m.get("CVSS", "")).startswith("3"):
        return None
    try:
        scope = m["S"]
        av, ac, ui = _V3["AV"][m["AV"]], _V3["AC"][m["AC"]], _V3["UI"][m["UI"]]
        pr = _V3_PR[scope][m["PR"]]
        c, i, a = (_V3["C"][m[k]] for k in ("C", "I", "A"))
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    impact = 6.42 * iss if scope == "U" else 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    total = impact + exploitability if scope == "U" else 1.08 * (impact + exploitability)
    return _roundup(min(total, 10.0))


def cvss2_base_score(vector: str) -> Optional[float]:
    """Base score of a CVSS v2 vector (``AV:N/AC:L/Au:N/C:P/I:P/A:P``); ``None`` when invalid."""
    m = _metrics(vector)
    try:
        av, ac, au = _V2["AV"][m["AV"]], _V2["AC"][m["AC"]], _V2["Au"][m["Au"]]
        c, i, a = (_V2["C"][m[k]] for k in ("C", "I", "A"))
    except KeyError:
        return None
    impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
    exploitability = 20 * av * ac * au
    f = 0.0 if impact == 0 else 1.176
    return round(((0.6 * impact) + (0.4 * exploitability) - 1.5) * f, 1)


def level_of_score(score: float) -> str:
    """CVSS qualitative rating: 0 none, <4 low, <7 medium, <9 high, else critical."""
    if score <= 0:
        return "none"
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "medium"
    if score < 9.0:
        return "high"
    return "critical"


def severity_of(record: Mapping[str, Any], name: Optional[str] = None) -> tuple[str, Optional[float], Optional[str]]:
    """``(level, score, vector)`` of a record.

    Order: a CVSS v3 vector (scored here), the database's own word (GHSA
    ``database_specific.severity``, or the affected entry's ``ecosystem_specific`` /
    ``database_specific`` severity), then a CVSS v2 vector; else ``("unknown", None, None)``.
    CVSS v4 vectors are not scored (their scoring needs the spec's lookup tables): the
    database's word is used for them.
    """
    vectors = {}
    for s in record.get("severity") or ():
        if isinstance(s, dict) and isinstance(s.get("score"), str):
            vectors.setdefault(str(s.get("type", "")).upper(), s["score"])
    v3 = vectors.get("CVSS_V3")
    if v3:
        score = cvss3_base_score(v3)
        if score is not None:
            return level_of_score(score), score, v3
    words = [(record.get("database_specific") or {}).get("severity")]
    for entry in (pypi_affected(record, name) if name else record.get("affected") or ()):
        if isinstance(entry, dict):
            words.append((entry.get("ecosystem_specific") or {}).get("severity"))
            words.append((entry.get("database_specific") or {}).get("severity"))
    for w in words:
        if isinstance(w, str) and w.strip().lower() in _WORDS:
            return _WORDS[w.strip().lower()], None, vectors.get("CVSS_V4") or None
    v2 = vectors.get("CVSS_V2")
    if v2:
        score = cvss2_base_score(v2)
        if score is not None:
            return level_of_score(score), score, v2
    return "unknown", None, vectors.get("CVSS_V4") or None


def advisory_from_record(record: Mapping[str, Any], name: str, version: str, source: str) -> Advisory:
    """An ``Advisory`` for ``name==version`` from one OSV record."""
    level, score, vector = severity_of(record, name)
    summary = str(record.get("summary") or "").strip() or str(record.get("details") or "").strip().split("\n", 1)[0][:200]
    aliases = tuple(str(a) for a in record.get("aliases") or () if str(a) != record.get("id"))
    return Advisory(id=str(record.get("id")), aliases=aliases, summary=summary,
                    fixed=fixed_versions(record, name, version), severity=level, score=score, vector=vector,
                    source=source, published=record.get("published"))
