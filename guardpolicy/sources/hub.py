"""Hugging Face Hub references: ``hf:`` targets, Hub URLs, ref-list files and ``guard.lock``.

Accepted forms (``REV`` may be a branch, tag, ``refs/pr/N`` or a 40-hex commit)::

    hf:ORG/NAME[@REV]            hf:datasets/ORG/NAME[@REV]     hf:spaces/ORG/NAME[@REV]
    hf:models/ORG/NAME[@REV]     hf://datasets/ORG/NAME[@REV]   hf:gpt2 (legacy id)
    https://huggingface.co/ORG/NAME[/tree/REV[/DIR]]
    https://huggingface.co/ORG/NAME/blob/REV/PATH   .../resolve/REV/PATH   .../commit/SHA
    https://huggingface.co/datasets/ORG/NAME/...    https://huggingface.co/spaces/ORG/NAME/...

A Hub URL's endpoint (scheme, host, port) is kept on the ``ModelRef`` so the ``source`` rule
can judge it; ``hf:`` refs carry no endpoint (the rule then uses ``HF_ENDPOINT`` or
``https://huggingface.co``).

A *ref-list file* lists such refs, one per line; ``#`` starts a comment. It is recognised by
its name (``*.hfrefs``) or by content: every non-comment line is an ``hf:`` ref or a Hub repo
URL (and none is a Python distribution URL, so a requirements file is never taken for one).

Everything here is pure parsing; no network, no huggingface_hub import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, List, Optional, Tuple, Union
from urllib.parse import unquote, urlsplit

# repo ids and endpoints live in guardpolicy.hubids; re-exported here for callers, tests and plugins
from ..hubids import (  # noqa: F401
    _BAD_REF_CHARS,
    _PART,
    DEFAULT_ENDPOINT,
    effective_endpoint,
    normalize_endpoint,
    valid_repo_id,
    valid_revision,
)
from ..lockfile import LockError, read_lock
from ..model import Finding, Location, ModelRef
from .interface import Source, SourceError

#: host names that are always the public Hub
HUB_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")
#: ``hf:`` prefixes -> repo type
TYPE_PREFIXES = {"models": "model", "datasets": "dataset", "spaces": "space"}
#: first URL path segments that are Hub pages, not repo owners
RESERVED_OWNERS = frozenset({
    "api", "docs", "blog", "models", "settings", "login", "join", "logout", "organizations", "papers",
    "collections", "tasks", "learn", "pricing", "enterprise", "new", "new-dataset", "new-space", "search",
    "posts", "chat", "spaces-explore", "inference-endpoints", "notifications", "privacy", "terms-of-service",
    "oauth", "static-proxy", "_next", "front", "avatars", "buckets",
})
#: URL actions after ``ORG/NAME`` that carry a revision
REV_ACTIONS = ("tree", "blob", "resolve", "commit", "raw", "edit")
_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".egg")
REFS_SUFFIX = ".hfrefs"
#: ref-list sniffing reads at most this much of a file
SNIFF_LIMIT = 1 << 20


class RefError(ValueError):
    """A string that looks like a Hub reference but is not a valid one (message says why)."""


def parse_hf_ref(text: str, location: Optional[Location] = None) -> ModelRef:
    """Parse ``hf:[TYPE/]ORG/NAME[@REV]`` (also ``hf://``); raise ``RefError`` when invalid."""
    raw = text.strip()
    if not raw.lower().startswith("hf:"):
        raise RefError(f"{raw!r} is not an hf: reference")
    body = raw[3:]
    if body.startswith("//"):
        body = body[2:]
    repo_type = "model"
    first = body.split("/", 1)[0]
    if first in TYPE_PREFIXES and "/" in body:
        repo_type, body = TYPE_PREFIXES[first], body.split("/", 1)[1]
    repo_id, sep, revision = body.partition("@")
    repo_id = repo_id.strip("/")
    if sep and not revision:
        raise RefError(f"{raw!r}: empty revision after '@'")
    if not repo_id:
        raise RefError(f"{raw!r}: no repository id (expected hf:ORG/NAME[@REV])")
    if not valid_repo_id(repo_id):
        raise RefError(f"{raw!r}: {repo_id!r} is not a valid Hub repository id (expected ORG/NAME)")
    if revision and not valid_revision(revision):
        raise RefError(f"{raw!r}: {revision!r} is not a valid revision (a branch, tag or commit id)")
    return ModelRef(repo_id=repo_id, repo_type=repo_type, revision=revision or None, location=location)


def is_hub_host(url: str, env: Optional[dict] = None) -> bool:
    """True when ``url`` is on the public Hub or on the ``HF_ENDPOINT`` host."""
    env = os.environ if env is None else env
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:  # a host "[" without "]": no Hub host
        return False
    if host in HUB_HOSTS:
        return True
    custom = env.get("HF_ENDPOINT")
    return bool(custom) and normalize_endpoint(url).startswith(normalize_endpoint(custom) + "/")


def parse_hub_url(url: str, location: Optional[Location] = None, env: Optional[dict] = None) -> ModelRef:
    """Parse a Hub web/download URL into a ``ModelRef``; raise ``RefError`` when it names no repo.

    The endpoint is the URL's scheme and host (plus the ``HF_ENDPOINT`` path prefix when the
    URL lies under it). ``/blob/`` and ``/resolve/`` URLs name one file (``files``); a
    ``/tree/REV/DIR`` URL keeps the folder in ``extra["path"]``.
    """
    env = os.environ if env is None else env
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise RefError(f"{url!r} is not a usable URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RefError(f"{url!r} is not an http(s) URL")
    base = normalize_endpoint(f"{parts.scheme}://{parts.netloc}")
    segs = [s for s in parts.path.split("/") if s]
    custom = env.get("HF_ENDPOINT")
    if custom and "[" not in custom:  # a mirror mounted under a path prefix: strip it
        cparts = urlsplit(normalize_endpoint(custom))
        prefix = [s for s in cparts.path.split("/") if s]
        if prefix and normalize_endpoint(f"{cparts.scheme}://{cparts.netloc}") == base and segs[:len(prefix)] == prefix:
            base, segs = f"{base}/{'/'.join(prefix)}", segs[len(prefix):]
    repo_type = "model"
    if segs and segs[0] in TYPE_PREFIXES and segs[0] != "models":
        repo_type, segs = TYPE_PREFIXES[segs[0]], segs[1:]
    if not segs or segs[0] in RESERVED_OWNERS:
        raise RefError(f"{url!r} does not name a Hub repository")
    # ORG/NAME, or a legacy NAME directly followed by an action
    n = 1 if len(segs) == 1 or segs[1] in REV_ACTIONS else 2
    repo_id = "/".join(unquote(s) for s in segs[:n])
    rest = [unquote(s) for s in segs[n:]]
    if not valid_repo_id(repo_id):
        raise RefError(f"{url!r}: {repo_id!r} is not a valid Hub repository id")
    revision, files, extra = None, (), {}
    if rest:
        action = rest[0]
        if action not in REV_ACTIONS:
            raise RefError(f"{url!r}: '/{action}/' is not a repository file or revision page")
        if len(rest) < 2:
            raise RefError(f"{url!r}: no revision after '/{action}/'")
        revision, after = rest[1], 2
        if revision == "refs" and len(rest) >= 4 and rest[2] in ("pr", "convert"):
            # refs/pr/N and refs/convert/NAME pasted unescaped: one revision, not the branch "refs"
            revision, after = "/".join(rest[1:4]), 4
        path = "/".join(rest[after:])
        if not valid_revision(revision):
            raise RefError(f"{url!r}: {revision!r} is not a valid revision (a branch, tag or commit id)")
        if action in ("blob", "resolve", "raw", "edit"):
            if not path:
                raise RefError(f"{url!r}: no file path after the revision")
            files = (path,)
        elif path:
            extra = {"path": path}
    return ModelRef(repo_id=repo_id, repo_type=repo_type, revision=revision, endpoint=base, files=files,
                    location=location, extra=extra)


def looks_like_hub_url(text: str, env: Optional[dict] = None) -> bool:
    """True for an http(s) URL on a Hub host that is not a Python distribution file."""
    t = text.strip()
    if not t.lower().startswith(("http://", "https://")) or t.lower().split("#", 1)[0].endswith(_DIST_SUFFIXES):
        return False
    return is_hub_host(t, env)


def is_hub_ref(text: str, env: Optional[dict] = None) -> bool:
    """True when ``text`` is meant as a Hub reference (``hf:`` or a Hub URL), valid or not."""
    t = text.strip()
    return t.lower().startswith("hf:") or looks_like_hub_url(t, env)


def parse_ref(text: str, location: Optional[Location] = None, env: Optional[dict] = None) -> ModelRef:
    """Parse an ``hf:`` ref or a Hub URL (``RefError`` when invalid)."""
    t = text.strip()
    if t.lower().startswith("hf:"):
        return parse_hf_ref(t, location)
    return parse_hub_url(t, location, env)


def strip_comment(line: str) -> str:
    """A ref-list line without its ``#`` comment (``#`` starts a comment at line start or after a blank)."""
    s = line.strip()
    if s.startswith("#"):
        return ""
    m = re.search(r"\s#", s)
    return (s[:m.start()] if m else s).strip()


def iter_ref_lines(text: str) -> Iterator[Tuple[int, str]]:
    """Yield ``(line number, ref text)`` for every non-blank, non-comment line."""
    for no, raw in enumerate(text.splitlines(), 1):
        s = strip_comment(raw)
        if s:
            yield no, s


def is_ref_list_text(text: str, env: Optional[dict] = None) -> bool:
    """True when every non-comment line is a Hub ref and there is at least one."""
    seen = False
    for _, s in iter_ref_lines(text):
        # judged by the first word only, so a malformed ref still makes an ``invalid`` finding
        # in the ref list instead of sending the whole file to the requirements reader
        if not is_hub_ref(s.split()[0], env):
            return False
        seen = True
    return seen


def is_ref_list_file(path: Path, env: Optional[dict] = None) -> bool:
    """``*.hfrefs``, or a small text file (not ``requirements*``/``constraints*``) whose lines are all Hub refs."""
    name = path.name.lower()
    if name.endswith(REFS_SUFFIX):
        return True
    if name.startswith(("requirements", "constraints")) or name.endswith((".toml", ".json", ".lock", ".in", ".cfg", ".py")):
        return False
    try:
        if not path.is_file() or path.stat().st_size > SNIFF_LIMIT:
            return False
        with open(path, "rb") as fh:
            data = fh.read(SNIFF_LIMIT)
        text = data.decode("utf-8-sig")  # a BOM (Windows editors) is not part of the first ref
    except (OSError, UnicodeDecodeError):
        return False
    return is_ref_list_text(text, env)


class HubRefSource(Source):
    """One ``hf:`` target or Hub URL typed on the command line."""

    def __init__(self, target: str):
        """One ``hf:`` reference or Hub URL, as given on the command line."""
        self.target = target
        self.name = target

    def collect(self) -> Iterator[Union[ModelRef, Finding]]:
        """Yield the ``ModelRef`` (``SourceError`` when the target is not a valid ref)."""
        try:
            yield parse_ref(self.target)
        except RefError as exc:
            raise SourceError(str(exc)) from None


class RefListSource(Source):
    """A text file of Hub refs, one per line; a bad line is an ``invalid`` finding, not an abort."""

    def __init__(self, path: Union[str, Path]):
        """A text file with one Hub reference per line."""
        self.path = Path(path)
        self.name = str(path)

    def collect(self) -> Iterator[Union[ModelRef, Finding]]:
        """Yield a ``ModelRef`` per line, ``invalid`` findings for lines that are not refs."""
        from ..fileio import decode_utf8, error_line, read_bytes_limited

        try:
            data = read_bytes_limited(self.path)
            text = decode_utf8(data)
        except OSError as exc:
            raise SourceError(f"cannot read: {exc.strerror or exc}", file=str(self.path)) from None
        except UnicodeDecodeError as exc:
            raise SourceError(f"not UTF-8 (byte 0x{data[exc.start]:02x})", file=str(self.path),
                              line=error_line(data, exc)) from None
        for no, s in iter_ref_lines(text):
            loc = Location(str(self.path), no)
            try:
                yield parse_ref(s, loc)
            except RefError as exc:
                yield Finding(rule="invalid", subject=s, message=str(exc), location=loc,
                              suggestion="write hf:ORG/NAME@COMMIT or a https://huggingface.co/ORG/NAME/tree/REV URL")


def parse_refs(targets: List[str]) -> List[ModelRef]:
    """Parse several ref strings (``RefError`` on the first bad one); used by ``guard lock``."""
    return [parse_ref(t) for t in targets]


_LOCK_REPO_TABLE = re.compile(r"(?m)^\s*\[\[\s*repo\s*\]\]")
_PACKAGE_TABLE = re.compile(r"(?m)^\s*\[\[\s*packages?\s*\]\]")


class LockSource(Source):
    """``guard.lock``: yields each locked repo as a ``ModelRef`` pinned to its commit."""

    def __init__(self, path: Union[str, Path]):
        """A ``guard.lock`` file."""
        self.path = Path(path)
        self.name = str(path)

    def collect(self) -> Iterator[ModelRef]:
        """Yield one ``ModelRef`` per ``[[repo]]`` (``SourceError`` for an unusable lock)."""
        try:
            lock = read_lock(self.path)
        except LockError as exc:
            raise SourceError(str(exc)) from None
        for repo in lock.repos:
            yield repo.to_model_ref(str(self.path))


def is_lock_file(path: Path) -> bool:
    """``guard.lock`` or ``*.guard.lock`` by name; another ``*.lock``/``*.toml`` by content
    (``[[repo]]`` tables and no ``[[package]]``: ``guard check ci/models.lock``)."""
    name = path.name.lower()
    if name == "guard.lock" or name.endswith(".guard.lock"):
        return True
    if not name.endswith((".lock", ".toml")) or name in ("uv.lock", "pyproject.toml"):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192).decode("utf-8", errors="replace")  # [[repo]] comes first in a guard lock
    except OSError:
        return False
    return bool(_LOCK_REPO_TABLE.search(head)) and not _PACKAGE_TABLE.search(head)
