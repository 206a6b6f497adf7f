"""Runtime patches for ``huggingface_hub`` (0.25 .. 2.x): every download path passes the policy first.

The startup hook (``guardpolicy._startup``) calls the ``patch_*`` functions right after each target
module has executed, before the import that triggered it returns. So names that other libraries bind
early (``from huggingface_hub import hf_hub_download`` in transformers, diffusers, peft, and
``_snapshot_download``'s own import) already are the wrappers. Patched entry points:

* ``file_download.hf_hub_download``: repo id, endpoint, org, revision pin, the file's format by
  name and the ``guard.lock`` entry are checked *before* the call (so cache hits and offline mode
  are covered: the check runs before huggingface_hub's cache shortcut); after it, the file's content
  is scanned (pickles) and its sha256 compared with the lock. A refused file is moved to the
  quarantine directory and never returned.
* ``file_download.try_to_load_from_cache``: the same checks when it returns a real path (transformers
  serves pinned files and its "recover from cache" branch through it, bypassing ``hf_hub_download``).
* ``_snapshot_download.snapshot_download``: entry check, then a pre-flight of the file list
  (``dry_run=True`` on 1.x+, ``repo_info`` + ``filter_repo_objects`` on 0.x) so a refused file stops
  the snapshot before any byte; the returned folder is walked afterwards (the offline path never
  calls ``hf_hub_download``).
* ``hf_api.HfApi.resolve_revision`` (1.x+) and the module's bound-method aliases (``resolve_revision
  = api.resolve_revision``), rebound to the wrapped methods.
* ``hf_file_system.HfFileSystem._open`` / ``get_file``: ``hf://`` reads and datasets streaming.
* ``file_download.cached_download`` (0.2x only): legacy URL downloads.

Every wrapper keeps ``functools.wraps`` (``__wrapped__`` is the original) and is marked
``_guard_patched`` so patching twice is a no-op. A denial raises ``guardpolicy.errors.PolicyViolation``
(a plain ``Exception``) from ``guardpolicy.runtime.gate.enforce``, which also prints one
``guard: BLOCKED ...`` line on stderr.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import sys
import tempfile
import threading
import types
from dataclasses import replace
from typing import Any, Iterable, Optional

from ..errors import PolicyViolation
from ..model import ModelRef
from . import gate
from .filescan import enforce_file, file_digest, quarantine
from .hub_checks import (
    commit_from_path,
    file_subject,
    join_repo_path,
    load_lock,
    lock_commit_findings,
    lock_entry,
    lock_file_findings,
    lock_name_findings,
    lock_path,
    name_findings,
    needs_scan,
    parse_fs_path,
    parse_resolve_url,
    requested_revision,
    resolved_commit,
    walk_files,
)

LIBRARY = "huggingface_hub"

_lock = threading.Lock()
#: ModelRefs (with the policy digest) whose entry check already passed in this process
_allowed: set = set()
#: lock file path -> (mtime_ns, parsed lock)
_locks: dict = {}


# ------------------------------------------------------------------------------ helpers


def _constants():
    """``huggingface_hub.constants`` (``ENDPOINT`` and ``HF_HUB_OFFLINE`` are read there at import)."""
    mod = sys.modules.get("huggingface_hub.constants")
    if mod is None:
        import importlib

        mod = importlib.import_module("huggingface_hub.constants")
    return mod


def _endpoint(explicit: Optional[str]) -> Optional[str]:
    """The endpoint a call talks to: ``endpoint=`` or ``HF_ENDPOINT`` (as huggingface_hub read it)."""
    value = explicit or getattr(_constants(), "ENDPOINT", None)
    return str(value).rstrip("/") if value else None


def _offline() -> bool:
    return bool(getattr(_constants(), "HF_HUB_OFFLINE", False))


def _signature(func) -> Optional[inspect.Signature]:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


_SIG_INFO: dict = {}


def _bind(sig: Optional[inspect.Signature], args: tuple, kwargs: dict) -> Optional[dict]:
    """The arguments a call *passed*, by name (``**kwargs`` flattened), or ``None`` if they don't bind.

    Defaults are not filled in: every parameter guard reads defaults to ``None``/``False``, which
    ``dict.get`` gives, and a call re-issued with ``original(**call)`` gets the defaults of the
    installed version. A call that does not bind is refused by the wrappers (fail closed).
    """
    if sig is None:
        return None
    info = _SIG_INFO.get(id(sig))
    if info is None:
        params = sig.parameters
        info = _SIG_INFO[id(sig)] = (
            params, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()),
            {n for n, p in params.items() if p.kind is inspect.Parameter.VAR_KEYWORD},
            {n for n, p in params.items() if p.kind is inspect.Parameter.VAR_POSITIONAL})
    params, var_kw, kw_names, pos_names = info
    if not var_kw and any(k not in params for k in kwargs):
        # huggingface_hub's validators silently drop legacy kwargs (transformers 5 still passes
        # ``proxies=``): binding must not fail on them, or the call would slip through unchecked
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return None
    out: dict = {}
    for name, value in bound.arguments.items():
        if name in kw_names:
            out.update(value)
        elif name not in pos_names:
            out[name] = value
    return out


def _bind_or_refuse(sig: Optional[inspect.Signature], name: str, args: tuple, kwargs: dict) -> dict:
    """``_bind`` for a wrapper: the call's arguments by name, or ``PolicyViolation`` when they don't bind."""
    call = _bind(sig, args, kwargs)
    if call is None:
        raise _unreadable(name, args, kwargs)
    return call


def _unreadable(name: str, args: tuple, kwargs: dict):
    """Fail closed on a call whose arguments guard cannot read (never let it through unchecked)."""
    msg = (f"guard: {name} refused: its arguments do not match the signature guard read "
           f"(args={len(args)}, kwargs={sorted(kwargs)})")
    print(f"guard: BLOCKED {name}: arguments not understood", file=sys.stderr)
    return PolicyViolation(msg)


def _mark(wrapper, original):
    """Flag a wrapper as ours (idempotence) and remember the original."""
    wrapper._guard_patched = True
    wrapper._guard_original = original
    return wrapper


def _is_ours(func) -> bool:
    return bool(getattr(func, "_guard_patched", False))


def _rebind_globals(replacements: dict) -> None:
    """Replace each original (``{id(original): (original, wrapper)}``) wherever a loaded module bound it
    by name: a hook installed late, or a module that imported the name before the patch ran."""
    if not replacements:
        return
    for mod in list(sys.modules.values()):
        if not isinstance(mod, types.ModuleType):
            continue
        d = getattr(mod, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for key, value in list(d.items()):
            hit = replacements.get(id(value))
            if hit is not None and hit[0] is value:
                d[key] = hit[1]


def _policy():
    return gate.get_policy()


def _ensure_patched(operation: str) -> None:
    check = getattr(gate, "ensure_patched", None)
    if check is not None:
        check(LIBRARY, operation)


def _enforce(items: list, operation: str, policy) -> None:
    try:
        gate.enforce(items, operation, policy=policy, library=LIBRARY)
    except TypeError as exc:  # a gate without the ``library`` keyword (older contract)
        if "library" not in str(exc):
            raise
        gate.enforce(items, operation, policy=policy)


def _lock_for(policy):
    """``(lock file path, parsed lock)`` when ``[hub] lock`` is set, else ``(None, None)``.

    An unreadable lock fails closed: every gated operation is refused with the reason.
    """
    path = lock_path(policy)
    if path is None:
        return None, None
    try:
        mtime = os.stat(path).st_mtime_ns
        with _lock:
            cached = _locks.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, load_lock(path))
            with _lock:
                _locks[path] = cached
        return path, cached[1]
    except (OSError, ValueError) as exc:
        msg = f"guard: [hub] lock {path} cannot be read ({exc}); refusing Hub downloads"
        print(f"guard: BLOCKED {msg}", file=sys.stderr)
        raise PolicyViolation(msg) from None


def check_entry(ref: ModelRef, paths: Iterable[str], operation: str, policy=None, commit: Optional[str] = None) -> None:
    """The pre-fetch gate: the repo reference, the files' formats by name, and the lock.

    A ``ModelRef`` that already passed in this process (same policy) is not re-evaluated, so
    warnings print once and the hot path (transformers asks for many files) stays cheap.
    """
    _ensure_patched(operation)
    policy = policy or _policy()
    if policy.mode == "off":  # GUARD_MODE=off (where the policy allows it): no checks, no cost
        return
    paths = list(paths)
    lock_file, lock = _lock_for(policy)
    entry = lock_entry(lock, ref)
    findings = name_findings(ref, paths, policy)
    findings += lock_name_findings(ref, paths, entry, lock_file or "guard.lock")
    findings += lock_commit_findings(ref, commit, entry, lock_file or "guard.lock")
    key = (ref, getattr(policy, "digest", ""))
    with _lock:
        known = key in _allowed
    items: list = ([] if known else [ref]) + findings
    if not items:
        return
    _enforce(items, operation, policy)
    if not known:
        with _lock:
            _allowed.add(key)


def _is_code(path: str) -> bool:
    """A Python file: what ``trust_remote_code`` would run (rule ``remote-code`` judges repos shipping one)."""
    return str(path).lower().endswith(".py")


def _without_code(ref: ModelRef) -> ModelRef:
    """``ref`` minus requested ``.py`` files: libraries probe for scripts that do not exist (datasets asks
    for ``<name>.py``), and a missing file ships no code; existing ones are judged once fetched."""
    files = tuple(f for f in ref.files if not _is_code(f))
    return ref if files == ref.files else replace(ref, files=files)


def _check_code(ref: ModelRef, repo_path: str, operation: str, policy) -> None:
    """Judge the repo *with* a code file that turned out to exist (``remote-code``)."""
    if _is_code(repo_path):
        check_entry(replace(ref, files=tuple(dict.fromkeys(ref.files + (repo_path,)))), [], operation, policy)


def _sniff_pickled(path: str) -> bool:
    """True when the first bytes look like a pickle (protocol 2+) or a zip (torch checkpoints)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError:
        return False
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head.startswith(b"PK\x03\x04")


def check_file(ref: ModelRef, repo_path: str, local: str, operation: str, policy=None,
               commit: Optional[str] = None) -> None:
    """The post-fetch gate for one file: content scan and lock digest; quarantine it on a denial."""
    policy = policy or _policy()
    local = os.fspath(local)
    if policy.mode == "off" or not os.path.isfile(local):
        return
    try:
        _check_code(ref, repo_path, operation, policy)
    except PolicyViolation:
        quarantine(local)
        raise
    lock_file, lock = _lock_for(policy)
    entry = lock_entry(lock, ref)
    findings: list = []
    if entry is not None:
        findings += lock_commit_findings(ref, commit, entry, lock_file)
        findings += lock_file_findings(ref, repo_path, file_digest(local), entry, lock_file)
    from .filescan import scanner_available

    try:
        if not scanner_available() and not (needs_scan(repo_path, policy) or _sniff_pickled(local)):
            if findings:  # nothing the missing scanner would have to judge: only the lock's findings
                _enforce(findings, operation, policy)
        else:
            # the downloaded file is a FileRef judged by every file rule (format, pickle, plugins'
            # guard_check_file), named as the user asked for it (waivers say hf:org/name@rev/file)
            enforce_file(local, operation, policy, subject=file_subject(ref, repo_path), model=ref,
                         findings=findings, library=LIBRARY)
    except PolicyViolation:
        where = quarantine(local)
        if where:
            print(f"guard: moved refused file {repo_path} to quarantine: {where}", file=sys.stderr)
        raise


def check_tree(ref: ModelRef, root: str, operation: str, policy=None, commit: Optional[str] = None) -> None:
    """Check every file of a returned snapshot folder (names first, then contents)."""
    policy = policy or _policy()
    files = walk_files(root)
    names = [rel for rel, _ in files]
    check_entry(replace(ref, files=tuple(names)), names, operation, policy, commit=commit)
    for rel, local in files:
        check_file(ref, rel, local, operation, policy, commit=commit)


def _model_ref(repo_id: Any, repo_type: Any, revision: Any, endpoint: Optional[str], files=()) -> ModelRef:
    return ModelRef(repo_id=str(repo_id), repo_type=str(repo_type or "model"),
                    revision=requested_revision(revision), endpoint=endpoint, files=tuple(files),
                    extra={"resolved": resolved_commit(revision)} if resolved_commit(revision) else {})


# ------------------------------------------------------------------------------ file_download


def wrap_hf_hub_download(original):
    """Wrap ``hf_hub_download``: check before the call (cache hits too), scan after it."""
    if _is_ours(original):
        return original
    sig = _signature(original)

    @functools.wraps(original)
    def hf_hub_download(*args, **kwargs):
        call = _bind_or_refuse(sig, "hf_hub_download", args, kwargs)
        if call.get("dry_run"):  # a dry run fetches no file bytes
            return original(*args, **kwargs)
        repo_path = join_repo_path(call["filename"], call.get("subfolder") or None)
        ref = _model_ref(call["repo_id"], call.get("repo_type"), call.get("revision"),
                         _endpoint(call.get("endpoint")), files=(repo_path,))
        operation = f"hf_hub_download {ref.subject} {repo_path}"
        policy = _policy()
        check_entry(_without_code(ref), [repo_path], operation, policy, commit=resolved_commit(call.get("revision")))
        path = original(*args, **kwargs)
        if isinstance(path, (str, os.PathLike)):
            commit = commit_from_path(os.fspath(path)) or resolved_commit(call.get("revision"))
            check_file(ref, repo_path, os.fspath(path), operation, policy, commit=commit)
        return path

    return _mark(hf_hub_download, original)


def wrap_try_to_load_from_cache(original):
    """Wrap ``try_to_load_from_cache``: a real path it returns passes the same checks as a download."""
    if _is_ours(original):
        return original
    sig = _signature(original)

    @functools.wraps(original)
    def try_to_load_from_cache(*args, **kwargs):
        result = original(*args, **kwargs)
        if not isinstance(result, (str, os.PathLike)):  # None / _CACHED_NO_EXIST: nothing handed over
            return result
        call = _bind_or_refuse(sig, "try_to_load_from_cache", args, kwargs)
        repo_path = str(call["filename"]).replace("\\", "/")
        # no endpoint: a cache lookup talks to nobody (the download that filled it was checked)
        ref = _model_ref(call["repo_id"], call.get("repo_type"), call.get("revision"), None, files=(repo_path,))
        operation = f"try_to_load_from_cache {ref.subject} {repo_path}"
        policy = _policy()
        commit = commit_from_path(os.fspath(result)) or resolved_commit(call.get("revision"))
        check_entry(ref, [repo_path], operation, policy, commit=commit)
        check_file(ref, repo_path, os.fspath(result), operation, policy, commit=commit)
        return result

    return _mark(try_to_load_from_cache, original)


def wrap_cached_download(original):
    """Wrap 0.2x's legacy ``cached_download(url)``: a Hub ``/resolve/`` URL gets the download checks;
    any URL's file is scanned before its path is returned."""
    if _is_ours(original):
        return original
    sig = _signature(original)

    @functools.wraps(original)
    def cached_download(*args, **kwargs):
        call = _bind_or_refuse(sig, "cached_download", args, kwargs)
        url = str(call["url"])
        policy = _policy()
        parsed = parse_resolve_url(url, _endpoint(None))
        if parsed is None:  # not a Hub file: no repo to judge, the content still is (below)
            ref, repo_path, commit = None, url, None
            operation = f"cached_download {url}"
        else:
            endpoint, repo_type, repo_id, revision, repo_path = parsed
            ref = _model_ref(repo_id, repo_type, revision, endpoint, files=(repo_path,))
            operation = f"cached_download {ref.subject} {repo_path}"
            commit = resolved_commit(revision)
            check_entry(_without_code(ref), [repo_path], operation, policy, commit=commit)
        path = original(*args, **kwargs)
        if isinstance(path, (str, os.PathLike)):
            if parsed is None:
                _check_plain_file(url, os.fspath(path), operation, policy)
            else:
                check_file(ref, repo_path, os.fspath(path), operation, policy, commit=commit)
        return path

    return _mark(cached_download, original)


def _check_plain_file(url: str, local: str, operation: str, policy) -> None:
    """Content checks for a file fetched from a non-Hub URL (no repo to judge, the bytes still count)."""
    if policy.mode == "off" or not os.path.isfile(local):
        return
    try:
        enforce_file(local, operation, policy, subject=url, library=LIBRARY)
    except PolicyViolation:
        quarantine(local)
        raise


def _refuser(name: str, error: str):
    def refuse(*args, **kwargs):
        msg = f"guard: {name} refused: guard could not patch huggingface_hub ({error})"
        print(f"guard: BLOCKED {name}: patch failed ({error})", file=sys.stderr)
        raise PolicyViolation(msg)

    refuse._guard_patched = True
    return refuse


def patch_file_download(module) -> None:
    """Patch ``huggingface_hub.file_download`` (called by the startup hook after it executed)."""
    replaced: dict = {}
    for name, wrap in (("hf_hub_download", wrap_hf_hub_download),
                       ("try_to_load_from_cache", wrap_try_to_load_from_cache),
                       ("cached_download", wrap_cached_download)):  # cached_download: 0.2x only
        original = getattr(module, name, None)
        if original is None or _is_ours(original):
            continue
        wrapper = wrap(original)
        setattr(module, name, wrapper)
        replaced[id(original)] = (original, wrapper)
    _rebind_globals(replaced)


# ------------------------------------------------------------------------------ snapshot_download


def _preflight(original, sig, call: dict):
    """``(commit, [repo paths])`` the snapshot would fetch, learned without fetching file bytes.

    1.x+: the original with ``dry_run=True``; 0.x: ``repo_info`` + ``filter_repo_objects``. Returns
    ``(None, None)`` when it cannot tell (network down: the post-download walk still checks).
    """
    try:
        if sig is not None and "dry_run" in sig.parameters:
            infos = original(**{**call, "dry_run": True})
            paths = [str(i.filename) for i in infos]
            commit = next((str(i.commit_hash) for i in infos if getattr(i, "commit_hash", None)), None)
            return commit, paths
        from huggingface_hub import HfApi
        from huggingface_hub.utils import filter_repo_objects

        api = HfApi(endpoint=call.get("endpoint"), token=call.get("token"))
        info = api.repo_info(call["repo_id"], revision=call.get("revision"), repo_type=call.get("repo_type"))
        paths = [s.rfilename for s in (getattr(info, "siblings", None) or [])]
        paths = list(filter_repo_objects(paths, allow_patterns=call.get("allow_patterns"),
                                         ignore_patterns=call.get("ignore_patterns")))
        return getattr(info, "sha", None), paths
    except PolicyViolation:
        raise
    except Exception:  # offline, auth, server error: the real call reports it, inner checks still run
        return None, None


def wrap_snapshot_download(original):
    """Wrap ``snapshot_download``: entry check, pre-flight of the file list, walk of the result."""
    if _is_ours(original):
        return original
    sig = _signature(original)

    @functools.wraps(original)
    def snapshot_download(*args, **kwargs):
        call = _bind_or_refuse(sig, "snapshot_download", args, kwargs)
        if call.get("dry_run"):
            return original(*args, **kwargs)
        ref = _model_ref(call["repo_id"], call.get("repo_type"), call.get("revision"),
                         _endpoint(call.get("endpoint")))
        operation = f"snapshot_download {ref.subject}"
        policy = _policy()
        commit = resolved_commit(call.get("revision"))
        check_entry(ref, [], operation, policy, commit=commit)
        if not (call.get("local_files_only") or _offline()):
            pre_commit, paths = _preflight(original, sig, call)
            if paths is not None:
                commit = pre_commit or commit
                check_entry(replace(ref, files=tuple(paths)), paths, operation, policy, commit=commit)
        result = original(*args, **kwargs)
        if isinstance(result, (str, os.PathLike)) and os.path.isdir(os.fspath(result)):
            root = os.fspath(result)
            check_tree(ref, root, operation, policy, commit=commit_from_path(root) or commit)
        return result

    return _mark(snapshot_download, original)


def patch_snapshot_download(module) -> None:
    """Patch ``huggingface_hub._snapshot_download``; its ``hf_hub_download`` is the wrapper already."""
    original = getattr(module, "snapshot_download", None)
    if original is not None and not _is_ours(original):
        wrapper = wrap_snapshot_download(original)
        module.snapshot_download = wrapper
        _rebind_globals({id(original): (original, wrapper)})
    # hook installed after file_download: make sure the inner calls go through the gate too
    fd = sys.modules.get("huggingface_hub.file_download")
    inner = getattr(module, "hf_hub_download", None)
    if fd is not None and inner is not None and not _is_ours(inner):
        if not _is_ours(getattr(fd, "hf_hub_download", None)):
            patch_file_download(fd)
        module.hf_hub_download = fd.hf_hub_download


# ------------------------------------------------------------------------------ hf_api


def wrap_resolve_revision(original):
    """Wrap ``HfApi.resolve_revision`` (1.x+): transformers resolves first, then passes the commit on."""
    if _is_ours(original):
        return original
    sig = _signature(original)

    @functools.wraps(original)
    def resolve_revision(self, *args, **kwargs):
        call = _bind(sig, (self,) + args, kwargs)
        if call is None:
            raise _unreadable("resolve_revision", args, kwargs)
        ref = _model_ref(call["repo_id"], call.get("repo_type"), call.get("revision"),
                         _endpoint(getattr(self, "endpoint", None)))
        operation = f"resolve_revision {ref.subject}"
        policy = _policy()
        check_entry(ref, [], operation, policy, commit=resolved_commit(call.get("revision")))
        result = original(self, *args, **kwargs)
        lock_file, lock = _lock_for(policy)
        found = lock_commit_findings(ref, resolved_commit(result), lock_entry(lock, ref), lock_file or "guard.lock")
        if found:
            _enforce(found, operation, policy)
        return result

    return _mark(resolve_revision, original)


def patch_hf_api(module) -> None:
    """Patch ``HfApi.resolve_revision`` and rebind the module's bound-method aliases to the wrappers."""
    cls = getattr(module, "HfApi", None)
    if cls is None or getattr(cls, "_guard_patched", False):
        return
    replaced = {}
    for name, wrap in (("resolve_revision", wrap_resolve_revision),):
        original = cls.__dict__.get(name)
        if original is None or _is_ours(original):
            continue
        cls_wrapper = wrap(original)
        setattr(cls, name, cls_wrapper)
        replaced[original] = name
    # hf_api ends with ``api = HfApi(); resolve_revision = api.resolve_revision; ...``: bound
    # methods of the originals, made before this patch ran
    for attr, value in list(vars(module).items()):
        func = getattr(value, "__func__", None)
        if isinstance(value, types.MethodType) and func in replaced:
            setattr(module, attr, getattr(value.__self__, replaced[func]))
    cls._guard_patched = True


# ------------------------------------------------------------------------------ hf_file_system


def _fs_precheck(fs, path: str, revision: Optional[str], operation: str, policy) -> None:
    """Judge the repo of an ``hf://`` path from the path alone, before ``resolve_path`` calls the Hub."""
    parsed = parse_fs_path(path, revision)
    if parsed is None:
        return
    repo_type, repo_id, rev, _ = parsed
    ref = _model_ref(repo_id, repo_type, rev, _endpoint(getattr(fs, "endpoint", None)))
    check_entry(ref, [], f"{operation} {ref.subject}", policy)


def _fs_ref(fs, path: str, revision: Optional[str]):
    """``(ModelRef, path in repo, resolved path)`` for an ``hf://`` path, or ``None`` (bucket, bad path)."""
    try:
        resolved = fs.resolve_path(path, revision=revision)
    except Exception:  # not found / invalid: the original call raises the proper error
        return None
    repo_id = getattr(resolved, "repo_id", None)
    if repo_id is None:  # 2.x buckets: no repo, no revision
        return None
    from urllib.parse import unquote

    raw = getattr(resolved, "_raw_revision", None)
    requested = revision if revision is not None else (unquote(raw) if raw else None)
    ref = _model_ref(repo_id, getattr(resolved, "repo_type", "model"), requested,
                     _endpoint(getattr(fs, "endpoint", None)), files=(resolved.path_in_repo,))
    return ref, resolved.path_in_repo, resolved


def wrap_fs_open(original):
    """Wrap ``HfFileSystem._open``: check reads; pickles (and locked files) are fetched whole and
    scanned before the caller gets a file object (a temp file, already unlinked)."""
    if _is_ours(original):
        return original

    @functools.wraps(original)
    def _open(self, path, mode="rb", *args, **kwargs):
        if "r" not in mode or "+" in mode:
            return original(self, path, mode, *args, **kwargs)
        policy = _policy()
        _fs_precheck(self, path, kwargs.get("revision"), "HfFileSystem.open", policy)
        found = _fs_ref(self, path, kwargs.get("revision"))
        if found is None:
            return original(self, path, mode, *args, **kwargs)
        ref, repo_path, _ = found
        operation = f"HfFileSystem.open {ref.subject} {repo_path}"
        commit = resolved_commit(ref.revision)
        check_entry(_without_code(ref), [repo_path], operation, policy, commit=commit)
        lock_file, lock = _lock_for(policy)
        if not (needs_scan(repo_path, policy) or lock_entry(lock, ref) is not None):
            handle = original(self, path, mode, *args, **kwargs)  # raises when the file does not exist
            try:
                _check_code(ref, repo_path, operation, policy)
                carries_pickles, head, rewound = _peek(handle, policy)
            except PolicyViolation:
                handle.close()
                raise
            if not carries_pickles:
                return handle if rewound else _Prefixed(head, handle)
            handle.close()  # a pickle named .txt/.dat/.safetensors: fetched whole and scanned like one
        fd, tmp = tempfile.mkstemp(prefix="guard-hffs-", suffix="-" + os.path.basename(repo_path))
        try:
            with os.fdopen(fd, "wb") as out, original(self, path, "rb", *args, **kwargs) as src:
                shutil.copyfileobj(src, out, 1 << 20)
            check_file(ref, repo_path, tmp, operation, policy, commit=commit)
            handle = open(tmp, mode if "b" in mode else "r", **({} if "b" in mode else {"encoding": "utf-8"}))
        finally:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return handle

    return _mark(_open, original)


#: formats whose bytes can hold pickles (or archives that can hold them): scanned whatever the file is named
_SCAN_BY_CONTENT = frozenset({"pickle", "zip", "numpy", "gzip", "bz2", "xz", "tar", "zlib"})


class _Prefixed:
    """A stream whose first bytes were read to sniff it: hands them out first, then the rest.

    Some ``hf://`` stream files cannot seek, and re-request the file when read past its end, so
    the sniffed bytes are replayed instead of rewinding or draining the stream.
    """

    def __init__(self, head: bytes, handle, asked: int = 512):
        self._head, self._handle = head, handle
        #: the sniffing read got less than it asked for: the stream is done (never read it again)
        self._eof = len(head) < asked

    def read(self, size: int = -1):
        if size is None or size < 0:
            out, self._head = self._head + (b"" if self._eof else self._handle.read()), b""
            self._eof = True
            return out
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            if len(out) < size and not self._eof:
                out += self._handle.read(size - len(out))
            return out
        return b"" if self._eof else self._handle.read(size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._handle.close()

    def __getattr__(self, name):
        return getattr(self._handle, name)


def _peek(handle, policy) -> tuple:
    """``(pickle-like, head bytes, rewound)`` for an open ``hf://`` file: its first bytes decide.

    The name says ``.txt``/``.dat``/``.safetensors``; ``scan.detect.sniff`` says what it is. When
    the handle can rewind it is left at 0 (``head`` is then not needed); a stream that cannot is
    left after ``head`` and the caller keeps reading it.
    """
    from ..scan.detect import sniff
    from .hub_checks import hub_settings

    if not hub_settings(policy)[1]:  # [hub] scan_pickles = false
        return False, b"", True
    head = handle.read(512)
    if isinstance(head, str):
        head = head.encode("utf-8", "surrogateescape")
    try:
        handle.seek(0)
        rewound = True
    except Exception:  # noqa: BLE001 - a stream: the caller reads on from here
        rewound = False
    return sniff(head) in _SCAN_BY_CONTENT, head, rewound


def wrap_fs_get_file(original):
    """Wrap ``HfFileSystem.get_file``: check before, scan the written file after (removed if refused)."""
    if _is_ours(original):
        return original

    @functools.wraps(original)
    def get_file(self, rpath, lpath=None, *args, **kwargs):
        policy = _policy()
        _fs_precheck(self, rpath, kwargs.get("revision"), "HfFileSystem.get_file", policy)
        found = _fs_ref(self, rpath, kwargs.get("revision"))
        if found is None:
            return original(self, rpath, lpath, *args, **kwargs)
        ref, repo_path, _ = found
        operation = f"HfFileSystem.get_file {ref.subject} {repo_path}"
        commit = resolved_commit(ref.revision)
        check_entry(_without_code(ref), [repo_path], operation, policy, commit=commit)
        result = original(self, rpath, lpath, *args, **kwargs)
        if isinstance(lpath, (str, os.PathLike)) and os.path.isfile(os.fspath(lpath)):
            check_file(ref, repo_path, os.fspath(lpath), operation, policy, commit=commit)
        return result

    return _mark(get_file, original)


def patch_hf_file_system(module) -> None:
    """Patch ``HfFileSystem._open`` and ``get_file`` (``hf://`` reads, datasets streaming)."""
    cls = getattr(module, "HfFileSystem", None)
    if cls is None or getattr(cls, "_guard_patched", False):
        return
    for name, wrap in (("_open", wrap_fs_open), ("get_file", wrap_fs_get_file)):
        original = cls.__dict__.get(name)
        if original is not None and not _is_ours(original):
            setattr(cls, name, wrap(original))
    cls._guard_patched = True


def fail_closed(module, error: str) -> None:
    """Called by the startup hook when a patch failed: make the module's entry points refuse."""
    for name in ("hf_hub_download", "try_to_load_from_cache", "snapshot_download", "cached_download"):
        if hasattr(module, name) and not _is_ours(getattr(module, name)):
            setattr(module, name, _refuser(name, error))
    for cls_name, methods in (("HfApi", ("resolve_revision", "hf_hub_download", "snapshot_download")),
                              ("HfFileSystem", ("_open", "get_file"))):
        cls = getattr(module, cls_name, None)
        for name in methods if cls is not None else ():
            if name in cls.__dict__ and not _is_ours(cls.__dict__[name]):
                setattr(cls, name, _refuser(f"{cls_name}.{name}", error))


def reset() -> None:
    """Forget per-process decisions and parsed locks (tests)."""
    with _lock:
        _allowed.clear()
        _locks.clear()
