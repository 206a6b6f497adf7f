"""Pure checks the Hub patches share: revisions, file formats by name, and ``guard.lock`` entries.

Nothing here touches ``huggingface_hub`` or the network: every function takes plain values and
returns plain values or ``Finding`` objects, so each is tested on its own (tests/test_runtime_hub_checks.py)
and the patches in ``guardpolicy.runtime.hf`` stay thin.
"""

from __future__ import annotations

import os
import re
from typing import Any, Iterable, Mapping, Optional, Tuple

from ..fileio import walk_files as _walk_files
from ..model import Finding, ModelRef

_COMMIT = re.compile(r"^[0-9a-f]{40}$")

#: file suffix (lower case) -> the format name used in ``[hub] allowed_formats``
FORMAT_BY_SUFFIX = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".ggml": "gguf",
    ".onnx": "onnx",
    ".bin": "torch",
    ".pt": "torch",
    ".pth": "torch",
    ".ckpt": "torch",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
    ".npy": "numpy",
    ".npz": "numpy",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".keras": "keras",
}

#: format -> the family ``[hub] allowed_formats`` may name instead (as ``guardpolicy.scan.detect.FAMILIES``)
FAMILY = {"torch": "pickle", "joblib": "pickle", "pickle": "pickle"}

#: formats whose loaders may unpickle (arbitrary code on load): allowed only after a clean scan
PICKLE_FORMATS = frozenset({"torch", "pickle", "joblib", "numpy"})

#: directories inside a returned snapshot / local_dir that are bookkeeping, not repo files
SKIP_DIRS = frozenset({".cache", ".git", ".huggingface"})


def is_commit(revision: Any) -> bool:
    """True when ``revision`` is a full 40-hex commit id (lower case, as the Hub writes them)."""
    return isinstance(revision, str) and bool(_COMMIT.match(str(revision)))


def requested_revision(revision: Any) -> Optional[str]:
    """The revision the caller asked for, as text (``None`` = the default branch).

    huggingface_hub 2.x passes ``ResolvedRevision``: a ``str`` whose value is the requested ref
    with ``.initial`` (what the user asked for, ``None`` = main) and ``.resolved`` (the sha). It
    counts as pinned only when ``.initial`` itself is a commit, so an unpinned call is never
    laundered into a pinned one by resolving it first.
    """
    if revision is None:
        return None
    if hasattr(revision, "resolved") and hasattr(revision, "initial"):
        initial = revision.initial
        return None if initial is None else str(initial)
    return str(revision)


def resolved_commit(revision: Any) -> Optional[str]:
    """The commit a revision is already known to point at (``ResolvedRevision.resolved`` or a sha)."""
    if revision is None:
        return None
    resolved = getattr(revision, "resolved", None)
    if is_commit(resolved):
        return str(resolved)
    return str(revision) if is_commit(str(revision)) else None


def join_repo_path(filename: str, subfolder: Optional[str] = None) -> str:
    """The path inside the repo, as huggingface_hub builds it (``subfolder/filename``)."""
    filename = str(filename).replace("\\", "/")
    return f"{subfolder.strip('/')}/{filename}" if subfolder else filename


def format_by_name(path: str) -> Optional[str]:
    """The model format a file name announces (``torch`` for ``pytorch_model.bin``), or ``None``."""
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1].lower()
    for suffix, fmt in FORMAT_BY_SUFFIX.items():
        if name.endswith(suffix):
            return fmt
    return None


def hub_settings(policy) -> Tuple[Optional[Tuple[str, ...]], bool]:
    """``([hub] allowed_formats or None for any, [hub] scan_pickles (default true))``."""
    hub = policy.section("hub")
    allowed = hub.get("allowed_formats")
    return (tuple(a.lower() for a in allowed) if allowed is not None else None, bool(hub.get("scan_pickles", True)))


def file_subject(model: ModelRef, path: str) -> str:
    """How findings name a file of a repo: ``hf:org/name@rev/path``."""
    return f"{model.subject}/{path}"


def name_findings(model: ModelRef, paths: Iterable[str], policy) -> list:
    """``format`` findings for files whose *name* says a format the policy does not allow.

    Decided before a byte is fetched. The content is judged again after the download (a pickle
    renamed ``.safetensors`` is caught by the scanner, not here).
    """
    allowed, scan = hub_settings(policy)
    out = []
    for path in paths:
        fmt = format_by_name(path)
        if fmt is None or allowed is None or fmt in allowed or FAMILY.get(fmt, fmt) in allowed:
            continue
        extra = " (pickle-based: loading it can run code)" if fmt in PICKLE_FORMATS else ""
        out.append(Finding(
            rule="format", subject=file_subject(model, path),
            message=f"{path} is {fmt}{extra}; the policy allows only {', '.join(allowed) or 'no model formats'}",
            suggestion="download an allowed format (e.g. allow_patterns=['*.safetensors']) or add "
                       f"'{fmt}' to [hub] allowed_formats",
            details={"format": fmt, "path": path}))
    return out


def needs_scan(path: str, policy) -> bool:
    """True when a file must be scanned before it is handed over (pickle-based name, scanning on)."""
    return hub_settings(policy)[1] and format_by_name(path) in PICKLE_FORMATS


def commit_from_path(path: str) -> Optional[str]:
    """The commit of a cached file or snapshot folder (``.../snapshots/<sha>[/...]``), or ``None``."""
    parts = str(path).replace("\\", "/").rstrip("/").split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "snapshots" and is_commit(parts[i + 1]):
            return parts[i + 1]
    return None


def walk_files(root: str) -> list:
    """``(path inside the repo, local path)`` for every file under a snapshot / local_dir folder."""
    return _walk_files(root, SKIP_DIRS)


_FS_TYPES = {"datasets": "dataset", "spaces": "space", "models": "model"}


def parse_fs_path(path: str, revision: Optional[str] = None) -> Optional[Tuple[str, str, Optional[str], str]]:
    """``(repo_type, repo_id, requested revision, path in repo)`` of an ``hf://`` path, without network.

    ``HfFileSystem.resolve_path`` asks the Hub whether the repo exists before returning, so the
    repo id is judged from this cheap parse first. ``None`` for buckets or paths it cannot read.
    """
    from urllib.parse import unquote

    p = str(path)
    for prefix in ("hf://", "hf:"):
        if p.startswith(prefix):
            p = p[len(prefix):]
            break
    parts = [x for x in p.split("/") if x != ""]
    repo_type = "model"
    if parts and parts[0] in _FS_TYPES:
        repo_type = _FS_TYPES[parts.pop(0)]
    elif parts and parts[0] == "buckets":
        return None
    if len(parts) < 2:
        return None
    org, name = parts[0], parts[1]
    rest = parts[2:]
    rev = None
    if "@" in org:
        return None
    if "@" in name:
        name, rev = name.split("@", 1)
        rev = unquote(rev)
        if rev == "refs" and len(rest) >= 2:  # literal refs/pr/N or refs/convert/x
            rev = "/".join([rev] + rest[:2])
            rest = rest[2:]
    if revision is not None:
        rev = str(revision)
    return repo_type, f"{org}/{name}", rev, "/".join(rest)


def parse_resolve_url(url: str, endpoint: Optional[str] = None):
    """``(endpoint, repo_type, repo_id, revision, path)`` of a Hub ``/resolve/`` URL, or ``None``.

    ``endpoint`` (the configured one) is stripped first when the URL starts with it, so mirrors
    with a path prefix parse; otherwise the endpoint is the URL's scheme and host.
    """
    from urllib.parse import unquote, urlsplit

    url = str(url).split("?", 1)[0].split("#", 1)[0]
    base = None
    if endpoint and url.startswith(endpoint.rstrip("/") + "/"):
        base, rest = endpoint.rstrip("/"), url[len(endpoint.rstrip("/")) + 1:]
    else:
        parts = urlsplit(url)
        if not parts.scheme or not parts.netloc:
            return None
        base, rest = f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")
    segs = rest.split("/")
    if "resolve" not in segs:
        return None
    i = segs.index("resolve")
    head, tail = segs[:i], segs[i + 1:]
    repo_type = "model"
    if head and head[0] in _FS_TYPES:
        repo_type = _FS_TYPES[head.pop(0)]
    if not 1 <= len(head) <= 2 or len(tail) < 2 or not all(head):
        return None
    return base, repo_type, "/".join(head), unquote(tail[0]), "/".join(unquote(t) for t in tail[1:])


# ------------------------------------------------------------------------------ guard.lock


def lock_path(policy, cwd: Optional[str] = None) -> Optional[str]:
    """The ``[hub] lock`` file, relative paths taken from the policy file that set the key."""
    value = policy.section("hub").get("lock")
    if not value:
        return None
    value = os.path.expanduser(value)
    if os.path.isabs(value):
        return value
    origin = (getattr(policy, "provenance", None) or {}).get("hub.lock")
    for layer in getattr(policy, "layers", ()):
        if layer.name == origin and layer.path:
            return os.path.join(os.path.dirname(os.path.abspath(layer.path)), value)
    return os.path.join(cwd or os.getcwd(), value)


def _repo_key(repo_id: str, repo_type: Optional[str]) -> Tuple[str, str]:
    """Normalise a lock key / entry into ``(repo_type, repo_id)``."""
    repo_id = str(repo_id)
    if repo_id.startswith("hf:"):
        repo_id = repo_id[3:]
    repo_id = repo_id.split("@", 1)[0]
    for prefix, kind in (("datasets/", "dataset"), ("spaces/", "space"), ("models/", "model")):
        if repo_id.startswith(prefix) and repo_id.count("/") >= 2:
            return kind, repo_id[len(prefix):]
    return (repo_type or "model"), repo_id


def _files_of(entry: Mapping) -> dict:
    """``{path: {"sha256":..., "size":...}}`` from a lock entry's ``files`` (list or table)."""
    files = entry.get("files") or {}
    if isinstance(files, Mapping):
        return {str(k): dict(v) if isinstance(v, Mapping) else {"sha256": v} for k, v in files.items()}
    out = {}
    for item in files:
        if isinstance(item, Mapping) and item.get("path"):
            out[str(item["path"])] = dict(item)
    return out


def parse_lock(data: Mapping) -> dict:
    """Index a parsed ``guard.lock`` by ``(repo_type, repo_id)``.

    Accepts ``[[repo]]`` arrays as ``guard lock`` writes them (``id``, ``kind``, ``commit``,
    ``[[repo.files]]``), and ``[repos."org/name"]`` tables; each entry has ``commit`` (or
    ``revision``/``sha``) and ``files`` (a list of ``{path, size, sha256}`` or a table by path).
    """
    repos = data.get("repo") or data.get("repos") or data.get("models") or {}
    out = {}
    items = repos.items() if isinstance(repos, Mapping) else ((None, r) for r in repos)
    for key, entry in items:
        if not isinstance(entry, Mapping):
            continue
        name = entry.get("repo_id") or entry.get("id") or entry.get("repo") or key
        if not name:
            continue
        rtype, rid = _repo_key(name, entry.get("kind") or entry.get("repo_type") or entry.get("type"))
        commit = entry.get("commit") or entry.get("revision") or entry.get("sha")
        out[(rtype, rid.lower())] = {"commit": str(commit) if commit else None, "files": _files_of(entry)}
    return out


def load_lock(path: str) -> dict:
    """Read and index a ``guard.lock``; raises ``OSError`` / ``ValueError`` naming the file on failure.

    Uses the strict reader of ``guardpolicy.lockfile`` (``[[repo]]`` entries written by ``guard lock``)
    when it is installed; otherwise the tolerant ``parse_lock`` above.
    """
    try:
        from ..lockfile import read_lock
    except ImportError:
        read_lock = None
    if read_lock is not None:
        lock = read_lock(path)  # LockError is a ValueError with file and line
        return {(r.kind, r.id.lower()): {"commit": r.commit,
                                         "files": {f.path: {"sha256": f.sha256, "size": f.size} for f in r.files}}
                for r in lock.repos}
    import tomllib

    with open(path, "rb") as fh:
        try:
            return parse_lock(tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not a valid guard.lock: {exc}") from None


def lock_entry(lock: Optional[Mapping], model: ModelRef) -> Optional[dict]:
    """The lock's entry for this repo, or ``None`` when the lock does not list it."""
    if not lock:
        return None
    return lock.get((model.repo_type or "model", model.repo_id.lower()))


def lock_commit_findings(model: ModelRef, commit: Optional[str], entry: Optional[Mapping], lock_file: str = "guard.lock") -> list:
    """A ``digest`` finding when the commit being fetched is not the locked one."""
    if entry is None or not entry.get("commit") or commit is None or commit == entry["commit"]:
        return []
    return [Finding(rule="digest", subject=model.subject,
                    message=f"{model.repo_id} resolves to commit {commit}, but {lock_file} locks {entry['commit']}",
                    suggestion=f"use revision='{entry['commit']}', or update {lock_file} after reviewing the change",
                    details={"expected": entry["commit"], "actual": commit})]


def lock_name_findings(model: ModelRef, paths: Iterable[str], entry: Optional[Mapping], lock_file: str = "guard.lock") -> list:
    """``digest`` findings for files the lock does not list (nothing unlisted is fetched)."""
    if entry is None:
        return []
    files = entry.get("files") or {}
    return [Finding(rule="digest", subject=file_subject(model, p),
                    message=f"{p} is not in {lock_file} for {model.repo_id}",
                    suggestion=f"re-lock {model.repo_id} after reviewing the file, or don't fetch it")
            for p in paths if p not in files]


def lock_file_findings(model: ModelRef, path: str, sha256: str, entry: Optional[Mapping], lock_file: str = "guard.lock") -> list:
    """A ``digest`` finding when a fetched file's sha256 differs from (or is missing in) the lock."""
    if entry is None:
        return []
    want = (entry.get("files") or {}).get(path)
    if want is None:
        return lock_name_findings(model, [path], entry, lock_file)
    expected = str(want.get("sha256") or "").lower().removeprefix("sha256:")
    if expected and expected == sha256:
        return []
    return [Finding(rule="digest", subject=file_subject(model, path),
                    message=f"{path}: sha256 {sha256} differs from {lock_file} ({expected or 'no digest recorded'})",
                    suggestion="the file changed since it was locked: review it, then re-lock",
                    details={"expected": expected, "actual": sha256})]
