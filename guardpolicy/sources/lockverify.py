"""Local files against ``guard.lock``: the source behind ``guard verify PATH --lock guard.lock``.

Yields one ``FileRef`` per local file that the lock knows (``extra``: ``expected_sha256`` and
the ``sha256`` hashed here, in parallel threads, streamed), ``FileRef`` objects without an
expected digest for files the lock does not list (so the file rules still scan them) plus a
``digest`` finding saying they are unexpected, and a ``digest`` finding per locked file that
is missing. Sizes are compared first: a size mismatch needs no hashing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, List, Optional, Union

from ..lockfile import Lock, LockedRepo
from ..model import FileRef, Finding, Location, printable_path
from .interface import Source, SourceError

_SNAPSHOT = re.compile(r"(?:^|/)(models|datasets|spaces)--(.+?)/snapshots/([0-9a-f]{40})(?:/|$)")


def snapshot_commit(path: Path) -> Optional[str]:
    """The commit of an HF cache snapshot folder (``.../snapshots/<40-hex>/...``), else ``None``."""
    m = _SNAPSHOT.search(Path(os.path.abspath(path)).as_posix())
    return m.group(3) if m else None


def choose_repo(lock: Lock, root: Path, repo_id: Optional[str] = None) -> LockedRepo:
    """Which locked repo ``root`` holds: ``--repo``, the only one, the snapshot's commit, or the best file match."""
    if repo_id:
        found = lock.find(repo_id)
        if not found:
            raise SourceError(f"{repo_id} is not in the lock (locked: {', '.join(r.id for r in lock.repos) or 'none'})",
                              file=lock.path)
        return found[0]
    if not lock.repos:
        raise SourceError("the lock lists no repos", file=lock.path)
    if len(lock.repos) == 1:
        return lock.repos[0]
    commit = snapshot_commit(root)
    if commit:
        match = [r for r in lock.repos if r.commit == commit]
        if len(match) == 1:
            return match[0]
    if root.is_dir():
        scores = sorted(((sum((root / f.path).is_file() for f in r.files), i) for i, r in enumerate(lock.repos)),
                        reverse=True)
        if scores[0][0] > 0 and (len(scores) == 1 or scores[0][0] > scores[1][0]):
            return lock.repos[scores[0][1]]
    raise SourceError(f"cannot tell which locked repo {root} holds; pass --repo "
                      f"({', '.join(r.id for r in lock.repos)})", file=lock.path)


class LockVerifySource(Source):
    """``root`` (a folder, or one file) checked against one repo of ``lock``."""

    def __init__(self, root: Union[str, Path], lock: Lock, repo_id: Optional[str] = None, partial: bool = False,
                 jobs: Optional[int] = None):
        """``repo_id`` picks the locked repo (else guessed); ``partial`` allows missing files; ``jobs``: threads."""
        self.root, self.lock, self.repo_id, self.partial, self.jobs = Path(root), lock, repo_id, partial, jobs
        self.name = str(root)

    def collect(self) -> Iterator[Union[FileRef, Finding]]:
        """Yield file refs with digests and ``digest`` findings for missing / unexpected files."""
        from ..hashing import sha256_files
        from ..hubinfo import walk_files

        if not self.root.exists():
            raise SourceError("no such file or folder", file=str(self.root))
        repo = choose_repo(self.lock, self.root, self.repo_id)
        model = repo.to_model_ref(self.lock.path)
        loc = Location(self.lock.path, repo.line) if self.lock.path else None
        lockname = self.lock.path or "the lock"
        by_path = {f.path: f for f in repo.files}
        single = self.root.is_file()
        if single:
            name = self.root.name
            matches = [f for f in repo.files if f.path == name or f.path.endswith("/" + name)]
            if len(matches) != 1:
                what = "not in" if not matches else "ambiguous in"
                yield Finding(rule="digest", subject=str(self.root), location=loc,
                              message=f"{name} is {what} {lockname} for {repo.id}",
                              suggestion="verify the repo's folder, or lock this file")
                return
            present = {matches[0].path: self.root}
        else:
            present = {rel: self.root / rel for rel in walk_files(self.root)}
        commit = snapshot_commit(self.root)
        if commit and commit != repo.commit:
            yield Finding(rule="digest", subject=str(self.root), location=loc,
                          message=f"this snapshot is commit {commit}, {lockname} pins {repo.id} at {repo.commit}",
                          suggestion="download the locked commit", details={"commit": commit, "locked": repo.commit})
        to_hash: List[str] = []
        sizes = {}
        for rel, p in present.items():
            entry = by_path.get(rel)
            if entry is None:
                continue
            try:
                sizes[rel] = p.stat().st_size
            except OSError:
                sizes[rel] = None
            if sizes[rel] == entry.size:
                to_hash.append(str(p))
        # read at most the locked size + 1 bytes: a file that grows (or a swapped-in device) cannot stall verify
        limits = {str(present[rel]): by_path[rel].size + 1 for rel in present if rel in by_path and
                  str(present[rel]) in to_hash and by_path[rel].size is not None}
        digests = sha256_files(to_hash, self.jobs, max_bytes=limits)
        for rel in sorted(present):
            p, entry = present[rel], by_path.get(rel)
            base = {"lock": lockname, "repo": f"{repo.id}@{repo.commit}", "path_in_repo": rel}
            if entry is None:
                shown = printable_path(rel)  # a name that is not UTF-8 is shown with \\xNN escapes
                base["path_in_repo"] = shown
                yield Finding(rule="digest", subject=printable_path(str(p)), location=loc,
                              message=f"unexpected file: {shown} is not in {lockname} for {repo.id}",
                              suggestion="remove it, or re-lock if the repo really contains it",
                              details={"path_in_repo": shown})
                yield FileRef(str(p), location=loc, model=model, extra=base)
                continue
            got = digests.get(str(p))
            if isinstance(got, OSError):
                not_regular = got.strerror == "not a regular file"
                yield Finding(rule="digest", subject=str(p), location=loc,
                              message=f"cannot read {rel}: {got.strerror or got}"
                                      + (" (a FIFO, device or socket where the lock has a file)" if not_regular else ""),
                              suggestion="replace it with the locked file" if not_regular else "check permissions")
                continue
            if got is None:  # size differs: a mismatch without hashing
                yield Finding(rule="digest", subject=str(p), location=loc,
                              message=f"size {sizes.get(rel)} differs from {lockname} ({entry.size} bytes) for {repo.id}",
                              suggestion="re-download the file at the locked commit",
                              details={"size": sizes.get(rel), "expected_size": entry.size, "path_in_repo": rel})
                yield FileRef(str(p), location=loc, model=model, extra=base)
                continue
            yield FileRef(str(p), location=loc, model=model,
                          extra={**base, "expected_sha256": entry.sha256, "sha256": got})
        if not single and not self.partial:
            for rel in sorted(set(by_path) - set(present)):
                yield Finding(rule="digest", subject=str(self.root / rel), location=loc,
                              message=f"missing: {rel} is locked for {repo.id} but not present",
                              suggestion="download it at the locked commit (or pass --partial for partial downloads)",
                              details={"path_in_repo": rel})
