"""What a package index says about a project: its files, their upload times, its releases.

One PEP 691 JSON request to the index's simple page (``<index>/<name>/``) answers it for any
index, PyPI or a private one. Rules use it only when the check may use the network
(``guard check --online``, or the pip hook, which is online anyway): ``release-age`` for one
version's upload time, ``typosquat`` to confirm a weak look-alike (an established project, or
one created days ago). Answers are remembered on disk for a day (``project_facts``), so the
same name costs one request a day per machine.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .durations import parse_time  # noqa: F401  (re-exported: rules.release_age and callers)
from .filenames import version_from_filename
from .names import canonicalize_name

DEFAULT_INDEX = "https://pypi.org/simple"
#: how long a remembered answer is used before the index is asked again
FACTS_TTL = 24 * 3600
#: larger answers are not read (PyPI's biggest project pages are a few MB)
MAX_PAGE = 20_000_000


def index_for(package) -> str:
    """The index whose JSON API to ask about ``package``: the one pip found the file on, else the
    first http(s) index-url, else PyPI."""
    if package.extra.get("index"):
        return str(package.extra["index"])
    for ref in package.indexes:
        if ref.kind == "index-url" and ref.url.startswith(("http://", "https://")):
            return ref.url
    return DEFAULT_INDEX


class NotFound(Exception):
    """The index has no project of that name (HTTP 404)."""


def simple_json(index: str, name: str, timeout: float = 5.0) -> dict:
    """The index's PEP 691 project page for ``name``; ``NotFound`` on 404; ``OSError``/``ValueError`` otherwise."""
    import urllib.error
    import urllib.request

    url = f"{index.rstrip('/')}/{canonicalize_name(name)}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (index URL from the user's config)
            data = json.loads(resp.read(MAX_PAGE))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(url) from None
        raise OSError(f"{url}: HTTP {exc.code}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{url}: not a PEP 691 project page")
    return data


def file_versions(data: dict, name: str) -> list:
    """``(version, upload time or None)`` for every file on a PEP 691 page (files whose version cannot be read are skipped)."""

    out = []
    for f in data.get("files", ()) if isinstance(data.get("files"), list) else ():
        if not isinstance(f, dict):
            continue
        version = version_from_filename(str(f.get("filename", "")), name)
        if version:
            out.append((version, parse_time(f.get("upload-time"))))
    return out


@dataclass(frozen=True)
class ProjectFacts:
    """What the index says about a project: does it exist, when was its first file uploaded, how many releases."""

    exists: bool
    first_upload: Optional[_dt.datetime] = None
    releases: int = 0

    def to_json(self) -> dict:
        return {"exists": self.exists, "releases": self.releases,
                "first_upload": self.first_upload.isoformat() if self.first_upload else None}

    @classmethod
    def from_json(cls, data: dict) -> "ProjectFacts":
        return cls(bool(data.get("exists")), parse_time(data.get("first_upload")), int(data.get("releases") or 0))


def facts_from_page(data: dict, name: str) -> ProjectFacts:
    """``ProjectFacts`` of a PEP 691 page."""
    files = file_versions(data, name)
    times = [t for _, t in files if t is not None]
    return ProjectFacts(True, min(times) if times else None, len({v for v, _ in files}))


def _facts_cache(env=None) -> Path:
    # lazy: the decision cache module is needed only when a network answer is remembered
    from .userfiles import default_dir

    return default_dir(env=env) / "project-facts"


def project_facts(index: str, name: str, *, now: Optional[float] = None, timeout: float = 5.0,
                  env=None) -> Optional[ProjectFacts]:
    """``ProjectFacts`` for ``name`` on ``index`` (remembered for ``FACTS_TTL``), or ``None`` when the index cannot say.

    ``None`` (network error, unreadable answer) is never remembered: the next check asks again.
    """
    import hashlib
    import time

    now = time.time() if now is None else now
    key = hashlib.sha256(f"{index.rstrip('/')}\n{canonicalize_name(name)}".encode()).hexdigest()[:32]
    path = _facts_cache(env) / f"{key}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if now - float(cached["fetched"]) < FACTS_TTL:
            return ProjectFacts.from_json(cached["facts"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        facts = facts_from_page(simple_json(index, name, timeout=timeout), name)
    except NotFound:
        facts = ProjectFacts(False)
    except (OSError, ValueError):
        return None
    try:  # best effort: a read-only cache only costs the next request
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fetched": now, "facts": facts.to_json()}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return facts
