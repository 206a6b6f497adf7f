"""Hugging Face Hub ids and endpoints: repo id and revision syntax, endpoint normalisation and
allow-list matching, and whether a subject is a local folder. Stdlib-only (bottom layer): the Hub
source, the lock file, the ``source`` rule and ``hubinfo`` all use these without importing each other."""

from __future__ import annotations

import os
import re
from typing import Optional
from urllib.parse import urlsplit

from .model import ModelRef

DEFAULT_ENDPOINT = "https://huggingface.co"
#: a Hub repo id part: letters, digits, ``-``, ``_``, ``.``; no leading/trailing ``-``/``.``,
#: no ``--`` or ``..`` (huggingface_hub's ``validate_repo_id`` rules), at most 96 characters
_PART = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?$")


def valid_repo_id(repo_id: str) -> bool:
    """True for ``org/name`` or a legacy ``name`` made of valid Hub id parts."""
    parts = repo_id.split("/")
    return 1 <= len(parts) <= 2 and all(_PART.match(p) for p in parts)


_BAD_REF_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


def valid_revision(rev: str) -> bool:
    """True for a revision git could name (``git check-ref-format`` rules): a branch, tag,
    ``refs/pr/N``, or commit id; never ``..``, ``@{``, control characters, spaces, ``~^:?*[\\``,
    an empty component, a component starting with ``.`` or ending with ``.lock``, or a trailing ``.``."""
    if not rev or rev == "@" or ".." in rev or "@{" in rev or _BAD_REF_CHARS.search(rev) or rev.endswith("."):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock") for part in rev.split("/"))


def normalize_endpoint(url: str) -> str:
    """``scheme://host[:port][/path]`` lower-cased host, no default port, no trailing slash."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # a host "[" without "]": not an endpoint anything can reach
        return url.rstrip("/")
    if not parts.scheme or not parts.netloc:
        return url.rstrip("/")
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    netloc = host if port in (None, default) else f"{host}:{port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


def effective_endpoint(model: ModelRef, env: Optional[dict] = None) -> str:
    """The endpoint a ref is fetched from: its own, else ``HF_ENDPOINT``, else the public Hub."""
    env = os.environ if env is None else env
    return normalize_endpoint(model.endpoint or env.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)


def url_glob_matches(url: str, pattern: str) -> bool:
    """True when normalised ``url`` matches glob ``pattern`` or lies under what it matches.

    ``*`` and ``?`` never match ``/``: ``https://*.acme.example/simple`` admits
    ``https://pypi.acme.example/simple`` but not ``https://evil.example/.acme.example/simple``
    (``fnmatch``'s ``*`` would, letting any host through an org's wildcard).
    """
    regex = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex + "(?:/.*)?", url, re.S) is not None


#: names of the public Hub that are the same endpoint
HUB_ALIASES = {"https://huggingface.co", "https://hf.co", "https://www.huggingface.co"}


def endpoint_allowed(endpoint: str, allowed) -> bool:
    """True when the normalised ``endpoint`` equals (or glob-matches) an allowed endpoint."""
    e = normalize_endpoint(endpoint)
    for a in allowed:
        n = normalize_endpoint(a)
        if e == n or url_glob_matches(e, n) or (e in HUB_ALIASES and n in HUB_ALIASES):
            return True
    return False


def is_local_only(model: ModelRef) -> bool:
    """A folder on disk standing for a repo (``guard check DIR``), not a Hub reference: rules about
    references (pinning, endpoint, org, repo id, the Hub's scan) have nothing to judge."""
    return bool((model.extra or {}).get("local_only"))
