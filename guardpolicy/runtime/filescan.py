"""Content checks for files the runtime hands to a caller: scan (cached), and quarantine on failure.

Shared by the Hub patches (``guardpolicy.runtime.hf``) and ``torch.load`` (``guardpolicy.runtime.torch_load``).
``enforce_file`` judges a file as a ``FileRef`` through ``gate.enforce`` (the engine's file rules,
plugins included, as ``guard scan`` does); clean results are cached by content digest and policy
digest (with the rules' fingerprint) so a file judged once (a download, then ``torch.load`` of the
same blob) is not scanned again. A file's digest is itself cached by ``(device, inode, size, mtime)``
so a hot path never re-hashes a multi-GB checkpoint that did not change.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import threading
from typing import Iterable, Optional

from ..hashing import sha256_file
from ..model import Finding

_lock = threading.Lock()
#: (device, inode, size, mtime_ns) -> sha256
_digests: dict = {}
#: (sha256, policy digest) -> tuple of findings
_results: dict = {}


def _stat_key(path: str):
    # (device, inode) names the file itself, through any symlink (the Hub cache links snapshots to blobs)
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_digest(path: str) -> str:
    """sha256 of ``path``, cached while the file's inode, size and mtime stay the same."""
    key = _stat_key(path)
    with _lock:
        found = _digests.get(key)
    if found is None:
        found = sha256_file(path)
        with _lock:
            _digests[key] = found
    return found


#: bump when what "scanned clean" means changes (new scanner rules), so old cache rows stop counting
SCAN_KEY = "guard-scan-1"


def _persistent_cache(policy):
    """The cross-process allow cache (``guardpolicy.runtime.cache``), or ``None`` (absent, disabled, broken)."""
    try:
        from .cache import for_policy
    except ImportError:
        return None
    try:
        return for_policy(policy)
    except Exception:  # a cache problem only costs a re-scan, never an allow
        return None


_scan_keys: dict = {}


def scan_cache_key(policy) -> str:
    """The policy part of a scan-result key: the policy digest (with the rules' fingerprint when the
    gate offers one) plus the scanner's own files, so upgrading the scanner re-scans everything."""
    digest = getattr(policy, "digest", "")
    key = _scan_keys.get(digest)
    if key is None:
        import hashlib

        from . import gate

        base = gate.cache_digest(policy) if hasattr(gate, "cache_digest") else digest
        parts = [SCAN_KEY, base]
        scan_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scan")
        if os.path.isdir(scan_dir):
            for entry in sorted(os.scandir(scan_dir), key=lambda e: e.name):
                if entry.name.endswith(".py"):
                    st = entry.stat()
                    parts.append(f"{entry.name}:{st.st_mtime_ns}:{st.st_size}")
        key = _scan_keys[digest] = hashlib.sha256("|".join(parts).encode()).hexdigest()
    return key


def _content_subject(digest: str):
    """The cache key of "these bytes scanned clean": a ``FileRef`` named by content, not by path."""
    from ..model import FileRef

    return FileRef(path=f"sha256:{digest}", extra={"sha256": digest, "scan": SCAN_KEY})


def _scanner():
    try:
        from ..scan import scan_path
    except ImportError:
        return None
    return scan_path


@functools.lru_cache(maxsize=1)
def scanner_available() -> bool:
    """Whether ``guardpolicy.scan`` can be imported, without importing it (a cached allow needs no scanner)."""
    import importlib.util

    try:
        return importlib.util.find_spec("guardpolicy.scan") is not None
    except (ImportError, ValueError):
        return False


def scan_file(path: str, policy, subject: Optional[str] = None) -> list:
    """Scan ``path`` with the policy; return its findings (``[]`` = clean). Cached by content digest.

    The scanner's findings only (rules ``format``/``pickle``), for tools that want them; the runtime
    gates judge files with ``enforce_file``, which also runs plugins' ``guard_check_file`` hooks.

    Without a scanner installed, a pickle-capable file cannot be judged: that is a ``pickle``
    finding (fail closed), never a silent allow.
    """
    digest = file_digest(path)
    key = (digest, scan_cache_key(policy))
    with _lock:
        cached = _results.get(key)
    if cached is not None:
        return _named(cached, subject or path)
    store = _persistent_cache(policy)
    if store is not None and store.is_allowed(_content_subject(digest), key[1]):
        with _lock:
            _results[key] = ()
        return []
    scan_path = _scanner()
    if scan_path is None:
        found = [Finding(rule="pickle", subject=subject or path,
                         message=f"{path} cannot be scanned: guardpolicy.scan is not available",
                         suggestion="install a guardpolicy with the scanner, or waive this file")]
    else:
        try:
            found = list(scan_path(path, policy=policy) or ())
        except Exception as exc:  # the scanner must fail closed, never let a file through on a crash
            found = [Finding(rule="pickle", subject=subject or path,
                             message=f"{path}: scanning failed ({type(exc).__name__}: {exc})",
                             suggestion="report this file to the guardpolicy maintainers")]
    with _lock:
        _results[key] = tuple(found)
    if store is not None and not found and scan_path is not None:
        store.store_allowed([_content_subject(digest)], key[1])
    return _named(found, subject or path)


def is_known_clean(digest: str, policy) -> bool:
    """True when these bytes already passed every file rule under this policy and these rules
    (in this process, or in the shared decision cache): the fast path, no rule runs."""
    key = (digest, scan_cache_key(policy))
    with _lock:
        if _results.get(key) == ():
            return True
    store = _persistent_cache(policy)
    if store is not None and store.is_allowed(_content_subject(digest), key[1]):
        with _lock:
            _results[key] = ()
        return True
    return False


def _remember_clean(digest: str, policy) -> None:
    """Record that these bytes passed every file rule (in-process and in the shared cache)."""
    key = (digest, scan_cache_key(policy))
    with _lock:
        _results[key] = ()
    store = _persistent_cache(policy)
    if store is not None:
        try:
            store.store_allowed([_content_subject(digest)], key[1])
        except Exception:  # a cache problem only costs a re-check later
            pass


def enforce_file(path: str, operation: str, policy, subject: Optional[str] = None, model=None,
                 findings: Iterable = (), library: Optional[str] = None):
    """Judge the file at ``path`` as a ``FileRef`` through ``gate.enforce``; return the ``Decision``
    (``None`` when the content was already known clean and there is nothing else to judge).

    The same engine and file rules as ``guard scan``/``guard check`` (``format``, ``pickle``,
    ``digest`` and every plugin's ``guard_check_file``) see ``FileRef(path, model=model,
    extra={"sha256": ...})``. ``findings`` are the caller's own (lock checks) and are judged in the
    same decision. Findings name ``subject`` (what the caller asked about: ``hf:org/name@rev/file``,
    the path given to ``torch.load``, ``<BytesIO>``), not the cache path or temp copy scanned.
    Bytes that come out with no finding at all are remembered by content digest and policy (with
    the rules' fingerprint), so a later check of the same bytes costs a dictionary lookup.
    Raises ``PolicyViolation`` on a denial (quarantine is the caller's job).
    """
    from ..model import FileRef
    from . import gate

    digest = file_digest(path)
    items = list(findings)
    known = is_known_clean(digest, policy)
    if known and not items:
        return None
    shown = subject or path
    if not known:
        if _scanner() is None:
            # guard's scanner is missing: the built-in file rules cannot judge the bytes (fail closed)
            items.append(Finding(rule="pickle", subject=shown,
                                 message=f"{path} cannot be scanned: guardpolicy.scan is not available",
                                 suggestion="install a guardpolicy with the scanner, or waive this file"))
        else:
            items.append(FileRef(path=path, model=model, extra={"sha256": digest}))
    names = {path: shown, os.path.realpath(path): shown}
    decision = gate.enforce(items, operation, policy=policy, library=library, use_cache=False, rename=names)
    if not known and not decision.findings and not decision.waived and _scanner() is not None:
        _remember_clean(digest, policy)
    return decision


def _named(findings, subject: str) -> list:
    """The findings about this call's file: results are cached by content, so a cached finding may
    name another file with the same bytes (or a temp copy of a stream); name ``subject`` instead."""
    from dataclasses import replace

    out = []
    for f in findings:
        if f.subject != subject:
            loc = f.location
            f = replace(f, subject=subject, location=replace(loc, file=subject) if loc is not None else None)
        out.append(f)
    return out


def forget() -> None:
    """Drop the in-process caches (tests)."""
    with _lock:
        _digests.clear()
        _results.clear()
        _scan_keys.clear()


def quarantine_dir() -> str:
    """``<user cache dir>/guardpolicy/quarantine`` (``GUARDPOLICY_QUARANTINE`` overrides)."""
    env = os.environ.get("GUARDPOLICY_QUARANTINE")
    if env:
        return env
    from ..dirs import user_cache_dir

    return os.path.join(user_cache_dir("guardpolicy"), "quarantine")


def quarantine(path: str, digest: Optional[str] = None) -> Optional[str]:
    """Move a refused file out of the caller's reach; return where it went (``None`` if it vanished).

    In a Hub cache ``path`` is a symlink ``snapshots/<sha>/<file> -> blobs/<id>``: the blob is
    moved and the link removed, so neither a cache hit nor a re-download shortcut can return it.
    A file that cannot be moved is deleted.
    """
    real = os.path.realpath(path)
    if not os.path.exists(real):
        return None
    try:
        digest = digest or file_digest(real)
    except OSError:
        digest = "unknown"
    dest_dir = quarantine_dir()
    dest = os.path.join(dest_dir, f"{digest[:16]}-{os.path.basename(path)}")
    try:
        os.makedirs(dest_dir, mode=0o700, exist_ok=True)  # quarantined files are the user's alone
        shutil.move(real, dest)
        try:
            os.chmod(dest, 0o400)
        except OSError:
            pass
    except OSError as exc:
        dest = None
        try:
            os.remove(real)
        except OSError:
            print(f"guard: could not remove refused file {real}: {exc}", file=sys.stderr)
    if os.path.lexists(path) and path != real:
        try:
            os.unlink(path)
        except OSError:
            pass
    return dest
