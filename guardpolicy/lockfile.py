"""``guard.lock``: Hub repositories frozen to a commit, with every file's size and sha256.

Format (TOML, written by ``guard lock``, read by ``guard check guard.lock`` and ``guard verify``)::

    version = 1

    [[repo]]
    id = "acme/tiny"
    kind = "model"                       # model | dataset | space
    endpoint = "https://huggingface.co"
    revision = "main"                    # as requested (informational)
    commit = "0123...40 hex"             # what the revision resolved to when locked

    [[repo.files]]
    path = "model.safetensors"
    size = 1234
    sha256 = "64 hex"
    sha256_from = "lfs"                  # "lfs": the Hub's LFS oid; "download": hashed by guard lock

Why two origins: the Hub reports a sha256 only for LFS files (its LFS oid). Other files have
only a git blob id, which is sha1 over ``blob <size>\\0`` + content, not a sha256 of the file,
so ``guard lock`` downloads those (they are small: the Hub stores large files in LFS) at the
locked commit and hashes them itself.

Reading is strict: every entry is validated and an error names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import List, Optional, Tuple

from .hubids import valid_repo_id
from .model import Location, ModelRef

LOCK_VERSION = 1
DEFAULT_LOCK_NAME = "guard.lock"
KINDS = ("model", "dataset", "space")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class LockError(ValueError):
    """A lock file that cannot be used; ``file`` and ``line`` say where."""

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None):
        """Keep ``file`` and ``line``; the message reads ``file:line: message``."""
        self.file, self.line = file, line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


@dataclass(frozen=True)
class LockedFile:
    """One file of a locked repo: relative path, size in bytes, sha256 hex, where the sha256 came from."""

    path: str
    size: int
    sha256: str
    sha256_from: str = "lfs"


@dataclass(frozen=True)
class LockedRepo:
    """One locked repository (``line``: where its ``[[repo]]`` entry starts, for messages)."""

    id: str
    kind: str
    commit: str
    endpoint: Optional[str] = None
    revision: Optional[str] = None
    files: Tuple[LockedFile, ...] = ()
    line: Optional[int] = None

    def to_model_ref(self, lock_path: Optional[str] = None) -> ModelRef:
        """The ``ModelRef`` this entry pins (revision = the locked commit)."""
        return ModelRef(repo_id=self.id, repo_type=self.kind, revision=self.commit, endpoint=self.endpoint,
                        files=tuple(f.path for f in self.files),
                        location=Location(lock_path, self.line) if lock_path else None,
                        extra={"locked": True, "requested_revision": self.revision,
                               "sha256": {f.path: f.sha256 for f in self.files}})

    def to_dict(self) -> dict:
        """The TOML table (``None`` values omitted)."""
        out = {"id": self.id, "kind": self.kind}
        if self.endpoint:
            out["endpoint"] = self.endpoint
        if self.revision:
            out["revision"] = self.revision
        out["commit"] = self.commit
        out["files"] = [{"path": f.path, "size": f.size, "sha256": f.sha256, "sha256_from": f.sha256_from}
                        for f in sorted(self.files, key=lambda f: f.path)]
        return out


@dataclass(frozen=True)
class Lock:
    """A whole ``guard.lock``."""

    repos: Tuple[LockedRepo, ...] = ()
    version: int = LOCK_VERSION
    path: Optional[str] = None

    def find(self, repo_id: str, kind: Optional[str] = None) -> List[LockedRepo]:
        """Entries for ``repo_id`` (case-insensitive, as the Hub), optionally of one kind."""
        return [r for r in self.repos if r.id.lower() == repo_id.lower() and (kind is None or r.kind == kind)]

    def merged(self, new: List[LockedRepo]) -> "Lock":
        """This lock with ``new`` entries replacing same (kind, id) ones; sorted for stable diffs."""
        keys = {(r.kind, r.id.lower()) for r in new}
        repos = [r for r in self.repos if (r.kind, r.id.lower()) not in keys] + list(new)
        return Lock(tuple(sorted(repos, key=lambda r: (r.kind, r.id.lower()))), self.version, self.path)


def safe_relpath(path: str) -> bool:
    """True for a relative POSIX path without ``..``, empty or absolute parts (a lock may be hostile)."""
    if not path or path.startswith("/") or "\\" in path or "\0" in path:
        return False
    parts = PurePosixPath(path).parts
    return all(p not in ("", ".", "..") for p in parts) and not re.match(r"^[A-Za-z]:", path)


def _line_of(text: str, needle_re: str, start: int = 0) -> Optional[int]:
    """The 1-based line of the first match of ``needle_re`` at or after offset ``start``, or ``None``."""
    m = re.compile(needle_re, re.M).search(text, start)
    return text.count("\n", 0, m.start()) + 1 if m else None


def parse_lock(text: str, file: Optional[str] = None) -> Lock:
    """Parse and validate lock TOML (``LockError`` naming file and line on any problem)."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise LockError(f"not valid TOML: {exc}", file, int(m.group(1)) if m else None) from None
    version = data.get("version", LOCK_VERSION)
    if version != LOCK_VERSION:
        raise LockError(f"unsupported lock version {version!r} (this guard reads version {LOCK_VERSION})", file,
                        _line_of(text, r"^[ \t]*version[ \t]*="))
    unknown = set(data) - {"version", "repo"}
    if unknown:
        raise LockError(f"unknown top-level key(s): {', '.join(sorted(unknown))}", file)
    repos = data.get("repo", [])
    if not isinstance(repos, list) or not all(isinstance(r, dict) for r in repos):
        raise LockError("'repo' must be an array of tables ([[repo]])", file)
    # line of each [[repo]] header, in order, so messages can point at the entry
    headers = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"^[ \t]*\[\[[ \t]*repo[ \t]*\]\]", text, re.M)]
    out = []
    for i, r in enumerate(repos):
        line = headers[i] if i < len(headers) else None

        def fail(msg, _line=line):
            raise LockError(msg, file, _line)

        rid, kind, commit = r.get("id"), r.get("kind", "model"), r.get("commit")
        if not isinstance(rid, str) or not valid_repo_id(rid):
            fail(f"repo id {rid!r} is not a valid Hub repository id")
        if kind not in KINDS:
            fail(f"{rid}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if not isinstance(commit, str) or not _HEX40.match(commit):
            fail(f"{rid}: commit must be a 40-hex commit id, got {commit!r}")
        for key in ("endpoint", "revision"):
            if r.get(key) is not None and not isinstance(r.get(key), str):
                fail(f"{rid}: {key} must be a string")
        unknown = set(r) - {"id", "kind", "commit", "endpoint", "revision", "files"}
        if unknown:
            fail(f"{rid}: unknown key(s): {', '.join(sorted(unknown))}")
        files, seen = [], set()
        if not isinstance(r.get("files", []), list):
            fail(f"{rid}: 'files' must be an array of tables ([[repo.files]])")
        for f in r.get("files", []):
            if not isinstance(f, dict):
                fail(f"{rid}: each [[repo.files]] entry must be a table")
            path, size, sha = f.get("path"), f.get("size"), f.get("sha256")
            if not isinstance(path, str) or not safe_relpath(path):
                fail(f"{rid}: file path {path!r} must be relative, without '..'")
            if path in seen:
                fail(f"{rid}: file {path!r} listed twice")
            seen.add(path)
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                fail(f"{rid}: {path}: size must be a non-negative integer")
            if not isinstance(sha, str) or not _HEX64.match(sha):
                fail(f"{rid}: {path}: sha256 must be 64 lowercase hex digits")
            files.append(LockedFile(path, size, sha, str(f.get("sha256_from", "lfs"))))
        out.append(LockedRepo(rid, kind, commit, r.get("endpoint"), r.get("revision"), tuple(files), line))
    return Lock(tuple(out), version, file)


def read_lock(path) -> Lock:
    """Read ``path`` (``LockError`` when missing or invalid)."""
    from .fileio import decode_utf8, read_bytes_limited

    try:
        text = decode_utf8(read_bytes_limited(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", str(path)) from None
    return parse_lock(text, str(path))


def dumps_lock(lock: Lock) -> str:
    """The lock as TOML text with a header comment."""
    import tomli_w

    body = tomli_w.dumps({"version": lock.version, "repo": [r.to_dict() for r in lock.repos]})
    return ("# guard.lock: Hugging Face Hub repos frozen by commit and sha256.\n"
            "# Written by `guard lock`; check with `guard check guard.lock`, verify files with "
            "`guard verify PATH --lock guard.lock`.\n" + body)


def write_lock(path, lock: Lock) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a lock.

    The text is parsed back first (``LockError``, nothing written): what a Hub or mirror listed
    (a path with ``..``, a malformed digest) never becomes a lock that guard itself refuses.
    """
    import os

    path = Path(path)
    text = dumps_lock(lock)
    parse_lock(text, str(path))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)

