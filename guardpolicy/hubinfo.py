"""What the model rules know about a Hub repo: its files, commit, scan status and small files.

Facts come from, in order: the ``ModelRef`` itself (``files``; ``extra["local_dir"]`` for a
repo already on disk, as the runtime hooks and ``guard verify`` know it), and — only when
the command asked for network (``CheckOptions.offline`` is False: ``guard check --online``,
``guard lock``) — the Hub, through the real ``huggingface_hub`` client, imported lazily.
Answers are cached per run in ``CheckContext.cache`` so several rules cost one request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Tuple

from .fileio import walk_files as _walk_files
from .hubids import effective_endpoint, endpoint_allowed, is_local_only  # noqa: F401  (is_local_only: re-exported)
from .model import ModelRef

#: a full commit id as the Hub gives it
_COMMIT = re.compile(r"[0-9a-f]{40}")

#: small files rules read (config.json, adapter_config.json) are capped at this size
MAX_SMALL_FILE = 1 << 20
_SKIP_DIRS = {".cache", ".git", "__pycache__"}


class HubLookupError(Exception):
    """The Hub could not answer (repo or revision not found, network error); message says which."""


@dataclass(frozen=True)
class FileFacts:
    """A file's size, sha256 (the LFS oid, when the Hub gives one) and git blob id."""

    size: Optional[int] = None
    sha256: Optional[str] = None
    blob_id: Optional[str] = None


@dataclass(frozen=True)
class RepoFacts:
    """A repo at one commit as the Hub describes it. ``security`` is ``securityRepoStatus`` or ``None``."""

    repo_id: str
    repo_type: str
    endpoint: str
    commit: str
    files: Mapping[str, FileFacts] = field(default_factory=dict)
    security: Optional[dict] = None
    security_requested: bool = False


def _endpoint(model: ModelRef) -> str:
    """The Hub endpoint ``model`` is fetched from (its own, ``HF_ENDPOINT``, or huggingface.co)."""
    return effective_endpoint(model)


def fetch_repo_facts(model: ModelRef, security: bool = True, revision: Optional[str] = None) -> RepoFacts:
    """Ask the Hub (``HfApi(endpoint).model_info/repo_info(files_metadata=True)``); network."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    endpoint = _endpoint(model)
    api = HfApi(endpoint=endpoint)
    rev = revision if revision is not None else model.revision
    security = security and model.repo_type == "model"  # only model_info takes securityStatus
    try:
        if security:
            info = api.model_info(model.repo_id, revision=rev, files_metadata=True, securityStatus=True)
        else:
            info = api.repo_info(model.repo_id, repo_type=model.repo_type, revision=rev, files_metadata=True)
    except HfHubHTTPError as exc:
        raise HubLookupError(f"{model.subject}: the Hub at {endpoint} answered: {str(exc).splitlines()[0]}") from None
    except (OSError, ValueError) as exc:  # connection errors, bad URLs (httpx errors subclass neither, see below)
        raise HubLookupError(f"{model.subject}: cannot reach the Hub at {endpoint}: {exc}") from None
    except Exception as exc:  # httpx transport errors: keep the run alive, report it
        if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "requests", "urllib3"):
            raise HubLookupError(f"{model.subject}: cannot reach the Hub at {endpoint}: {exc}") from None
        if isinstance(exc, (KeyError, TypeError, AttributeError)):  # the client could not parse the answer
            raise HubLookupError(f"{model.subject}: the Hub at {endpoint} gave an answer guard cannot read "
                                 f"({type(exc).__name__}: {exc})") from None
        raise
    # a mirror or proxy can answer anything: the commit id ends up in guard.lock and cache keys
    if not isinstance(info.sha, str) or not _COMMIT.fullmatch(info.sha):
        raise HubLookupError(f"{model.subject}: the Hub at {endpoint} returned no valid commit id ({info.sha!r})")
    files = {}
    try:
        for s in info.siblings or ():
            lfs = s.lfs
            sha = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
            files[s.rfilename] = FileFacts(size=s.size, sha256=sha, blob_id=s.blob_id)
    except (AttributeError, TypeError) as exc:
        raise HubLookupError(f"{model.subject}: the Hub at {endpoint} gave a file list guard cannot read "
                             f"({type(exc).__name__}: {exc})") from None
    return RepoFacts(model.repo_id, model.repo_type, endpoint, info.sha, files,
                     getattr(info, "security_repo_status", None), security)


def may_contact(model: ModelRef, context, policy=None) -> bool:
    """True when this run may ask the ref's endpoint: online, and the endpoint is one the policy allows.

    A disallowed endpoint is never contacted (the ``source`` rule reports it): a hostile lock
    file or URL must not make guard send requests, or the user's HF token, to its host.
    """
    if context is None or context.options.offline:
        return False
    if policy is None:
        return True
    return endpoint_allowed(_endpoint(model), policy.sources.get("hub_endpoints", ()))


def repo_facts(model: ModelRef, context, policy=None) -> Optional[RepoFacts]:
    """Facts from the Hub, cached for the run; ``None`` when offline or the endpoint is not allowed.

    Raises ``HubLookupError`` when the Hub cannot answer.
    """
    if not may_contact(model, context, policy):
        return None
    key = ("hubinfo", _endpoint(model), model.repo_type, model.repo_id.lower(), model.revision)
    cache = context.cache
    if key not in cache:
        try:
            cache[key] = fetch_repo_facts(model)
        except HubLookupError as exc:
            cache[key] = exc
    value = cache[key]
    if isinstance(value, HubLookupError):
        raise value
    return value


def lookup_failure(model: ModelRef, context, policy=None) -> Optional[str]:
    """Why the Hub could not answer for ``model`` in a run that asked for it (``--online``), or ``None``.

    ``None`` also when the run is offline or may not contact the endpoint: then nothing was asked.
    Rules that need the Hub's answer turn this into a finding: a check the user asked for and
    could not be done fails closed instead of passing quietly.
    """
    if local_dir(model) is not None:
        return None
    try:
        repo_facts(model, context, policy)
    except HubLookupError as exc:
        return str(exc)
    return None


def local_dir(model: ModelRef) -> Optional[Path]:
    """The folder holding this repo's files on disk, when the subject says so."""
    d = (model.extra or {}).get("local_dir")
    return Path(d) if d and Path(d).is_dir() else None


def walk_files(root: Path) -> Tuple[str, ...]:
    """Relative POSIX paths of every file under ``root`` (skipping ``.cache``/``.git``), sorted."""
    return tuple(rel for rel, _ in _walk_files(root, _SKIP_DIRS))


def known_files(model: ModelRef, context, policy=None) -> Tuple[Tuple[str, ...], str]:
    """The repo's file paths and where they came from (``ref``, ``local``, ``hub``, or ``none``).

    Never raises: a failed Hub look-up falls back to what the ref itself lists.
    """
    d = local_dir(model)
    if d is not None:
        return walk_files(d), "local"
    try:
        facts = repo_facts(model, context, policy)
    except HubLookupError:
        facts = None
    if facts is not None:
        return tuple(sorted(facts.files)), "hub"
    if model.files:
        return tuple(model.files), "ref"
    return (), "none"


def json_object(data: bytes) -> dict:
    """A small repo file's JSON object (``config.json``...); ``{}`` when it is not JSON or not an object."""
    import json

    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def read_small_file(model: ModelRef, path: str, context, policy=None) -> Optional[bytes]:
    """The bytes of a small repo file (``config.json``...), from disk or — online — the Hub; else ``None``."""
    d = local_dir(model)
    if d is not None:
        p = d / path
        try:
            if p.is_file() and p.stat().st_size <= MAX_SMALL_FILE:
                return p.read_bytes()
        except OSError:
            return None
        return None
    if not may_contact(model, context, policy):
        return None
    key = ("hubfile", _endpoint(model), model.repo_type, model.repo_id.lower(), model.revision, path)
    if key in context.cache:
        return context.cache[key]
    data = None
    try:
        facts = repo_facts(model, context, policy)
        entry = facts.files.get(path) if facts else None
        if entry is not None and (entry.size is None or entry.size <= MAX_SMALL_FILE):
            data = _download(model, path, facts.commit, context)
    except HubLookupError:
        data = None
    context.cache[key] = data
    return data


def _download(model: ModelRef, path: str, commit: str, context) -> Optional[bytes]:
    """Fetch one file at ``commit`` into a per-run temp cache (never the user's HF cache)."""
    import atexit
    import shutil
    import tempfile

    from huggingface_hub import hf_hub_download

    tmp = context.cache.get("hubinfo-tmp")
    if tmp is None:
        tmp = tempfile.mkdtemp(prefix="guard-hub-")
        atexit.register(shutil.rmtree, tmp, True)
        context.cache["hubinfo-tmp"] = tmp
    try:
        local = hf_hub_download(model.repo_id, path, repo_type=model.repo_type, revision=commit,
                                endpoint=_endpoint(model), cache_dir=tmp)
        with open(local, "rb") as fh:
            return fh.read(MAX_SMALL_FILE + 1)[:MAX_SMALL_FILE]
    except Exception:  # a missing or unreadable optional file is "unknown", never a crash
        return None
