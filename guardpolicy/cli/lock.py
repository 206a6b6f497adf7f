"""``guard lock TARGET...``: resolve Hub refs to commits and freeze every file's sha256 in guard.lock.

Uses the real ``huggingface_hub`` client (``HfApi(endpoint).model_info/repo_info(files_metadata=True)``):
LFS files get the Hub's LFS oid (a sha256 of the content); other files have only a git blob id
(sha1 of a git header + content), so they are downloaded at the locked commit into a temp
folder and hashed. See ``guardpolicy.lockfile`` for the format.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub) -> None:
    """Register ``lock``."""
    p = sub.add_parser("lock", help="freeze Hub repos (hf:ORG/NAME@REV, Hub URLs, ref lists) to commits and sha256s",
                       description="Resolve each Hub reference to a commit and write every file's size and sha256 "
                                   "to the lock file (entries for other repos are kept). Needs network.")
    p.add_argument("targets", nargs="+", metavar="TARGET",
                   help="hf:ORG/NAME[@REV], hf:datasets/ORG/NAME[@REV], a Hub URL, a ref-list file, or guard.lock (re-lock)")
    p.add_argument("-o", "--output", default="guard.lock", metavar="FILE", help="lock file to write (default: guard.lock)")
    p.add_argument("--include", action="append", default=[], metavar="GLOB",
                   help="lock only files matching GLOB (repeatable; default: every file)")
    from . import add_policy_args

    add_policy_args(p)


def collect_refs(targets):
    """``ModelRef`` objects for the targets (``UsageError`` for anything that is not a Hub ref)."""
    from pathlib import Path

    from ..errors import UsageError
    from ..model import Finding, ModelRef
    from ..sources import hub
    from ..sources.interface import SourceError

    refs = []
    for t in targets:
        path = Path(t)
        if hub.is_hub_ref(t):
            source = hub.HubRefSource(t)
        elif hub.is_lock_file(path) and path.is_file():
            source = hub.LockSource(path)
        elif hub.is_ref_list_file(path):
            source = hub.RefListSource(path)
        else:
            raise UsageError(f"{t}: not a Hub reference (hf:ORG/NAME@REV, a Hub URL, a ref-list file or guard.lock)")
        try:
            for item in source.collect():
                if isinstance(item, Finding):
                    raise UsageError(f"{item.location}: {item.message}" if item.location else item.message)
                if isinstance(item, ModelRef):
                    if (item.extra or {}).get("locked"):  # re-lock what was requested, not the old commit
                        item = ModelRef(item.repo_id, item.repo_type, item.extra.get("requested_revision"),
                                        item.endpoint, (), item.location)
                    refs.append(item)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
    return refs


def check_endpoints(refs, policy) -> None:
    """Refuse (``UsageError``) before any request when a ref's endpoint is not in ``[sources] hub_endpoints``."""
    from ..errors import UsageError
    from ..hubids import effective_endpoint, endpoint_allowed

    allowed = policy.sources.get("hub_endpoints", ())
    for m in refs:
        endpoint = effective_endpoint(m)
        if not endpoint_allowed(endpoint, allowed):
            raise UsageError(f"{m.subject}: Hub endpoint {endpoint} is not allowed by the policy "
                             f"(allowed: {', '.join(allowed) or 'none'}); nothing was requested")


def lock_repo(model, include=(), tmpdir=None, log=None):
    """Resolve one ref and build its ``LockedRepo`` (network). ``GuardError`` on Hub errors."""
    import fnmatch
    import os

    from ..errors import GuardError
    from ..hashing import sha256_file
    from ..hubinfo import HubLookupError, fetch_repo_facts
    from ..lockfile import LockedFile, LockedRepo

    try:
        facts = fetch_repo_facts(model, security=False)
    except HubLookupError as exc:
        raise GuardError(str(exc)) from None
    files = []
    for path, ff in sorted(facts.files.items()):
        if include and not any(fnmatch.fnmatchcase(path, g) for g in include):
            continue
        if ff.sha256:
            files.append(LockedFile(path, int(ff.size or 0), ff.sha256, "lfs"))
            continue
        from huggingface_hub import hf_hub_download

        try:
            local = hf_hub_download(model.repo_id, path, repo_type=model.repo_type, revision=facts.commit,
                                    endpoint=facts.endpoint, cache_dir=tmpdir)
        except Exception as exc:  # any client error: name the file, no traceback
            raise GuardError(f"{model.subject}: cannot download {path} to hash it: {str(exc).splitlines()[0]}") from None
        size = os.path.getsize(local)
        if ff.size is not None and size != ff.size:
            raise GuardError(f"{model.subject}: {path}: downloaded {size} bytes, the Hub says {ff.size}")
        files.append(LockedFile(path, size, sha256_file(local), "download"))
    if log:
        log(f"locked {model.subject} -> {facts.commit} ({len(files)} files)")
    return LockedRepo(model.repo_id, model.repo_type, facts.commit, facts.endpoint, model.revision, tuple(files))


def run(args: argparse.Namespace) -> int:
    """Lock every target, merge into the output file, print one line per repo."""
    import shutil
    import tempfile
    from pathlib import Path

    from ..errors import UsageError
    from ..lockfile import Lock, LockError, read_lock, write_lock
    from . import EXIT_OK, load_policy_from_args

    refs = collect_refs(args.targets)
    check_endpoints(refs, load_policy_from_args(args))
    out = Path(args.output)
    try:
        existing = read_lock(out) if out.exists() else Lock(path=str(out))
    except LockError as exc:
        raise UsageError(f"{exc} (fix or delete it before locking)") from None
    tmp = tempfile.mkdtemp(prefix="guard-lock-")
    try:
        locked = [lock_repo(m, tuple(args.include), tmp, log=lambda s: print(s, file=sys.stderr)) for m in refs]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_lock(out, existing.merged(locked))
    except LockError as exc:
        raise UsageError(f"not writing {out}: {exc}") from None
    print(f"wrote {out} ({len(locked)} repo{'s' if len(locked) != 1 else ''} locked)")
    return EXIT_OK
